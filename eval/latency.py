"""`python -m eval.latency`: cold start, p50/p95 of POST /ask over a live server, and the server's peak memory.

Starts `qa serve` on a free port with a fresh index folder, times until /health answers, sends N questions (the gold
set's, cycled) one at a time, and reads the server's peak resident memory (VmHWM) from /proc.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from eval.datasets import GOLD_SET
from eval.processes import free_port, stop_process


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(questions: list[str], count: int, top_k: int | None, env: dict[str, str]) -> dict:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="qa-latency-") as index_dir:
        started = time.perf_counter()
        server = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "-q", "serve", "--port", str(port)],
            env={**os.environ, **env, "QA_INDEX_DIR": index_dir},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                while True:
                    if server.poll() is not None:
                        raise RuntimeError(f"the server exited with {server.returncode} before it was ready")
                    try:
                        if client.get("/health").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.1)
                cold_start = time.perf_counter() - started
                timings = []
                for number in range(count):
                    body = {"question": questions[number % len(questions)]}
                    if top_k:
                        body["top_k"] = top_k
                    sent = time.perf_counter()
                    response = client.post("/ask", json=body)
                    timings.append((time.perf_counter() - sent) * 1000)
                    response.raise_for_status()
                answerer = client.get("/health").json()["answerer"]
            peak = _peak_rss_mb(server.pid)
        finally:
            stop_process(server)
    return {
        "answerer": answerer,
        "settings": {k: v for k, v in {**os.environ, **env}.items() if k.startswith("QA_")},
        "requests": count,
        "cold_start_s": round(cold_start, 2),
        "p50_ms": round(float(np.percentile(timings, 50)), 1),
        "p95_ms": round(float(np.percentile(timings, 95)), 1),
        "peak_rss_mb": round(peak, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--top-k", type=int)
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in GOLD_SET.read_text(encoding="utf-8").splitlines() if line]
    print(json.dumps(measure(questions, args.requests, args.top_k, {})))


if __name__ == "__main__":
    main()
