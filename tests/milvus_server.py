"""A Milvus Lite server on a free loopback port, for the tests that need one Milvus shared by several clients."""

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from eval.processes import free_port, stop_process

STARTUP_SECONDS = 60


@contextlib.contextmanager
def milvus_server(folder: Path) -> Iterator[str]:
    """`python -m milvus_lite server` with its data in `folder`; yields its URI, stops it on exit."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = folder / "server.log"
    command = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(folder / "data")]
    with log.open("w") as output:
        server = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)], stdout=output, stderr=subprocess.STDOUT
        )
    uri = f"http://127.0.0.1:{port}"
    try:
        _wait_for(uri, server, log)
        yield uri
    finally:
        stop_process(server)


def _wait_for(uri: str, server: subprocess.Popen, log: Path) -> None:
    from pymilvus import MilvusClient

    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"milvus-lite server exited with {server.returncode}:\n{log.read_text()[-4000:]}")
        try:
            MilvusClient(uri=uri, timeout=1).close()
            return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"milvus-lite server not up after {STARTUP_SECONDS}s:\n{log.read_text()[-4000:]}")
