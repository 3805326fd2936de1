"""Retrieval tied to answering: question in, cited answer and the passages it read out."""

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol, TypeVar

from index.document_store import StoredDocument
from index.documents import Document
from index.search import Hit
from service.answering.answers import Answerer, AnswerResult, Passage

T = TypeVar("T")


class Retriever(Protocol):
    def search(self, query: str, top_k: int) -> list[Hit]: ...

    def search_many(self, queries: list[str], top_ks: list[int]) -> list[list[Hit]]: ...


@dataclass(frozen=True)
class AskResult:
    question: str
    result: AnswerResult
    passages: list[Passage]
    took_ms: float


class QAPipeline:
    def __init__(
        self,
        retriever: Retriever,
        answerer: Answerer,
        documents: Mapping[str, Document],
        top_k: int,
        chunk_counts: Mapping[str, int] | None = None,
        generation: str = "",
        listing: Mapping[str, StoredDocument] | None = None,
    ) -> None:
        """`listing` (a store's, without texts) saves reading every text to list or title the documents."""
        self.retriever = retriever
        self.answerer = answerer
        self.documents = documents
        self.top_k = top_k
        self.chunk_counts = chunk_counts or {}
        self.generation = generation  # the index generation these documents come from
        self._listing = listing

    @cached_property
    def listing(self) -> Mapping[str, StoredDocument]:
        """Every document's title, source, size and chunk count, without its text."""
        if self._listing is not None:
            return self._listing
        return {
            d.id: StoredDocument(d.id, d.title, d.source, d.content_hash, len(d.text), self.chunk_counts.get(d.id, 0))
            for d in self.documents.values()
        }

    def title(self, document_id: str) -> str:
        listed = self._listing.get(document_id) if self._listing is not None else None
        return listed.title if listed else self.documents[document_id].title

    def passages(self, question: str, top_k: int | None = None) -> list[Passage]:
        return self._passages(self.retriever.search(question, top_k or self.top_k))

    def _passages(self, hits: list[Hit]) -> list[Passage]:
        return [
            Passage(
                document_id=hit.chunk.document_id,
                title=self.title(hit.chunk.document_id),
                start=hit.chunk.start,
                end=hit.chunk.end,
                text=hit.chunk.text,
                score=hit.score,
                dense_score=hit.dense_score,
                lexical_score=hit.lexical_score,
            )
            for hit in hits
        ]

    def ask(self, question: str, top_k: int | None = None) -> AskResult:
        return self.ask_many([(question, top_k)])[0]

    def retrieve_many(self, questions: Sequence[tuple[str, int | None]]) -> list[list[Passage]]:
        """Each question's passages from this pipeline's index (`top_k` None: the pipeline's): one embedding call."""
        found = self.retriever.search_many([q for q, _ in questions], [k or self.top_k for _, k in questions])
        return [self._passages(hits) for hits in found]

    def ask_many(self, questions: Sequence[tuple[str, int | None]]) -> list[AskResult]:
        """Several questions at once: one embedding call, one reader pass; each result as `ask` would give it."""
        return ask_together([(self, question, top_k) for question, top_k in questions])


# A question, the pipeline it was asked of (one index generation) and its top_k (None: the pipeline's).
Asked = tuple[QAPipeline, str, int | None]
NO_DOCUMENTS = AnswerResult(
    None, [], "The index holds no documents; add some with `qa index add PATH` or POST /documents."
)


def ask_together(asked: Sequence[Asked]) -> list[AskResult]:
    """Questions asked of one or more pipelines, answered at once, in order: each is searched in its own pipeline's
    index, then every question whose pipeline shares an answerer (all the generations one service opens do) is read
    in one reader pass. While documents are written the questions of a batch name several generations, and a pass
    per generation split the batches: `pytest -s tests/api/test_load.py` (1,000 requests at concurrency 32, a writer
    writing all along) went from 30.7-32.3 to 43.9-48.2 requests/s, p99 /ask 1.68-1.76 -> 1.10-1.38 s (2026-12-02,
    runs alternating on the same machine). Writes wait longer for the batch being read: 300-330 -> 72-75 of them.
    """
    started = time.perf_counter()
    passages: list[list[Passage]] = [[] for _ in asked]
    pipelines = [pipeline for pipeline, _, _ in asked]
    for pipeline, rows in _grouped(pipelines, range(len(asked))):
        for row, found in zip(rows, pipeline.retrieve_many([asked[row][1:] for row in rows]), strict=True):
            passages[row] = found
    answered: dict[int, AnswerResult] = {}
    readable = [row for row in range(len(asked)) if passages[row]]
    for answerer, rows in _grouped([pipeline.answerer for pipeline in pipelines], readable):
        read = answerer.answer_many([(asked[row][1], passages[row]) for row in rows])
        answered.update(zip(rows, read, strict=True))
    took_ms = (time.perf_counter() - started) * 1000
    return [
        AskResult(question, answered.get(row, NO_DOCUMENTS), passages[row], took_ms)
        for row, (_, question, _) in enumerate(asked)
    ]


def _grouped(owners: Sequence[T], rows: Iterable[int]) -> list[tuple[T, list[int]]]:
    """`rows` grouped by their owner (`owners[row]`: a pipeline, an answerer), compared by identity, in order."""
    groups: dict[int, tuple[T, list[int]]] = {}
    for row in rows:
        groups.setdefault(id(owners[row]), (owners[row], []))[1].append(row)
    return list(groups.values())
