"""Questions asked at about the same time, answered together: one reader pass per batch, whatever index generations
its questions were asked of (one embedding call for each).

The model work runs on the model thread (service.api.model_turn), off the event loop, so the server keeps accepting
requests while a batch is read; the questions that arrive meanwhile form the next batch. One thread is the right pool
size: torch already spreads a batch over both cores, and two batches at once would only fight for them. The queue is
bounded: past `max_queue` waiting questions a request is refused at once (503 with Retry-After) instead of waiting
seconds for its turn.
"""

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from service.answering.pipeline import Asked, AskResult, QAPipeline, ask_together
from service.api.errors import Overloaded
from service.api.model_turn import ModelThread


@dataclass
class _Question:
    asked: Asked
    future: asyncio.Future


class QuestionBatcher:
    def __init__(
        self,
        window_ms: float = 0.0,
        max_batch: int = 16,
        max_queue: int = 256,
        model_thread: ModelThread | None = None,
        read: Callable[[Sequence[Asked]], list[AskResult]] = ask_together,
    ) -> None:
        """`model_thread`: where batches are read, shared with writes' embedding; unset: a thread of its own, stopped
        with the batcher. `read` answers a batch (tests hand in a fake): each question of its own pipeline, the index
        generation it was asked of, all of them read in one pass."""
        self.window = window_ms / 1000
        self.own_thread = model_thread is None
        self.model_thread = model_thread or ModelThread()
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.read = read
        self._queue: asyncio.Queue[_Question] | None = None
        self._worker: asyncio.Task | None = None
        self.batches = 0  # how many batches ran, and how many questions they held (for tests and logs)
        self.questions = 0

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._run(), name="qa-batcher")

    async def stop(self) -> None:
        """Finish the batch being read, then stop; questions still queued are refused."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        while self._queue is not None and not self._queue.empty():
            item = self._queue.get_nowait()
            if not item.future.done():
                item.future.set_exception(Overloaded("the service is shutting down", {"Retry-After": "5"}))
        if self.own_thread:
            self.model_thread.shutdown()

    async def ask(self, pipeline: QAPipeline, question: str, top_k: int | None = None) -> AskResult:
        """The pipeline's answer to one question, read in a batch with whatever else is asked meanwhile; `took_ms`
        counts from arrival, the wait for a batch included."""
        if self._queue is None:
            raise RuntimeError("QuestionBatcher.start() was not called")
        if self._queue.qsize() >= self.max_queue:
            waiting = self._queue.qsize()
            raise Overloaded(
                f"{waiting} {'question is' if waiting == 1 else 'questions are'} waiting to be answered;"
                " try again in a moment",
                {"Retry-After": "1"},
            )
        started = time.perf_counter()
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Question((pipeline, question, top_k), future))
        result = await future
        return replace(result, took_ms=(time.perf_counter() - started) * 1000)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            deadline = loop.time() + self.window
            while len(batch) < self.max_batch:
                if not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                    continue
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), remaining))
                except TimeoutError:
                    break
            live = [item for item in batch if not item.future.done()]  # a client that left is not read for
            if not live:
                continue
            try:
                results = await self.model_thread.run_async(self.read, [item.asked for item in live])
            except BaseException as error:
                if isinstance(error, STOPPING):
                    raise
                if len(live) == 1:
                    if not live[0].future.done():
                        live[0].future.set_exception(_as_exception(error))
                    continue
                # One question's failure must not fail the others asked with it: answer each on its own.
                await self._one_by_one(live)
                continue
            self.batches += 1
            self.questions += len(live)
            for item, result in zip(live, results, strict=True):
                if not item.future.done():
                    item.future.set_result(result)

    async def _one_by_one(self, group: list[_Question]) -> None:
        for item in group:
            try:
                [result] = await self.model_thread.run_async(self.read, [item.asked])
            except BaseException as error:
                if isinstance(error, STOPPING):
                    raise
                if not item.future.done():
                    item.future.set_exception(_as_exception(error))
                continue
            self.batches += 1
            self.questions += 1
            if not item.future.done():
                item.future.set_result(result)


# What ends the batcher itself; any other failure of a read fails only its questions.
STOPPING = (asyncio.CancelledError, KeyboardInterrupt, SystemExit)


def _as_exception(error: BaseException) -> Exception:
    """A failed read as its questions' error: the error itself, or, for one that is no Exception (a panic in the
    tokenizers library is a BaseException), a RuntimeError around it, so that its route answers 500 like any other."""
    return error if isinstance(error, Exception) else RuntimeError(f"the reader failed: {error!r}")
