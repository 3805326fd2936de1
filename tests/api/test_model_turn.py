"""The model thread: question batches and the embedding of written documents run on it in turns, never side by side."""

import asyncio
import threading
import time

import numpy as np
import pytest

from service.api.batching import QuestionBatcher
from service.api.model_turn import ModelThread, TurnTakingEmbedder
from tests.api.test_batching import SlowReading, asked
from tests.fakes import FakeEmbedder


class ThreadRecordingEmbedder(FakeEmbedder):
    """A fake embedder that records, per call, how many texts it got and on which thread."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[int, threading.Thread]] = []

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        self.calls.append((len(texts), threading.current_thread()))
        return super().encode(texts, progress)


def test_work_runs_on_one_thread_in_order_and_inline_when_already_on_it() -> None:
    model_thread = ModelThread()
    try:
        threads = {model_thread.run(threading.current_thread) for _ in range(3)}
        assert len(threads) == 1 and threading.current_thread() not in threads
        # Work that queues more work from the model thread itself runs it inline instead of waiting on itself forever.
        assert model_thread.run(lambda: model_thread.run(threading.current_thread)) in threads
        assert not model_thread.on_it()
        with pytest.raises(ZeroDivisionError):
            model_thread.run(lambda: 1 / 0)
    finally:
        model_thread.shutdown()


def test_a_long_upload_is_embedded_on_the_model_thread_in_slices_and_gives_the_same_vectors() -> None:
    model_thread = ModelThread()
    inner = ThreadRecordingEmbedder()
    texts = [f"chunk {i} about Scale AI and Meta" for i in range(70)]
    try:
        vectors = TurnTakingEmbedder(inner, model_thread, slice_texts=32).encode(texts)
        on_model_thread = model_thread.run(threading.current_thread)
    finally:
        model_thread.shutdown()

    assert [(count, thread is on_model_thread) for count, thread in inner.calls] == [(32, True), (32, True), (6, True)]
    np.testing.assert_array_equal(vectors, FakeEmbedder().encode(texts))
    assert TurnTakingEmbedder(inner, model_thread).model_id == inner.model_id


def test_a_write_waits_for_the_batch_being_read_and_batches_read_on_the_shared_thread() -> None:
    """While a batch is read the write's embedding may not start; it starts as soon as the batch ends."""
    events: list[str] = []
    readers: list[threading.Thread] = []

    class RecordingReading(SlowReading):
        def __call__(self, asked):
            readers.append(threading.current_thread())
            events.append("batch starts")
            answers = super().__call__(asked)
            events.append("batch ends")
            return answers

    model_thread = ModelThread()
    embedder = TurnTakingEmbedder(ThreadRecordingEmbedder(), model_thread)

    async def scenario() -> None:
        batcher = QuestionBatcher(window_ms=1, max_batch=4, model_thread=model_thread, read=RecordingReading(delay=0.3))

        def write() -> None:
            time.sleep(0.1)  # the batch is being read by now
            embedder.encode(["a written document"])
            events.append("write embedded")

        await batcher.start()
        try:
            writer = asyncio.get_running_loop().run_in_executor(None, write)
            await asked(batcher, ["q1", "q2"])
            await writer
        finally:
            await batcher.stop()

    try:
        asyncio.run(scenario())
        assert model_thread.run(threading.current_thread) is readers[0]  # a shared thread outlives the batcher
    finally:
        model_thread.shutdown()
    assert events == ["batch starts", "batch ends", "write embedded"]
    assert embedder.embedder.calls[0][1] is readers[0]
