"""`qa serve` in a subprocess on a free port, for the fault, fuzz and load tests; figures for the run's summary."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from eval.processes import free_port

ROOT = Path(__file__).resolve().parents[1]
FAST_SERVE = Path(__file__).with_name("fast_serve.py")
STARTUP_SECONDS = 300  # a first start with the real model builds the index; the training run may hold the CPU
FIGURES: list[str] = []  # printed at the end of the run by conftest's terminal summary


def report_figure(line: str) -> None:
    """Record a measured figure for the summary at the end of the test run (and print it for -s runs)."""
    FIGURES.append(line)
    print(line)


@dataclass
class LiveService:
    process: subprocess.Popen
    url: str
    log: Path

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> int:
        """SIGTERM, then wait for the graceful shutdown (SIGKILL after 60 s)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()
            raise


def start_service(folder: Path, env: dict[str, str], fast: bool = False) -> LiveService:
    """`qa serve` over the index in `folder`/index; `fast` swaps the embedding model for the tests' fake one."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    program = [str(FAST_SERVE)] if fast else ["-m", "service.cli"]
    environment = os.environ | {"QA_INDEX_DIR": str(folder / "index"), "TOKENIZERS_PARALLELISM": "false"} | env
    log = folder / "service.log"
    with log.open("a") as output:
        process = subprocess.Popen(
            [sys.executable, *program, "-q", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    service = LiveService(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(service.url + "/health", timeout=5).status_code == 200:
                return service
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    service.kill()
    raise RuntimeError(f"the service was not healthy after {STARTUP_SECONDS}s:\n{log.read_text()[-4000:]}")
