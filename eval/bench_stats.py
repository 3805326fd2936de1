"""Latency summaries for the benchmark: percentiles of a list of timings, rounded as the tables print them."""

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class LatencySummary:
    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    max_ms: float | None

    def to_json(self) -> dict:
        return asdict(self)


def percentile(timings_ms: list[float], q: float) -> float | None:
    """The q-th percentile (numpy's linear interpolation, as `qa eval` reports), or None for no timings."""
    if not timings_ms:
        return None
    return round(float(np.percentile(timings_ms, q)), 1)


def summarize(timings_ms: list[float]) -> LatencySummary:
    """p50/p95/p99, mean and max of some timings in milliseconds."""
    return LatencySummary(
        count=len(timings_ms),
        p50_ms=percentile(timings_ms, 50),
        p95_ms=percentile(timings_ms, 95),
        p99_ms=percentile(timings_ms, 99),
        mean_ms=round(float(np.mean(timings_ms)), 1) if timings_ms else None,
        max_ms=round(float(np.max(timings_ms)), 1) if timings_ms else None,
    )


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator to two decimals; None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 2)


def time_alternating(
    questions: list[str], callers: dict[str, Callable[[str], object]], warmup: int = 3
) -> dict[str, list[float]]:
    """Milliseconds per call of each question through every caller in turn, the order flipped on every question, so
    that whatever else the machine does slows all callers alike and their ratio holds even when absolutes don't."""
    for question in questions[:warmup]:
        for call in callers.values():
            call(question)
    timings: dict[str, list[float]] = {name: [] for name in callers}
    for number, question in enumerate(questions):
        turn = list(callers.items())
        if number % 2:
            turn.reverse()
        for name, call in turn:
            started = time.perf_counter()
            call(question)
            timings[name].append((time.perf_counter() - started) * 1000)
    return timings
