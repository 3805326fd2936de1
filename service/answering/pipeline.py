"""Retrieval tied to answering: question in, cited answer and the passages it read out."""

import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from index.document_store import StoredDocument
from index.documents import Document
from index.search import Hit
from service.answering.answers import Answerer, AnswerResult, Passage


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

    def ask_many(self, questions: list[tuple[str, int | None]]) -> list[AskResult]:
        """Several questions at once: one embedding call, one reader pass; each result as `ask` would give it."""
        started = time.perf_counter()
        found = self.retriever.search_many([q for q, _ in questions], [k or self.top_k for _, k in questions])
        passages = [self._passages(hits) for hits in found]
        read = [i for i, p in enumerate(passages) if p]
        answered = dict(
            zip(read, self.answerer.answer_many([(questions[i][0], passages[i]) for i in read]), strict=True)
        )
        empty = AnswerResult(None, [], "The index holds no documents; add some with `qa index add PATH`.")
        took_ms = (time.perf_counter() - started) * 1000
        return [
            AskResult(question, answered.get(i, empty), passages[i], took_ms)
            for i, (question, _) in enumerate(questions)
        ]
