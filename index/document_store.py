"""The store seam: where documents, their chunks and vectors live, and how they are searched.

Two stores meet it: `FaissStore` (index/faiss_store.py: generations on local disk, the default) and `MilvusStore`
(index/milvus_store.py: Milvus Lite from a local `*.db` folder, or a Milvus server or cluster by URI).

The builder chunks and embeds; a store only keeps and searches. So a store never loads a model, a write carries the
vectors it stores, and a question is embedded once by the pipeline whichever store answers it.
"""

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from index.chunking import Chunk, ChunkingSettings
from index.documents import Document
from index.embedding import Embedder
from index.search import Hit


@dataclass(frozen=True)
class IndexSettings:
    """What an index was built under; vectors of another model, size or chunking don't belong in it."""

    embedding_model: str
    dimension: int
    chunking: ChunkingSettings

    def mismatch(self, wanted: "IndexSettings") -> str | None:
        """Why an index built under these settings can't take `wanted`'s vectors, or None when it can."""
        if self.embedding_model != wanted.embedding_model:
            return f"built with embedding model {self.embedding_model!r}, settings ask for {wanted.embedding_model!r}"
        if self.dimension != wanted.dimension:
            return f"built with {self.dimension}-dimensional vectors, the embedder makes {wanted.dimension}"
        if self.chunking != wanted.chunking:
            return f"built with chunking {self.chunking}, settings ask for {wanted.chunking}"
        return None


@dataclass(frozen=True)
class EmbeddedDocument:
    """A document ready to store: its chunks and one unit vector per chunk, in the same order."""

    document: Document
    chunks: list[Chunk]
    vectors: np.ndarray

    def __post_init__(self) -> None:
        if len(self.chunks) != len(self.vectors):
            raise ValueError(f"{self.document.id}: {len(self.chunks)} chunks but {len(self.vectors)} vectors")


@dataclass(frozen=True)
class StoredDocument:
    """A stored document as a listing shows it, without its text."""

    id: str
    title: str
    source: str
    content_hash: str
    characters: int
    chunks: int


class DocumentStore(Protocol):
    def settings(self) -> IndexSettings | None:
        """What the stored index was built under; None when the store holds no index yet."""
        ...

    def generation(self) -> str:
        """A token that changes with every write (empty when there is no index): readers compare it to notice one."""
        ...

    def writing(self, wait: float | None = None) -> contextlib.AbstractContextManager[None]:
        """Hold the store's write lock for a read-then-write; after `wait` seconds (None: no limit), IndexBusy."""
        ...

    def write(
        self,
        settings: IndexSettings,
        upsert: Sequence[EmbeddedDocument] = (),
        remove: Sequence[str] = (),
        fresh: bool = False,
    ) -> str:
        """Store `upsert` (replacing documents with the same id), drop `remove`; return the generation holding it.

        A document whose content hash and title are stored already is left as it is, and a write that changes nothing
        keeps the current generation; an unknown id to remove is ignored. `fresh` empties the store first (a build);
        otherwise settings other than the stored ones are refused with IndexUnavailable.
        """
        ...

    def documents(self) -> dict[str, StoredDocument]:
        """Every stored document by id."""
        ...

    def document(self, document_id: str) -> Document | None:
        """One document with the exact text its chunks' offsets index into; None when unknown."""
        ...

    def search(self, queries: Sequence[str], vectors: np.ndarray, top_ks: Sequence[int]) -> list[list[Hit]]:
        """For each query (its text and its unit vector) its best `top_k` chunks, by meaning and words fused by rank."""
        ...

    def snapshot(self) -> "DocumentStore":
        """The current generation to read from, for one pipeline: the FAISS store pins the generation it has loaded
        (one answer never mixes two); Milvus keeps no snapshots, so its snapshot is the store itself, read live."""
        ...

    def close(self) -> None:
        """Release connections and memory; a FAISS store reloads on its next use, a Milvus store is done."""
        ...


class StoreRetriever:
    """The pipeline's retriever over any store: embeds the questions once, then lets the store rank the chunks."""

    def __init__(self, store: DocumentStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def search(self, query: str, top_k: int) -> list[Hit]:
        return self.search_many([query], [top_k])[0]

    def search_many(self, queries: list[str], top_ks: list[int]) -> list[list[Hit]]:
        if not queries:
            return []
        return self.store.search(queries, self.embedder.encode(list(queries)), top_ks)


class StoreDocuments(Mapping[str, Document]):
    """A store's documents as a read-only mapping: the listing read once, each text read from the store when asked.

    A Milvus store read live may hold a document that the listing, read earlier, lacks: it is looked up all the same.
    """

    def __init__(self, store: DocumentStore, listing: Mapping[str, StoredDocument]) -> None:
        self.store = store
        self.listing = listing

    def __getitem__(self, document_id: str) -> Document:
        document = self.store.document(document_id)
        if document is None:
            raise KeyError(document_id)
        return document

    def __iter__(self) -> Iterator[str]:
        return iter(self.listing)

    def __len__(self) -> int:
        return len(self.listing)
