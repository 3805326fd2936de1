"""Helpers for the browser tests: a service started with `qa serve`, reached over plain HTTP."""

import json
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
STARTUP_SECONDS = 300  # the first start builds the index and loads the models


@dataclass(frozen=True)
class LiveService:
    url: str

    def post(self, path: str, payload: dict) -> dict:
        """POST JSON and return the decoded reply."""
        request = urllib.request.Request(
            self.url + path, json.dumps(payload).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())

    def get(self, path: str) -> dict:
        """GET and return the decoded JSON reply."""
        with urllib.request.urlopen(self.url + path, timeout=60) as response:
            return json.loads(response.read())

    def chat(self, *contents: str) -> dict:
        """POST /chat with alternating user and assistant messages."""
        roles = ["user", "assistant"] * len(contents)
        messages = [{"role": r, "content": c} for r, c in zip(roles, contents, strict=False)]
        return self.post("/chat", {"messages": messages})


def wait_until_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the service was not healthy after {STARTUP_SECONDS}s:\n{log.read_text()[-4000:]}")
