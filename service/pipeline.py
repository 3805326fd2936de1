"""Retrieval tied to answering: question in, cited answer and the passages it read out."""

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from index.documents import Document
from index.search import Hit
from service.answers import Answerer, AnswerResult, Passage


class Retriever(Protocol):
    def search(self, query: str, top_k: int) -> list[Hit]: ...


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
    ) -> None:
        self.retriever = retriever
        self.answerer = answerer
        self.documents = documents
        self.top_k = top_k
        self.chunk_counts = chunk_counts or {}
        self.generation = generation  # the index generation these documents come from

    def passages(self, question: str, top_k: int | None = None) -> list[Passage]:
        hits = self.retriever.search(question, top_k or self.top_k)
        return [
            Passage(
                document_id=hit.chunk.document_id,
                title=self.documents[hit.chunk.document_id].title,
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
        started = time.perf_counter()
        passages = self.passages(question, top_k)
        if passages:
            result = self.answerer.answer(question, passages)
        else:
            result = AnswerResult(None, [], "The index holds no documents; add some with `qa index add PATH`.")
        return AskResult(question, result, passages, (time.perf_counter() - started) * 1000)
