"""The measurements of `qa bench`, one function per section; eval/bench.py runs them in order and collects the JSON."""

import statistics
import time
from pathlib import Path

from eval.bench_haystack import HaystackQA
from eval.bench_load import run_load
from eval.bench_plan import Config
from eval.bench_server import peak_rss_mb, serve, time_ask
from eval.bench_stats import summarize, time_alternating
from eval.datasets import EvalSet
from index.builder import IndexBuilder
from index.documents import Document
from index.embedding import Embedder
from index.store import IndexStore
from service.settings import Settings


def build_index(folder: Path, documents: list[Document], embedder: Embedder, settings: Settings) -> dict:
    """Chunk, embed and save `documents` as a new index in `folder`; timed with the embedding model already loaded."""
    builder = IndexBuilder(IndexStore(folder), embedder, settings.chunking)
    started = time.perf_counter()
    report = builder.build_documents(documents)
    seconds = time.perf_counter() - started
    return {
        "documents": len(documents),
        "chunks": report.chunks,
        "seconds": round(seconds, 2),
        "chunks_per_s": round(report.chunks / seconds, 1),
    }


def in_process(config: Config, index_dir: Path, questions: list[str], haystack: HaystackQA | None = None) -> dict:
    """`QAPipeline.ask` on every question, alternating with the Haystack pipeline at the same top_k when given."""
    from service.runtime import load_pipeline

    pipeline = load_pipeline(config.settings(index_dir))
    top_k = pipeline.top_k
    callers = {"in_process": lambda q: pipeline.ask(q, top_k)}
    if haystack is not None:
        callers["haystack"] = lambda q: haystack.ask(q, top_k)
    timings = time_alternating(questions, callers)
    return {"top_k": top_k, **{name: summarize(ms).to_json() for name, ms in timings.items()}}


def _bodies(questions: list[str], top_k: int | None) -> list[dict]:
    return [{"question": q} | ({"top_k": top_k} if top_k else {}) for q in questions]


def over_http(config: Config, index_dir: Path, questions: list[str], levels: tuple[int, ...], requests: int) -> dict:
    """`qa serve` on the index, then closed-loop load at each concurrency level; the server's start and peak memory."""
    bodies = _bodies(questions, config.top_k)
    with serve(config.env(index_dir)) as server:
        run_load(server.base_url, bodies, 1, min(5, len(bodies)))  # first requests pay for lazy set-up
        # Every client sends at least twice, so the highest level measures queueing, not just one wave.
        loads = [run_load(server.base_url, bodies, c, max(requests, 2 * c)).to_json() for c in levels]
        return {"http": loads, "server": {"ready_s": round(server.ready_s, 2), "peak_rss_mb": peak_rss_mb(server.pid)}}


def at_scale(config: Config, index_dir: Path, questions: list[str], requests: int) -> dict:
    """One client against the large index: the same requests as HTTP at 1 client on the bundled one, for the ratio."""
    bodies = _bodies(questions, config.top_k)
    with serve(config.env(index_dir)) as server:
        run_load(server.base_url, bodies, 1, min(5, len(bodies)))
        load = run_load(server.base_url, bodies, 1, requests).to_json()
        return {**load, "ready_s": round(server.ready_s, 2), "peak_rss_mb": peak_rss_mb(server.pid)}


def cold_start(config: Config, index_dir: Path, question: str, runs: int) -> dict:
    """Whole `qa ask` processes on an existing index: interpreter start, imports, model loads, one answer, exit."""
    seconds = [time_ask(question, config.env(index_dir)) for _ in range(runs)]
    return {
        "question": question,
        "runs_s": [round(s, 2) for s in seconds],
        "median_s": round(statistics.median(seconds), 2),
        "min_s": round(min(seconds), 2),
        "max_s": round(max(seconds), 2),
    }


def quality(config: Config, eval_set: EvalSet, workdir: Path, limit: int | None, gold: EvalSet | None = None) -> dict:
    """Held-out F1 in reader mode (the gold paragraph given), through the eval runner and its metrics; with `gold`,
    also its figures in open mode, which is where the question embedder's precision shows (recall@5 above all)."""
    from eval.runner import run_eval

    figures, _ = run_eval(eval_set, "reader", config.settings(workdir), limit)
    keep = ("dataset", "questions", "exact_match", "f1", "has_ans_f1", "no_ans_accuracy", "p50_ms")
    result = {key: figures[key] for key in keep}
    if gold is not None:
        figures, _ = run_eval(gold, "open", config.settings(workdir))
        result["gold_open"] = {key: figures.get(key) for key in ("questions", "f1", "recall@5", "mrr@10")}
    return result
