"""Whole processes for the benchmark: `qa serve` on a free loopback port, and timed `qa ask` runs (cold start)."""

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from eval.processes import free_port, stop_process

QA = [sys.executable, "-m", "service.cli", "-q"]  # the module, not the `qa` script: PYTHONPATH and venvs both apply


def peak_rss_mb(pid: int) -> float | None:
    """A live process's peak resident memory (VmHWM), from /proc; None where there is no /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


@dataclass(frozen=True)
class Server:
    base_url: str
    pid: int
    ready_s: float  # from process start to the first 200 from /health


@contextmanager
def serve(env: dict[str, str], ready_timeout_s: float = 600.0) -> Iterator[Server]:
    """`qa serve` with these environment additions, stopped (SIGTERM, then SIGKILL) on exit."""
    port = free_port()
    # A file, not a pipe, for its log: a pipe nobody reads would stall the server once its buffer fills.
    with tempfile.TemporaryFile("w+") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            [*QA, "serve", "--port", str(port)], env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=log
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_ready(process, base_url, log, started + ready_timeout_s)
            yield Server(base_url, process.pid, time.perf_counter() - started)
        finally:
            stop_process(process)


def _wait_ready(process: subprocess.Popen, base_url: str, log, deadline: float) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"qa serve exited with {process.returncode}: {log.read()[-2000:]}")
            if time.perf_counter() > deadline:
                raise TimeoutError("qa serve was not ready in time")
            try:
                if client.get("/health").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)


def time_ask(question: str, env: dict[str, str], timeout_s: float = 300.0) -> float:
    """Seconds for one whole `qa ask` process, interpreter start to exit; a failing run is an error."""
    started = time.perf_counter()
    completed = subprocess.run(
        [*QA, "ask", question],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    took = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"qa ask exited with {completed.returncode}: {completed.stderr[-2000:]}")
    return took
