"""The reader in open use: questions answered from retrieved passages, for the open no-answer threshold and figures.

Retrieved passages are noisier than a question's own paragraph, so open use gets a threshold of its own, calibrated the
same way (best F1 on the calibration articles) but on what retrieval actually hands the reader.
"""

import tempfile
from pathlib import Path

from eval.datasets import paragraph_id
from eval.squad import SquadQuestion
from index.builder import IndexBuilder
from index.chunking import ChunkingSettings
from index.documents import Document
from index.embedding import SentenceEmbedder
from index.search import HybridRetriever
from index.store import IndexStore
from service.answering.pipeline import QAPipeline
from service.reader.answerer import ReaderAnswerer
from service.reader.span_reader import SpanReader


def open_predictions(
    reader: SpanReader,
    questions: list[SquadQuestion],
    embedder: SentenceEmbedder,
    chunking: ChunkingSettings,
    top_k: int,
) -> list[tuple[str, float]]:
    """For each question: the reader's best span over the top_k passages retrieved from the questions' paragraphs, and
    that span's margin over its own window's no-answer score, as the reader answerer ranks and judges them."""
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
            if not ranked:  # abstains whatever the threshold
                predictions.append(("", float("-inf")))
                continue
            best = ranked[0]
            predictions.append((passages[best.passage].text[best.start : best.end], best.margin))
    return predictions
