"""The reader in open use: questions answered from retrieved passages, for the open no-answer threshold and figures.

Retrieved passages are noisier than a question's own paragraph, so open use gets a threshold of its own, calibrated the
same way (best F1 on the calibration articles) but on what retrieval actually hands the reader.
"""

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

from eval.datasets import paragraph_id
from eval.squad import SquadQuestion
from index.builder import IndexBuilder
from index.chunking import ChunkingSettings
from index.documents import Document
from index.embedding import SentenceEmbedder
from index.search import HybridRetriever
from index.store import IndexStore
from service.answering.answers import Passage
from service.answering.pipeline import QAPipeline
from service.reader.answerer import READ_FIRST, ReaderAnswerer
from service.reader.span_reader import PassageSpan, SpanReader


@dataclass(frozen=True)
class OpenPrediction:
    """A question's best span (text, margin) among its first READ_FIRST passages and among all its passages: what the
    reader answerer answers at any threshold follows from the two."""

    first: tuple[str, float]
    best: tuple[str, float]

    def exits(self, threshold: float, exit_margin: float | None) -> bool:
        """Whether the answerer stops after the first passages: their best margin is over both (None: never)."""
        return exit_margin is not None and self.first[1] > max(threshold, exit_margin)

    def at(self, threshold: float, exit_margin: float | None = None) -> tuple[str, float]:
        """The answerer's span at `threshold` and `exit_margin` (None: it reads every passage), and the margin that
        decides whether it answers: the first passages' best span where it exits there, else the best of all."""
        return (self.first[0], self.best[1]) if self.exits(threshold, exit_margin) else self.best


NONE = ("", float("-inf"))  # no span at all: abstains whatever the threshold


# The exit margin is the smallest at which the answerer gives the same answer as when it reads every passage on at
# least this share of the calibration questions. Judged on the held-out test articles, reader v2 (exit margin 2.30):
# open F1 52.55 against 52.87 reading every passage; agreement targets of 98% and 99% cost about as much F1 there
# (simulated over dumped spans: -0.22, -0.20 against -0.18) and read more.
EXIT_AGREEMENT = 0.97


def calibrate_exit_margin(predictions: list[OpenPrediction], threshold: float) -> float:
    """The smallest exit margin (of the threshold and the first passages' best margins over it) at which at least
    EXIT_AGREEMENT of `predictions` answer what reading every passage answers at `threshold`."""
    candidates = sorted({p.first[1] for p in predictions if math.isfinite(p.first[1]) and p.first[1] > threshold})

    def agreeing(exit_margin: float) -> int:
        return sum(p.at(threshold, exit_margin)[0] == p.best[0] or p.best[1] <= threshold for p in predictions)

    # The largest candidate always qualifies: no question's first margin is over it, so none exits.
    return next(m for m in [threshold, *candidates] if agreeing(m) >= EXIT_AGREEMENT * len(predictions))


def open_predictions(
    reader: SpanReader,
    questions: list[SquadQuestion],
    embedder: SentenceEmbedder,
    chunking: ChunkingSettings,
    top_k: int,
) -> list[OpenPrediction]:
    """For each question, over the top_k passages retrieved from the questions' paragraphs: the reader's best span
    among the first READ_FIRST of them and among all, each with its margin over its own window's no-answer score, as
    the reader answerer ranks and judges them."""
    documents: dict[str, Document] = {}
    for question in questions:
        doc_id = paragraph_id(question.title, question.paragraph)
        documents.setdefault(doc_id, Document(doc_id, question.title.replace("_", " "), "squad", question.context))
    answerer = ReaderAnswerer(reader)
    predictions = []
    with tempfile.TemporaryDirectory(prefix="qa-calibrate-") as workdir:
        store = IndexStore(Path(workdir))
        IndexBuilder(store, embedder, chunking).build_documents(list(documents.values()))
        data = store.load()
        pipeline = QAPipeline(HybridRetriever(data, embedder), None, data.documents, top_k)
        for question in questions:
            passages = pipeline.passages(question.question)
            ranked = answerer.ranked_spans(question.question, passages)
            first = next((span for span in ranked if span.passage < READ_FIRST), None)
            best = ranked[0] if ranked else None
            predictions.append(OpenPrediction(_text_and_margin(passages, first), _text_and_margin(passages, best)))
    return predictions


def _text_and_margin(passages: list[Passage], span: PassageSpan | None) -> tuple[str, float]:
    return (passages[span.passage].text[span.start : span.end], span.margin) if span else NONE
