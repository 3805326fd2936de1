"""Question batches and the embedding of written documents take turns at the model instead of sharing the cores."""

import asyncio
import threading
import time

import numpy as np

from service.api.batching import QuestionBatcher
from service.api.model_turn import TurnTakingEmbedder
from tests.api.test_batching import SlowPipeline, asked
from tests.fakes import FakeEmbedder


class TurnCheckingEmbedder(FakeEmbedder):
    """A fake embedder that records, per call, how many texts it got and whether `turn` was held meanwhile."""

    def __init__(self, turn: threading.Lock) -> None:
        super().__init__()
        self.turn = turn
        self.calls: list[tuple[int, bool]] = []

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        self.calls.append((len(texts), self.turn.locked()))
        return super().encode(texts, progress)


def test_a_long_upload_is_embedded_in_slices_each_under_the_turn_and_gives_the_same_vectors() -> None:
    turn = threading.Lock()
    inner = TurnCheckingEmbedder(turn)
    texts = [f"chunk {i} about Scale AI and Meta" for i in range(70)]

    vectors = TurnTakingEmbedder(inner, turn, slice_texts=32).encode(texts)

    assert inner.calls == [(32, True), (32, True), (6, True)]
    np.testing.assert_array_equal(vectors, FakeEmbedder().encode(texts))
    assert not turn.locked()
    assert TurnTakingEmbedder(inner, turn).model_id == inner.model_id


def test_a_write_waits_for_the_batch_being_read_and_the_batch_for_the_slice_being_embedded() -> None:
    """While a batch is read the write's embedding may not start; it starts as soon as the batch ends."""
    events: list[str] = []

    class RecordingPipeline(SlowPipeline):
        def ask_many(self, questions):
            events.append("batch starts")
            answers = super().ask_many(questions)
            events.append("batch ends")
            return answers

    async def scenario() -> None:
        batcher = QuestionBatcher(window_ms=1, max_batch=4)
        pipeline = RecordingPipeline(delay=0.3)
        embedder = TurnTakingEmbedder(FakeEmbedder(), batcher.turn)

        def write() -> None:
            time.sleep(0.1)  # the batch is being read by now
            embedder.encode(["a written document"])
            events.append("write embedded")

        await batcher.start()
        try:
            writer = asyncio.get_running_loop().run_in_executor(None, write)
            await asked(batcher, pipeline, ["q1", "q2"])
            await writer
        finally:
            await batcher.stop()

    asyncio.run(scenario())
    assert events == ["batch starts", "batch ends", "write embedded"]
