"""The model thread: every forward pass of the service runs on one thread, question batches and written documents in turn.

Two reasons, both measured on this 2-core machine:
- Turns. torch spreads each call over both cores. A question batch and a document upload running at once each got half
  of them, and under a steady stream of writes every question waited behind it (p99 /ask 6.3 s at concurrency 32). On
  one thread a write waits for at most the batch being read, and a long upload is embedded in slices, so a question
  waits for at most one slice.
- OpenMP. torch's libgomp gives each thread that runs a parallel region its own team of worker threads, and once it
  manages more threads than there are cores it stops letting idle workers spin, so every region pays to wake them.
  Once any second thread had run the reader, a read of 5 windows took 41-43 ms instead of 26 (OMP_WAIT_POLICY and
  GOMP_SPINCOUNT did not bring it back); loading, warming up and answering all on this one thread keeps it at 26.
"""

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
from tqdm import tqdm

from index.embedding import Embedder

SLICE_TEXTS = 32  # chunks embedded per turn: a question waits for at most one slice of an upload
T = TypeVar("T")


class ModelThread:
    """One worker thread; `run` (from any thread) and `run_async` (from the event loop) queue work on it in order."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qa-model", initializer=self._started)
        self._thread: threading.Thread | None = None

    def _started(self) -> None:
        self._thread = threading.current_thread()

    def on_it(self) -> bool:
        """Whether the caller is the model thread itself."""
        return threading.current_thread() is self._thread

    def run(self, work: Callable[..., T], *args: object) -> T:
        """`work(*args)` on the model thread, after what is queued before it; inline when called from that thread."""
        if self.on_it():
            return work(*args)
        return self._executor.submit(work, *args).result()

    async def run_async(self, work: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)

    def shutdown(self) -> None:
        """Finish what is queued, then stop the thread."""
        self._executor.shutdown(wait=True)


class TurnTakingEmbedder:
    """An embedder that runs on the model thread, one turn for every slice of `slice_texts` texts it encodes."""

    def __init__(self, embedder: Embedder, model_thread: ModelThread, slice_texts: int = SLICE_TEXTS) -> None:
        self.embedder = embedder
        self.model_id = embedder.model_id
        self.model_thread = model_thread
        self.slice_texts = slice_texts

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if len(texts) <= self.slice_texts:
            return self.model_thread.run(self.embedder.encode, texts)
        parts = []
        starts = range(0, len(texts), self.slice_texts)
        for start in tqdm(starts, desc="embedding", unit="slice", disable=not progress):
            parts.append(self.model_thread.run(self.embedder.encode, texts[start : start + self.slice_texts]))
        return np.concatenate(parts)
