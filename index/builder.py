"""Building and updating the index: chunk, embed (with a progress bar), hand the result to a store.

Every change (`qa index add`, the service's document routes) goes through one method, `change`, which reads what the
store holds, embeds only what is new or changed, and writes it as one change, all under the store's write lock.
"""

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from index.chunking import ChunkingSettings, chunk_document
from index.document_store import DocumentStore, EmbeddedDocument, IndexSettings, StoredDocument
from index.documents import Document, load_documents, quoted_id
from index.embedding import Embedder
from index.faiss_store import FaissStore
from index.store import IndexStore

log = logging.getLogger(__name__)


class DocumentConflict(ValueError):
    """A document asked to be new already exists."""


class UnknownDocument(KeyError):
    """A document asked to be removed is not in the index."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass
class UpdateReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    chunks: int = 0
    # The generation that holds the change (the current one when nothing changed); a random name, so not compared.
    generation: str = field(default="", compare=False)


class IndexBuilder:
    def __init__(
        self,
        store: IndexStore | DocumentStore,
        embedder: Embedder,
        chunking: ChunkingSettings,
        progress: bool = False,
    ) -> None:
        """`store` is any DocumentStore, or the FAISS index folder's IndexStore (kept as `store`, as before)."""
        self.store = store
        self.embedder = embedder
        self.chunking = chunking
        self.progress = progress
        # A store made here is closed after each write, so the builder holds no index in memory between writes.
        self._owns_store = isinstance(store, IndexStore)
        self.document_store: DocumentStore = FaissStore(store) if isinstance(store, IndexStore) else store

    @cached_property
    def settings(self) -> IndexSettings:
        """What this builder's vectors are: its embedder's model and dimension, its chunking."""
        dimension = int(self.embedder.encode(["dimension probe"]).shape[1])
        return IndexSettings(self.embedder.model_id, dimension, self.chunking)

    def build(self, paths: list[Path]) -> UpdateReport:
        """A new index from these files alone."""
        return self.build_documents(load_documents(paths))

    def build_documents(self, documents: list[Document]) -> UpdateReport:
        with self._writing():
            return self._write({}, documents, (), fresh=True)

    def add(self, paths: list[Path]) -> UpdateReport:
        """Add new files and replace changed ones (matched by id); unchanged content is skipped by hash."""
        return self.change(load_documents(paths))

    def change(
        self,
        upsert: Sequence[Document] = (),
        remove: Sequence[str] = (),
        new_only: bool = False,
        wait: float | None = None,
    ) -> UpdateReport:
        """Add or replace `upsert` (unchanged content is skipped by hash), remove `remove`, as one write.

        `new_only` refuses (DocumentConflict) a document whose id exists; an unknown id to remove is UnknownDocument.
        Waits up to `wait` seconds for another writer (None: as long as it takes), then raises IndexBusy.
        """
        with self._writing(wait):
            stored = self.document_store.documents()
            taken = [d.id for d in upsert if d.id in stored]
            if new_only and taken:
                raise DocumentConflict(f"a document with id {quoted_id(taken[0])} exists already")
            unknown = [i for i in remove if i not in stored]
            if unknown:
                raise UnknownDocument(f"no document with id {quoted_id(unknown[0])}")
            return self._write(stored, upsert, remove, fresh=False)

    def rebuild(self) -> UpdateReport:
        """Re-chunk and re-embed the stored documents under the current settings (after a model or chunking change)."""
        with self._writing():
            documents = [self.document_store.document(i) for i in self.document_store.documents()]
            return self._write({}, [d for d in documents if d is not None], (), fresh=True)

    @contextlib.contextmanager
    def _writing(self, wait: float | None = None) -> Iterator[None]:
        try:
            with self.document_store.writing(wait):
                yield
        finally:
            if self._owns_store:
                self.document_store.close()

    def _write(
        self, stored: dict[str, StoredDocument], upsert: Sequence[Document], remove: Sequence[str], fresh: bool
    ) -> UpdateReport:
        report = UpdateReport(removed=list(remove))
        new: list[Document] = []
        for document in upsert:
            known = stored.get(document.id)
            if known and known.content_hash == document.content_hash and known.title == document.title:
                report.unchanged.append(document.id)
                continue
            (report.replaced if known else report.added).append(document.id)
            new.append(document)
        embedded = self._embed(new)
        report.chunks = sum(len(e.chunks) for e in embedded)
        if fresh or embedded or remove:
            report.generation = self.document_store.write(self.settings, embedded, remove, fresh=fresh)
        else:
            report.generation = self.document_store.generation()
        return report

    def _embed(self, documents: list[Document]) -> list[EmbeddedDocument]:
        """Chunk every document and embed all their chunks in one call (one progress bar, full batches)."""
        if not documents:
            return []
        chunked = [chunk_document(d, self.chunking) for d in documents]
        texts = [c.text for chunks in chunked for c in chunks]
        if texts:
            log.info("embedding %d chunks of %d documents", len(texts), len(documents))
            vectors = self.embedder.encode(texts, progress=self.progress)
        else:
            vectors = np.zeros((0, self.settings.dimension), dtype=np.float32)
        embedded, first = [], 0
        for document, chunks in zip(documents, chunked, strict=True):
            embedded.append(EmbeddedDocument(document, chunks, vectors[first : first + len(chunks)]))
            first += len(chunks)
        return embedded
