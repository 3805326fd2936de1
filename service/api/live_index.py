"""The pipeline over the store's current generation, swapped for a new one when the store's generation moves.

A write here (the document routes), in another process (`qa index add`) or in another replica on the same Milvus makes
a new generation; the next request sees it without a restart, for it compares `store.generation()` (the FAISS store's
`CURRENT` file, the Milvus store's meta row) with the one it serves. Each request takes one pipeline and answers from
it throughout; over the FAISS store that pipeline reads a snapshot, so an answer never mixes generations. Writes go
through `change`, which returns only once the new generation is durable and served.
"""

import logging
import threading
import time
from collections.abc import Callable, Sequence

from index.builder import IndexBuilder, UpdateReport
from index.document_store import DocumentStore
from index.documents import Document
from index.faiss_store import FaissStore
from index.store import IndexBusy, IndexMismatch, IndexStore, IndexUnavailable
from service.answering.pipeline import QAPipeline
from service.api.model_turn import ModelThread

log = logging.getLogger(__name__)


class LiveIndex:
    def __init__(
        self,
        store: DocumentStore | IndexStore | None,
        open_pipeline: Callable[[DocumentStore], QAPipeline],
        builder: IndexBuilder | None = None,
        pipeline: QAPipeline | None = None,
        model_thread: ModelThread | None = None,
    ) -> None:
        """`open_pipeline` makes a pipeline over a store's snapshot; `builder` makes it writable; `pipeline` (with no
        store) serves a fixed, ready-made pipeline; `model_thread` runs the models (service.api.model_turn): the question
        batcher reads on it and the builder's embedder embeds on it. A FAISS index folder's IndexStore is taken as its
        FaissStore."""
        self.store: DocumentStore | None = FaissStore(store) if isinstance(store, IndexStore) else store
        self.builder = builder
        self._open_pipeline = open_pipeline
        self._pipeline = pipeline
        self.model_thread = model_thread or ModelThread()
        self._swap = threading.Lock()
        self.writing = threading.Lock()  # held through a write, so shutdown can wait for one to finish

    @classmethod
    def fixed(cls, pipeline: QAPipeline) -> "LiveIndex":
        """A pipeline that never changes (tests hand in fakes this way); writes are refused."""
        return cls(None, lambda store: pipeline, pipeline=pipeline)

    def load(self) -> "LiveIndex":
        """Open the current generation."""
        if self.store is not None:
            self._refresh()
        return self

    def pipeline(self) -> QAPipeline | None:
        """The pipeline over the current generation, opening a newer one first when the store's generation moved."""
        if self.store is not None and self._pipeline is not None:
            try:
                if self.store.generation() != self._pipeline.generation:
                    self._refresh()
            except IndexMismatch:  # rebuilt under other settings: no answer from it is right, nor from the old one
                raise
            except IndexUnavailable as error:  # a generation removed under us: keep answering from the one we hold
                log.warning("kept index generation %s: %s", self._pipeline.generation, error)
        return self._pipeline

    def change(
        self, upsert: Sequence[Document] = (), remove: Sequence[str] = (), new_only: bool = False, wait: float = 10.0
    ) -> UpdateReport:
        """Apply a change as one new generation (see IndexBuilder.change) and serve it before returning."""
        if self.builder is None:
            raise RuntimeError("this index is read-only")
        busy = IndexBusy(f"another write to the index took longer than {wait:g}s")
        started = time.monotonic()
        # Another write in this process first, then (the store's lock) one in another process: `wait` bounds both.
        if not self.writing.acquire(timeout=wait):
            raise busy
        try:
            remaining = max(0.0, wait - (time.monotonic() - started))
            try:
                report = self.builder.change(upsert, remove, new_only=new_only, wait=remaining)
            except IndexBusy:
                raise busy from None
            self._refresh()
        finally:
            self.writing.release()
        return report

    def close(self) -> None:
        """Release the store (a Milvus connection; Milvus Lite's embedded server with the last one), stop the model
        thread."""
        if self.store is not None:
            self.store.close()
        self.model_thread.shutdown()

    def _refresh(self) -> None:
        assert self.store is not None
        with self._swap:
            current = self._pipeline.generation if self._pipeline else None
            if current == self.store.generation():
                return
            pipeline = self._open_pipeline(self.store.snapshot())
            self._pipeline = pipeline
            log.info("serving index generation %s (%d documents)", pipeline.generation, len(pipeline.documents))
