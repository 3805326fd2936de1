"""Child processes of the benchmark and the tests: a free loopback port to serve on, and a polite stop."""

import socket
import subprocess


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_process(process: subprocess.Popen, grace_seconds: float = 30) -> int:
    """SIGTERM, up to `grace_seconds` to exit (a server finishes its requests), then SIGKILL; the exit status."""
    process.terminate()
    try:
        return process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()
