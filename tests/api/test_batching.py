"""Questions asked together are answered together: one pipeline pass per batch, off the event loop, bounded."""

import asyncio
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from index.search import HybridRetriever
from index.store import IndexStore
from service.answering.answers import AnswerResult
from service.answering.pipeline import AskResult, QAPipeline
from service.api.batching import QuestionBatcher
from service.api.errors import Overloaded
from service.app import create_app
from service.settings import Settings
from tests.fakes import FakeAnswerer, FakeEmbedder


class SlowPipeline:
    """Answers each question with its own text after `delay` seconds a batch, recording the batches and their thread."""

    def __init__(self, delay: float = 0.05, fail_on: str | None = None) -> None:
        self.delay = delay
        self.fail_on = fail_on
        self.batches: list[list[str]] = []
        self.threads: set[str] = set()
        self.release = threading.Event()
        self.release.set()

    def ask_many(self, questions: list[tuple[str, int | None]]) -> list[AskResult]:
        self.release.wait(5)
        self.threads.add(threading.current_thread().name)
        self.batches.append([question for question, _ in questions])
        time.sleep(self.delay)
        if self.fail_on in self.batches[-1]:
            raise RuntimeError("the model failed")
        return [AskResult(question, AnswerResult(None, [], question), [], 1.0) for question, _ in questions]


async def asked(batcher: QuestionBatcher, pipeline, questions: list[str]) -> list:
    return await asyncio.gather(*(batcher.ask(pipeline, q) for q in questions), return_exceptions=True)


def run(coroutine):
    return asyncio.run(coroutine)


def test_questions_asked_together_share_a_batch_and_each_gets_its_own_answer() -> None:
    async def scenario() -> tuple[list, SlowPipeline]:
        batcher, pipeline = QuestionBatcher(window_ms=5, max_batch=8), SlowPipeline()
        await batcher.start()
        try:
            return await asked(batcher, pipeline, [f"q{i}" for i in range(20)]), pipeline
        finally:
            await batcher.stop()

    results, pipeline = run(scenario())

    assert [r.result.reason for r in results] == [f"q{i}" for i in range(20)]
    assert sorted(q for batch in pipeline.batches for q in batch) == sorted(f"q{i}" for i in range(20))
    assert len(pipeline.batches) <= 4 and max(len(b) for b in pipeline.batches) == 8  # not 20 passes of one
    assert pipeline.threads == {"qa-model_0"}, "the model runs on its one thread, never on the event loop"
    assert all(r.took_ms >= 50 for r in results), "took_ms counts from arrival, the batch's own time included"


def test_the_event_loop_stays_free_while_a_batch_is_read() -> None:
    async def scenario() -> float:
        batcher, pipeline = QuestionBatcher(), SlowPipeline(delay=0.3)
        await batcher.start()
        try:
            pending = asyncio.ensure_future(batcher.ask(pipeline, "slow"))
            await asyncio.sleep(0.01)
            started = time.perf_counter()
            await asyncio.sleep(0.01)  # the loop answers this at once although the model is busy
            ticked = time.perf_counter() - started
            await pending
            return ticked
        finally:
            await batcher.stop()

    assert run(scenario()) < 0.15


def test_a_full_queue_refuses_at_once_with_retry_after() -> None:
    async def scenario() -> list:
        batcher, pipeline = QuestionBatcher(window_ms=0, max_batch=1, max_queue=2), SlowPipeline()
        pipeline.release.clear()  # the first batch blocks: the rest queue up
        await batcher.start()
        try:
            first = asyncio.ensure_future(batcher.ask(pipeline, "first"))
            await asyncio.sleep(0.05)
            waiting = [asyncio.ensure_future(batcher.ask(pipeline, f"w{i}")) for i in range(2)]
            await asyncio.sleep(0.01)
            refused = await asked(batcher, pipeline, ["one too many"])
            pipeline.release.set()
            return [await first, *(await asyncio.gather(*waiting)), *refused]
        finally:
            await batcher.stop()

    *answered, refused = run(scenario())

    assert [r.result.reason for r in answered] == ["first", "w0", "w1"]
    assert isinstance(refused, Overloaded) and refused.status_code == 503
    assert refused.headers == {"Retry-After": "1"} and "2 questions are waiting" in refused.detail


