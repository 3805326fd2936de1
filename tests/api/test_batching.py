"""Questions asked together are answered together: one pipeline pass per batch, off the event loop, bounded."""

import asyncio
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from index.builder import IndexBuilder
from index.chunking import ChunkingSettings
from index.documents import Document
from index.search import HybridRetriever
from index.store import IndexStore
from service.answering.answers import AnswerResult
from service.answering.pipeline import Asked, AskResult, QAPipeline, ask_together
from service.api.batching import QuestionBatcher
from service.api.errors import Overloaded
from service.app import create_app
from service.settings import Settings
from tests.fakes import FakeAnswerer, FakeEmbedder


class SlowReading:
    """A batcher's `read`: answers each question with its own text after `delay` seconds a batch, recording the
    batches' questions, the pipelines they were asked of and the thread they were read on."""

    def __init__(self, delay: float = 0.05, fail_on: str | None = None, failure: BaseException | None = None) -> None:
        self.delay = delay
        self.fail_on = fail_on
        self.failure = failure or RuntimeError("the model failed")
        self.batches: list[list[str]] = []
        self.pipelines: list[list[object]] = []
        self.threads: set[str] = set()
        self.release = threading.Event()
        self.release.set()

    def __call__(self, asked: Sequence[Asked]) -> list[AskResult]:
        self.release.wait(5)
        self.threads.add(threading.current_thread().name)
        self.batches.append([question for _, question, _ in asked])
        self.pipelines.append([pipeline for pipeline, _, _ in asked])
        time.sleep(self.delay)
        if self.fail_on in self.batches[-1]:
            raise self.failure
        return [AskResult(question, AnswerResult(None, [], question), [], 1.0) for _, question, _ in asked]


async def asked(batcher: QuestionBatcher, questions: list[str], pipeline: object = None) -> list:
    return await asyncio.gather(*(batcher.ask(pipeline, q) for q in questions), return_exceptions=True)  # type: ignore[arg-type]


def run(coroutine):
    return asyncio.run(coroutine)


def test_questions_asked_together_share_a_batch_and_each_gets_its_own_answer() -> None:
    async def scenario() -> tuple[list, SlowReading]:
        reading = SlowReading()
        batcher = QuestionBatcher(window_ms=5, max_batch=8, read=reading)
        await batcher.start()
        try:
            return await asked(batcher, [f"q{i}" for i in range(20)]), reading
        finally:
            await batcher.stop()

    results, reading = run(scenario())

    assert [r.result.reason for r in results] == [f"q{i}" for i in range(20)]
    assert sorted(q for batch in reading.batches for q in batch) == sorted(f"q{i}" for i in range(20))
    assert len(reading.batches) <= 4 and max(len(b) for b in reading.batches) == 8  # not 20 passes of one
    assert reading.threads == {"qa-model_0"}, "the model runs on its one thread, never on the event loop"
    assert all(r.took_ms >= 50 for r in results), "took_ms counts from arrival, the batch's own time included"


def test_the_event_loop_stays_free_while_a_batch_is_read() -> None:
    async def scenario() -> float:
        batcher = QuestionBatcher(read=SlowReading(delay=0.3))
        await batcher.start()
        try:
            pending = asyncio.ensure_future(batcher.ask(None, "slow"))  # type: ignore[arg-type]
            await asyncio.sleep(0.01)
            started = time.perf_counter()
            await asyncio.sleep(0.01)  # the loop answers this at once although the model is busy
            ticked = time.perf_counter() - started
            await pending
            return ticked
        finally:
            await batcher.stop()

    assert run(scenario()) < 0.15


@pytest.mark.parametrize(("queue", "said"), [(2, "2 questions are waiting"), (1, "1 question is waiting")])
def test_a_full_queue_refuses_at_once_with_retry_after(queue: int, said: str) -> None:
    async def scenario() -> list:
        reading = SlowReading()
        reading.release.clear()  # the first batch blocks: the rest queue up
        batcher = QuestionBatcher(window_ms=0, max_batch=1, max_queue=queue, read=reading)
        await batcher.start()
        try:
            first = asyncio.ensure_future(batcher.ask(None, "first"))  # type: ignore[arg-type]
            await asyncio.sleep(0.05)
            waiting = [asyncio.ensure_future(batcher.ask(None, f"w{i}")) for i in range(queue)]  # type: ignore[arg-type]
            await asyncio.sleep(0.01)
            refused = await asked(batcher, ["one too many"])
            reading.release.set()
            return [await first, *(await asyncio.gather(*waiting)), *refused]
        finally:
            await batcher.stop()

    *answered, refused = run(scenario())

    assert [r.result.reason for r in answered] == ["first", *(f"w{i}" for i in range(queue))]
    assert isinstance(refused, Overloaded) and refused.status_code == 503
    assert refused.headers == {"Retry-After": "1"} and said in refused.detail


