"""The default store: generations on local disk (index/store.py), searched with FAISS and bm25s (index/search.py).

It keeps the current generation loaded and reloads it when `CURRENT` moves, so every process that opens the folder
sees the others' writes. A write changes a copy of that generation and saves it as the next one; searches in progress
keep the generation they started with, and a snapshot keeps one generation for as long as it is held.
"""

import contextlib
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from index.document_store import EmbeddedDocument, IndexSettings, StoredDocument
from index.documents import Document
from index.search import Hit, HybridRetriever
from index.store import IndexData, IndexStore, IndexUnavailable, Manifest
from index.vectors import VectorIndex


class FaissStore:
    def __init__(self, index: IndexStore | Path, candidates: int = 50) -> None:
        self.index = index if isinstance(index, IndexStore) else IndexStore(index)
        self.candidates = candidates
        self._lock = threading.Lock()
        self._data: IndexData | None = None
        self._retriever: HybridRetriever | None = None
        self._pinned = False

    def data(self) -> IndexData | None:
        """The current generation (loaded once, then again only when `CURRENT` has moved); None without an index."""
        if self._pinned:
            return self._data
        if not self.index.exists():
            return None
        generation = self.index.generation()
        with self._lock:
            if self._data is None or self._data.generation != generation:
                self._data, self._retriever = self.index.load(), None
            return self._data

    def settings(self) -> IndexSettings | None:
        if self._pinned:
            manifest = self._data.manifest if self._data else None
        else:
            manifest = self.index.read_manifest() if self.index.exists() else None
        return IndexSettings(manifest.embedding_model, manifest.dimension, manifest.chunking) if manifest else None

    def generation(self) -> str:
        if self._pinned:
            return self._data.generation if self._data else ""
        return self.index.generation() if self.index.exists() else ""

    def snapshot(self) -> "FaissStore":
        """A read-only store over the generation loaded now, its BM25 index built here rather than on a first search."""
        pinned = FaissStore(self.index, self.candidates)
        data = self.data()
        pinned._data, pinned._pinned = data, True
        if data is not None:
            pinned._retriever = HybridRetriever(data, None, self.candidates)
        return pinned

    def writing(self, wait: float | None = None) -> contextlib.AbstractContextManager[None]:
        self._refuse_if_pinned()
        return self.index.writing(wait)

    def _refuse_if_pinned(self) -> None:
        if self._pinned:
            raise RuntimeError(f"a snapshot of {self.index.folder} is read-only: write to the store it came from")

    def write(
        self,
        settings: IndexSettings,
        upsert: Sequence[EmbeddedDocument] = (),
        remove: Sequence[str] = (),
        fresh: bool = False,
    ) -> str:
        self._refuse_if_pinned()
        current = None if fresh else self.data()
        if current is None:
            data = IndexData(
                Manifest(settings.embedding_model, settings.dimension, settings.chunking),
                {},
                {},
                VectorIndex(settings.dimension),
            )
        else:
            manifest = current.manifest
            stored = IndexSettings(manifest.embedding_model, manifest.dimension, manifest.chunking)
            reason = manifest.mismatch(settings.embedding_model, settings.chunking) or stored.mismatch(settings)
            if reason:
                raise IndexUnavailable(
                    f"index in {self.index.folder} was {reason}; `qa index add` or `qa serve` re-embeds its documents"
                )
            data = _copy(current)
        changed = _apply(data, upsert, remove)
        if current is not None and not changed:
            return current.generation
        return self.index.save(data)

    def documents(self) -> dict[str, StoredDocument]:
        data = self.data()
        if data is None:
            return {}
        counts = data.chunk_counts()
        return {
            d.id: StoredDocument(d.id, d.title, d.source, data.manifest.content_hashes[d.id], len(d.text), counts[d.id])
            for d in data.documents.values()
        }

    def document(self, document_id: str) -> Document | None:
        data = self.data()
        return data.documents.get(document_id) if data else None

    def search(self, queries: Sequence[str], vectors: np.ndarray, top_ks: Sequence[int]) -> list[list[Hit]]:
        data = self.data()
        if data is None:
            return [[] for _ in queries]
        with self._lock:
            if self._data is not data or self._retriever is None:  # the BM25 index is built once per generation
                self._retriever = HybridRetriever(data, None, self.candidates)
            retriever = self._retriever
        return retriever.search_vectors(queries, vectors, top_ks)

    def close(self) -> None:
        with self._lock:
            self._data, self._retriever = None, None


def _copy(data: IndexData) -> IndexData:
    """A copy a write may change while readers search the original."""
    manifest = replace(data.manifest, content_hashes=dict(data.manifest.content_hashes))
    return IndexData(manifest, dict(data.documents), dict(data.chunks), data.vectors.copy(), data.generation)


def _apply(data: IndexData, upsert: Sequence[EmbeddedDocument], remove: Sequence[str]) -> bool:
    """Change `data` in place; False when nothing changed (every document stored already, nothing to remove)."""
    changed = False
    for embedded in upsert:
        document = embedded.document
        known = data.documents.get(document.id)
        if known and known.title == document.title and data.manifest.content_hashes[known.id] == document.content_hash:
            continue
        _drop_chunks(data, document.id)
        # Ids are never reused, so a FAISS id always means the same chunk text across generations.
        first = data.manifest.next_chunk_id
        ids = np.arange(first, first + len(embedded.chunks), dtype=np.int64)
        data.manifest = replace(data.manifest, next_chunk_id=first + len(embedded.chunks))
        if len(ids):
            data.vectors.add(embedded.vectors, ids)
        data.chunks.update(zip(ids.tolist(), embedded.chunks, strict=True))
        data.documents[document.id] = document
        data.manifest.content_hashes[document.id] = document.content_hash
        changed = True
    for document_id in remove:
        if document_id in data.documents:
            _drop_chunks(data, document_id)
            del data.documents[document_id]
            del data.manifest.content_hashes[document_id]
            changed = True
    return changed


def _drop_chunks(data: IndexData, document_id: str) -> None:
    stale = [i for i, c in data.chunks.items() if c.document_id == document_id]
    data.vectors.remove(stale)
    for chunk_id in stale:
        del data.chunks[chunk_id]
