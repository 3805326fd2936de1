"""The baseline: a Haystack 2.x pipeline with our models (MiniLM embeddings, in-memory retrieval, our reader).

A user of the framework would build it this way: split by words (Haystack's sentence splitter needs nltk data this
machine cannot download), embed with SentenceTransformers, retrieve by embedding from an InMemoryDocumentStore, and
read with an ExtractiveReader pointed at service/reader/model, at the reader's own window length and stride.
"""

import os
import statistics
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from index.chunking import ChunkingSettings, chunk_document
from index.documents import Document
from index.embedding import resolve_model_path
from service.reader.span_reader import ReaderConfig


@dataclass(frozen=True)
class WordSplit:
    """DocumentSplitter settings that cut windows about as long as our sentence chunks, overlapping as much."""

    length: int
    overlap: int

    def to_json(self) -> dict:
        return asdict(self)


def word_split_for(documents: list[Document], chunking: ChunkingSettings) -> WordSplit:
    """Words per window: the mean of our chunks of these documents; overlap: what makes as many windows as we cut.
    Both pipelines then embed and read the same amount of text, so neither wins by reading less."""
    chunks = [c for d in documents for c in chunk_document(d, chunking)]
    if not chunks:
        raise ValueError("no text to measure chunk sizes on")
    length = max(1, round(statistics.mean(len(c.text.split()) for c in chunks)))
    step = sum(len(d.text.split()) for d in documents) / len(chunks)
    return WordSplit(length, min(max(0, round(length - step)), length - 1))


def _offline() -> None:
    # 2.x is pinned on purpose: its notices that these components move to integration packages in 3.0 are noise here.
    warnings.filterwarnings("ignore", category=FutureWarning, module="haystack")
    os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def split_by_words(documents: list[Document], split: WordSplit) -> list:
    """Our documents as Haystack Documents, cut by Haystack's own DocumentSplitter."""
    _offline()
    from haystack import Document as HaystackDocument
    from haystack.components.preprocessors import DocumentSplitter

    splitter = DocumentSplitter(split_by="word", split_length=split.length, split_overlap=split.overlap)
    splitter.warm_up()
    originals = [HaystackDocument(content=d.text, meta={"document_id": d.id, "title": d.title}) for d in documents]
    return splitter.run(documents=originals)["documents"]


class HaystackQA:
    """Indexes documents and answers questions with a Haystack pipeline; load in `load()`, like our own models."""

    def __init__(self, embedding_model: str, reader_model: Path, split: WordSplit, answers: int = 3) -> None:
        self.embedding_path = resolve_model_path(embedding_model)
        self.reader_model = Path(reader_model)
        self.split = split
        self.answers = answers  # an answer and a few alternatives, as /ask returns
        self._query = None
        self._store = None

    def load(self) -> "HaystackQA":
        _offline()
        from haystack import Pipeline
        from haystack.components.embedders import SentenceTransformersTextEmbedder
        from haystack.components.readers import ExtractiveReader
        from haystack.components.retrievers.in_memory import InMemoryEmbeddingRetriever
        from haystack.document_stores.in_memory import InMemoryDocumentStore
        from haystack.utils import ComponentDevice

        cpu = ComponentDevice.from_str("cpu")
        reader_config = ReaderConfig.read(self.reader_model)
        self._store = InMemoryDocumentStore(embedding_similarity_function="dot_product")
        query = Pipeline()
        query.add_component(
            "embedder",
            SentenceTransformersTextEmbedder(
                model=self.embedding_path, device=cpu, progress_bar=False, normalize_embeddings=True
            ),
        )
        query.add_component("retriever", InMemoryEmbeddingRetriever(self._store))
        query.add_component(
            "reader",
            ExtractiveReader(
                model=self.reader_model,
                device=cpu,
                top_k=self.answers,
                max_seq_length=reader_config.max_length,
                stride=reader_config.stride,
            ),
        )
        query.connect("embedder.embedding", "retriever.query_embedding")
        query.connect("retriever.documents", "reader.documents")
        query.warm_up()
        self._query = query
        return self

    def index(self, documents: list[Document]) -> dict:
        """Split, embed and store the documents; the figures of that build (model load excluded)."""
        from haystack.components.embedders import SentenceTransformersDocumentEmbedder
        from haystack.utils import ComponentDevice

        embedder = SentenceTransformersDocumentEmbedder(
            model=self.embedding_path,
            device=ComponentDevice.from_str("cpu"),
            batch_size=64,
            progress_bar=False,
            normalize_embeddings=True,
        )
        embedder.warm_up()
        started = time.perf_counter()
        chunks = split_by_words(documents, self.split)
        embedded = embedder.run(documents=chunks)["documents"]
        self._store.write_documents(embedded)
        seconds = time.perf_counter() - started
        return {
            "documents": len(documents),
            "chunks": len(chunks),
            "seconds": round(seconds, 2),
            "chunks_per_s": round(len(chunks) / seconds, 1),
        }

    def ask(self, question: str, top_k: int) -> str | None:
        """The best answer's text (None when the no-answer candidate wins), from the `top_k` retrieved windows."""
        output = self._query.run(
            {"embedder": {"text": question}, "retriever": {"top_k": top_k}, "reader": {"query": question}}
        )
        answers = output["reader"]["answers"]
        return answers[0].data if answers else None
