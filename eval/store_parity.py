"""Retrieval parity of the stores: the gold questions' recall@k and MRR@10 over the bundled articles, store by store.

`python -m eval.store_parity` indexes the gold set's articles with the real embedding model into the FAISS store and
the Milvus store (Milvus Lite in a temporary folder, or `--milvus-uri`), ranks ten passages for every answerable gold
question in each, and prints the figures. It exits 1 when the Milvus store is more than two points off the FAISS store
on recall@5 or MRR@10 (MRR counted in points of 100). `--answers` also reads every gold question with the reader
through each store and exits 1 when a cited span differs (the same spans with `QA_STORE=milvus` as with the default).
"""

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from eval.datasets import GOLD_SET, EvalQuestion, EvalSet, load_eval_set
from eval.scoring import gold_rank
from index.builder import IndexBuilder
from index.chunking import ChunkingSettings
from index.document_store import DocumentStore, StoreRetriever
from index.embedding import Embedder, SentenceEmbedder
from index.faiss_store import FaissStore
from service.answering.answers import Answerer, Passage
from service.chat.followup import Turn, resolve_followup
from service.settings import Settings

DEPTH = 10
TOLERANCE_POINTS = 2.0
COMPARED = ("recall@5", "mrr@10")


def standalone(question: EvalQuestion) -> str:
    """A follow-up made to stand alone from its earlier questions (no answers: both stores get the same text)."""
    if not question.history:
        return question.question
    turns = [turn for earlier in question.history for turn in (Turn("user", earlier), Turn("assistant", ""))]
    return resolve_followup([*turns, Turn("user", question.question)]).question


def retrieval_figures(store: DocumentStore, embedder: Embedder, questions: list[EvalQuestion]) -> dict[str, float]:
    """recall@1/5/10 (percent) and MRR@10 (in points of 100, so both compare on one scale) of the gold spans."""
    retriever = StoreRetriever(store, embedder)
    asked = [q for q in questions if q.answerable]
    found = retriever.search_many([standalone(q) for q in asked], [DEPTH] * len(asked))
    ranks = [
        gold_rank(
            q, [Passage(h.chunk.document_id, "", h.chunk.start, h.chunk.end, h.chunk.text, h.score) for h in hits]
        )
        for q, hits in zip(asked, found, strict=True)
    ]
    figures = {f"recall@{k}": 100 * sum(r is not None and r <= k for r in ranks) / len(ranks) for k in (1, 5, 10)}
    figures["mrr@10"] = 100 * sum(1 / r for r in ranks if r is not None and r <= DEPTH) / len(ranks)
    return {name: round(value, 2) for name, value in figures.items()}


def measure(
    stores: dict[str, Callable[[], DocumentStore]], eval_set: EvalSet, embedder: Embedder, chunking: ChunkingSettings
) -> dict[str, dict[str, float]]:
    """Each store built from the eval set's documents, then its figures (with build and search seconds)."""
    figures = {}
    for name, open_store in stores.items():
        store = open_store()
        try:
            started = time.perf_counter()
            IndexBuilder(store, embedder, chunking).build_documents(eval_set.documents)
            built = time.perf_counter()
            figures[name] = retrieval_figures(store, embedder, eval_set.questions)
            figures[name] |= {"build_s": round(built - started, 2), "search_s": round(time.perf_counter() - built, 2)}
        finally:
            store.close()
    return figures


Span = tuple[str, int, int] | None  # an answer's document and offsets; None: it abstained


def answer_spans(
    stores: dict[str, Callable[[], DocumentStore]],
    eval_set: EvalSet,
    embedder: Embedder,
    answerer: Answerer,
    settings: Settings,
) -> dict[str, list[Span]]:
    """Each store built from the eval set's documents, then every question asked through the service's pipeline."""
    from service.runtime import pipeline_opener

    spans = {}
    for name, open_store in stores.items():
        store = open_store()
        try:
            IndexBuilder(store, embedder, settings.chunking).build_documents(eval_set.documents)
            pipeline = pipeline_opener(embedder, answerer, settings)(store.snapshot())
            results = pipeline.ask_many([(standalone(q), None) for q in eval_set.questions])
            spans[name] = [
                (r.result.answer.document_id, r.result.answer.start, r.result.answer.end) if r.result.answer else None
                for r in results
            ]
        finally:
            store.close()
    return spans


def span_differences(spans: dict[str, list[Span]], questions: list[EvalQuestion], baseline: str = "faiss") -> list[str]:
    """The questions a store answers with another span (or abstains on otherwise) than the baseline, as lines."""
    return [
        f"{question.id}: {name} {theirs} vs {baseline} {ours}"
        for name, found in spans.items()
        if name != baseline
        for question, theirs, ours in zip(questions, found, spans[baseline], strict=True)
        if theirs != ours
    ]


def differences(figures: dict[str, dict[str, float]], baseline: str = "faiss") -> list[str]:
    """Each store's figures more than TOLERANCE_POINTS from the baseline's, as readable lines."""
    return [
        f"{name} {metric} {values[metric]:.2f} vs {baseline} {figures[baseline][metric]:.2f}"
        for name, values in figures.items()
        if name != baseline
        for metric in COMPARED
        if abs(values[metric] - figures[baseline][metric]) > TOLERANCE_POINTS
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.store_parity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--milvus-uri", help="a Milvus server or cluster; default: Milvus Lite in a temporary folder")
    parser.add_argument("--milvus-token", default="")
    parser.add_argument("--answers", action="store_true", help="also compare the reader's cited spans, store by store")
    args = parser.parse_args(argv)
    from index.milvus_store import MilvusStore  # the optional extra: only when asked for

    settings = Settings()
    embedder = SentenceEmbedder(settings.embedding_model).load()
    with tempfile.TemporaryDirectory(prefix="qa-parity-") as workdir:
        milvus_uri = args.milvus_uri or str(Path(workdir) / "milvus.db")
        stores = {
            "faiss": lambda: FaissStore(Path(workdir) / "index"),
            "milvus": lambda: MilvusStore(milvus_uri, collection="parity", token=args.milvus_token),
        }
        gold = load_eval_set(GOLD_SET)
        figures = measure(stores, gold, embedder, settings.chunking)
        if args.answers:
            from service.runtime import load_answerer

            spans = answer_spans(stores, gold, embedder, load_answerer(settings), settings)
    names = list(next(iter(figures.values())))
    print(f"{'store':<8}" + "".join(f"{name:>10}" for name in names))
    for store, values in figures.items():
        print(f"{store:<8}" + "".join(f"{values[name]:>10.2f}" for name in names))
    off = differences(figures)
    for line in off:
        print(f"more than {TOLERANCE_POINTS:g} points apart: {line}", file=sys.stderr)
    if args.answers:
        changed = span_differences(spans, gold.questions)
        print(
            f"cited spans: {len(gold.questions) - len(changed)} of {len(gold.questions)} questions alike in every store"
        )
        for line in changed:
            print(f"answered otherwise: {line}", file=sys.stderr)
        off += changed
    return 1 if off else 0


if __name__ == "__main__":
    sys.exit(main())