def test_a_question_that_fails_fails_alone_and_the_others_of_its_batch_are_answered() -> None:
    async def scenario() -> tuple[list, list, SlowReading]:
        reading = SlowReading(fail_on="bad")
        batcher = QuestionBatcher(window_ms=20, read=reading)
        await batcher.start()
        try:
            together = await asked(batcher, ["bad", "good"])
            return together, await asked(batcher, ["later"]), reading
        finally:
            await batcher.stop()

    (bad, good), [later], reading = run(scenario())

    assert isinstance(bad, RuntimeError)
    assert good.result.reason == "good" and later.result.reason == "later"
    assert reading.batches == [
        ["bad", "good"],
        ["bad"],
        ["good"],
        ["later"],
    ]  # the failed batch asked again, one by one


class Panic(BaseException):
    """What the tokenizers library raises when it panics (pyo3's PanicException is a BaseException)."""


@pytest.mark.parametrize("together", [["bad"], ["bad", "good"]])
def test_a_read_that_raises_a_base_exception_fails_its_question_and_the_batcher_goes_on(together: list[str]) -> None:
    async def scenario() -> tuple[list, list]:
        batcher = QuestionBatcher(window_ms=20, read=SlowReading(fail_on="bad", failure=Panic("stride too large")))
        await batcher.start()
        try:
            # Bounded waits: a batcher that died with the panic would leave these questions waiting for ever.
            return await asyncio.wait_for(asked(batcher, together), 5), await asyncio.wait_for(
                asked(batcher, ["later"]), 5
            )
        finally:
            await batcher.stop()

    answers, [later] = run(scenario())

    assert isinstance(answers[0], RuntimeError) and "stride too large" in str(answers[0])
    assert all(answer.result.reason == "good" for answer in answers[1:])
    assert later.result.reason == "later"


def test_questions_asked_of_several_index_generations_are_read_in_one_pass() -> None:
    """While documents are written a batch holds questions of several generations: one read takes them all."""
    old, new = object(), object()

    async def scenario() -> SlowReading:
        reading = SlowReading()
        batcher = QuestionBatcher(window_ms=20, read=reading)
        await batcher.start()
        try:
            await asyncio.gather(*(batcher.ask(p, q) for p, q in [(old, "a"), (new, "b"), (old, "c")]))  # type: ignore[arg-type]
            return reading
        finally:
            await batcher.stop()

    reading = run(scenario())

    assert reading.batches == [["a", "b", "c"]]
    assert reading.pipelines == [[old, new, old]]


def test_each_question_is_searched_in_its_own_generation_and_all_are_read_in_one_reader_pass(
    bundled_index_dir: Path, tmp_path: Path
) -> None:
    old_data = IndexStore(bundled_index_dir).load()
    store = IndexStore(tmp_path / "index")
    written = Document("written", "Written", "note.txt", "A short note: Acme sold 1234 anvils to Wile E. Coyote.")
    IndexBuilder(store, FakeEmbedder(), ChunkingSettings()).build_documents([*old_data.documents.values(), written])
    new_data = store.load()
    answerer = FakeAnswerer()
    reads: list[list[str]] = []
    original = answerer.answer_many
    answerer.answer_many = lambda items: reads.append([q for q, _ in items]) or original(items)  # type: ignore[method-assign]
    old, new = (
        QAPipeline(HybridRetriever(d, FakeEmbedder()), answerer, d.documents, top_k=3) for d in (old_data, new_data)
    )
    anvils, chips = "How many anvils did Acme sell?", "How many H100 chips does Meta have?"
    questions: list[Asked] = [(old, anvils, None), (new, anvils, None), (old, chips, 2)]

    together = ask_together(questions)

    assert reads == [[anvils, anvils, chips]]  # one reader pass for both generations
    assert "written" not in {p.document_id for p in together[0].passages}
    assert together[1].passages[0].document_id == "written" and together[1].result.answer.text == "1234"
    assert len(together[2].passages) == 2
    alone = [pipeline.ask(question, top_k) for pipeline, question, top_k in questions]
    assert [(r.question, r.result, r.passages) for r in together] == [(r.question, r.result, r.passages) for r in alone]


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
