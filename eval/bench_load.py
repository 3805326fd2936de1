"""Concurrent load over HTTP: N clients posting /ask back to back, bounded by a request count and a deadline."""

import asyncio
import time
from dataclasses import dataclass, field

import httpx

from eval.bench_stats import summarize


@dataclass
class LoadResult:
    concurrency: int
    wall_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)  # successful requests only
    errors: int = 0
    first_error: str | None = None

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + self.errors

    def to_json(self) -> dict:
        """Requests/s counts successful requests only, so a server that fails fast does not look fast."""
        return {
            "concurrency": self.concurrency,
            "requests": self.requests,
            "errors": self.errors,
            "first_error": self.first_error,
            "wall_s": round(self.wall_s, 2),
            "requests_per_s": round(len(self.latencies_ms) / self.wall_s, 2) if self.wall_s else None,
            **summarize(self.latencies_ms).to_json(),
        }


async def _load(
    client: httpx.AsyncClient, path: str, bodies: list[dict], concurrency: int, requests: int, deadline_s: float
) -> LoadResult:
    result = LoadResult(concurrency)
    sent = 0
    started = time.perf_counter()
    stop_at = started + deadline_s

    async def one_client() -> None:
        nonlocal sent
        # The event loop is single-threaded: taking a number from `sent` needs no lock.
        while sent < requests and time.perf_counter() < stop_at:
            body = bodies[sent % len(bodies)]
            sent += 1
            began = time.perf_counter()
            try:
                response = await client.post(path, json=body)
            except httpx.HTTPError as error:
                problem: str | None = f"{type(error).__name__}: {error}"
            else:
                problem = None if response.status_code == 200 else f"HTTP {response.status_code}: {response.text[:200]}"
            if problem is None:
                result.latencies_ms.append((time.perf_counter() - began) * 1000)
            else:
                result.errors += 1
                result.first_error = result.first_error or problem

    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    result.wall_s = time.perf_counter() - started
    return result


def run_load(
    base_url: str,
    bodies: list[dict],
    concurrency: int,
    requests: int,
    *,
    path: str = "/ask",
    deadline_s: float = 300.0,
    timeout_s: float = 120.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> LoadResult:
    """Post `requests` bodies (cycled) from `concurrency` clients at once; stops early at `deadline_s`.

    Each client sends its next request as soon as its last one is answered (a closed loop), so requests/s is what the
    server sustains at that many requests in flight. `transport` lets tests run it against an in-process ASGI app.
    """
    if concurrency < 1 or requests < 1 or not bodies:
        raise ValueError("run_load needs concurrency >= 1, requests >= 1 and at least one body")
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def main() -> LoadResult:
        async with httpx.AsyncClient(
            base_url=base_url, timeout=timeout_s, limits=limits, transport=transport
        ) as client:
            return await _load(client, path, bodies, concurrency, requests, deadline_s)

    return asyncio.run(main())
