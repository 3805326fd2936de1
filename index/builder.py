"""Building and updating the index: chunk, embed (with a progress bar), store.

Every change (`qa index add`, the service's document routes) goes through one method, `change`, which reads the current
generation, applies the change and saves a new generation, all under the store's write lock.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from index.chunking import Chunk, ChunkingSettings, chunk_document
from index.documents import Document, load_documents
from index.embedding import Embedder
from index.store import IndexData, IndexStore, Manifest
from index.vectors import VectorIndex

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
        self, store: IndexStore, embedder: Embedder, chunking: ChunkingSettings, progress: bool = False
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.chunking = chunking
        self.progress = progress

    def _empty(self) -> IndexData:
        dimension = int(self.embedder.encode(["dimension probe"]).shape[1])
        manifest = Manifest(self.embedder.model_id, dimension, self.chunking)
        return IndexData(manifest, {}, {}, VectorIndex(dimension))

    def build(self, paths: list[Path]) -> UpdateReport:
        """A new index from these files alone."""
        return self.build_documents(load_documents(paths))

    def build_documents(self, documents: list[Document]) -> UpdateReport:
        with self.store.writing():
            return self._build(documents)

    def _build(self, documents: list[Document]) -> UpdateReport:
        data = self._empty()
        report = self._upsert(data, documents)
        report.generation = self.store.save(data)
        return report

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
        """Add or replace `upsert` (unchanged content is skipped by hash), remove `remove`, save one new generation.

        `new_only` refuses (DocumentConflict) a document whose id exists; an unknown id to remove is UnknownDocument.
        Waits up to `wait` seconds for another writer (None: as long as it takes), then raises IndexBusy.
        """
        with self.store.writing(wait):
            data = self.store.load() if self.store.exists() else self._empty()
            taken = [d.id for d in upsert if d.id in data.documents]
            if new_only and taken:
                raise DocumentConflict(f"a document with id {taken[0]!r} exists already")
            unknown = [i for i in remove if i not in data.documents]
            if unknown:
                raise UnknownDocument(f"no document with id {unknown[0]!r}")
            report = self._upsert(data, list(upsert))
            for document_id in remove:
                self._drop_chunks(data, document_id)
                del data.documents[document_id]
                del data.manifest.content_hashes[document_id]
                report.removed.append(document_id)
            changed = report.added or report.replaced or report.removed
            report.generation = self.store.save(data) if changed else self.store.generation()
        return report

    def rebuild(self) -> UpdateReport:
        """Re-chunk and re-embed the stored documents under the current settings (after a model or chunking change)."""
        with self.store.writing():
            return self._build(list(self.store.load().documents.values()))

    @staticmethod
    def _drop_chunks(data: IndexData, document_id: str) -> None:
        stale = [i for i, c in data.chunks.items() if c.document_id == document_id]
        data.vectors.remove(stale)
        for chunk_id in stale:
            del data.chunks[chunk_id]

    def _upsert(self, data: IndexData, documents: list[Document]) -> UpdateReport:
        report = UpdateReport()
        fresh: list[Document] = []
        for document in documents:
            known = data.manifest.content_hashes.get(document.id)
            if known == document.content_hash and data.documents[document.id].title == document.title:
                report.unchanged.append(document.id)
                continue
            (report.replaced if known else report.added).append(document.id)
            self._drop_chunks(data, document.id)
            fresh.append(document)
        new_chunks: list[Chunk] = [c for d in fresh for c in chunk_document(d, self.chunking)]
        if new_chunks:
            log.info("embedding %d chunks of %d documents", len(new_chunks), len(fresh))
            vectors = self.embedder.encode([c.text for c in new_chunks], progress=self.progress)
            # Ids are never reused, so a FAISS id always means the same chunk text across generations.
            first = data.manifest.next_chunk_id
            ids = np.arange(first, first + len(new_chunks), dtype=np.int64)
            data.manifest = replace(data.manifest, next_chunk_id=first + len(new_chunks))
            data.vectors.add(vectors, ids)
            data.chunks.update(zip(ids.tolist(), new_chunks, strict=True))
        for document in fresh:
            data.documents[document.id] = document
            data.manifest.content_hashes[document.id] = document.content_hash
        report.chunks = len(new_chunks)
        return report