def test_a_question_that_fails_fails_alone_and_the_others_of_its_batch_are_answered() -> None:
    async def scenario() -> tuple[list, list, SlowPipeline]:
        batcher, pipeline = QuestionBatcher(window_ms=20), SlowPipeline(fail_on="bad")
        await batcher.start()
        try:
            together = await asked(batcher, pipeline, ["bad", "good"])
            return together, await asked(batcher, pipeline, ["later"]), pipeline
        finally:
            await batcher.stop()

    (bad, good), [later], pipeline = run(scenario())

    assert isinstance(bad, RuntimeError)
    assert good.result.reason == "good" and later.result.reason == "later"
    assert pipeline.batches == [
        ["bad", "good"],
        ["bad"],
        ["good"],
        ["later"],
    ]  # the failed batch asked again, one by one


def test_questions_for_another_index_generation_are_read_in_their_own_pass() -> None:
    async def scenario() -> tuple[SlowPipeline, SlowPipeline]:
        batcher, old, new = QuestionBatcher(window_ms=20), SlowPipeline(), SlowPipeline()
        await batcher.start()
        try:
            await asyncio.gather(batcher.ask(old, "a"), batcher.ask(new, "b"), batcher.ask(old, "c"))
            return old, new
        finally:
            await batcher.stop()

    old, new = run(scenario())

    assert old.batches == [["a", "c"]] and new.batches == [["b"]]


def test_a_pipeline_answers_many_questions_as_it_answers_each(bundled_index_dir: Path) -> None:
    data = IndexStore(bundled_index_dir).load()
    pipeline = QAPipeline(HybridRetriever(data, FakeEmbedder()), FakeAnswerer(), data.documents, top_k=4)
    questions = [("How many H100 chips does Meta have?", None), ("When was Scale founded?", 2), ("zzz", None)]

    together = pipeline.ask_many(questions)

    alone = [pipeline.ask(question, top_k) for question, top_k in questions]
    assert [(r.question, r.result, r.passages) for r in together] == [(r.question, r.result, r.passages) for r in alone]
    assert [len(r.passages) for r in together] == [4, 2, 4]


def test_concurrent_http_questions_are_batched(bundled_index_dir: Path) -> None:
    data = IndexStore(bundled_index_dir).load()
    answerer = FakeAnswerer()
    batches: list[int] = []
    original = answerer.answer_many
    answerer.answer_many = lambda items: batches.append(len(items)) or original(items)  # type: ignore[method-assign]
    pipeline = QAPipeline(HybridRetriever(data, FakeEmbedder()), answerer, data.documents, top_k=3)
    settings = Settings(batch_window_ms=50)
    with TestClient(create_app(settings, pipeline=pipeline)) as client:
        threads = [
            threading.Thread(target=lambda: client.post("/ask", json={"question": "How many chips?"})) for _ in range(6)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        alone = client.post("/ask", json={"question": "How many chips?"})

    assert alone.status_code == 200, alone.text
    assert sum(batches) == 7 and len(batches) < 7


@pytest.mark.model
def test_the_reader_answers_a_batch_as_it_answers_each_question() -> None:
    from service.runtime import load_answerer

    data_dir = Path(__file__).parents[2] / "index" / "corpus"
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(data_dir.glob("*.txt"))}
    from service.answering.answers import Passage

    passages = [Passage(name, name, 0, min(len(text), 1200), text[:1200], 1.0) for name, text in texts.items()]
    questions = ["How much of Scale did Meta buy?", "When was Scale AI founded?", "Who is the CEO of Google?"]
    answerer = load_answerer(Settings())

    together = answerer.answer_many([(q, passages) for q in questions])

    alone = [answerer.answer(q, passages) for q in questions]
    assert [r.reason for r in together] == [r.reason for r in alone]
    assert [(r.answer.start, r.answer.end) if r.answer else None for r in together] == [
        (r.answer.start, r.answer.end) if r.answer else None for r in alone
    ]
