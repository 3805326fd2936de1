"""The shipped span reader, end to end over the bundled articles: every span it cites is exact."""

from collections.abc import Iterator

import pytest
import torch
from fastapi.testclient import TestClient
from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

from index.documents import BUNDLED_CORPUS
from service.answering.answers import Passage
from service.app import create_app
from service.reader import span_reader
from service.reader.span_reader import SpanReader, bf16_supported
from service.runtime import load_answerer
from service.settings import READER_MODEL_DIR, Settings

QUESTIONS = [
    "How much of Scale did Meta buy?",
    "Who founded Scale?",
    "When was Scale AI founded?",
    "How much was Meta in talks to invest?",
    "How many H100 chips does Meta have?",
    "What is the capital of France?",
]

TIED_LOGITS = 0.1
TEXT = "Paris is the capital of France. It lies on the Seine."
# How far int8 may move the best span's margin over the no-answer score (measured: up to about 0.5 logits).
INT8_MARGIN_DRIFT = 1.0

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(index_dir=tmp_path_factory.mktemp("index"), corpus=[BUNDLED_CORPUS])
    with TestClient(create_app(settings)) as client:
        yield client


def test_qa_no_answer_threshold_sets_how_readily_the_reader_abstains() -> None:
    calibrated = load_answerer(Settings(), warm_up=False)
    strict = load_answerer(Settings(no_answer_threshold=50.0), warm_up=False)
    lenient = load_answerer(Settings(no_answer_threshold=-50.0), warm_up=False, given_passages=True)
    passages = [Passage("d", "t", 0, len(TEXT), TEXT, 1.0)]

    assert calibrated.threshold == calibrated.reader.config.open_null_threshold
    assert (strict.threshold, lenient.threshold) == (50.0, -50.0)
    assert strict.answer("What is the capital of France?", passages).answer is None
    answered = lenient.answer("What is the capital of France?", passages).answer
    assert answered is not None and TEXT[answered.start : answered.end] == answered.text


def test_qa_reader_early_exit_false_reads_every_retrieved_passage() -> None:
    early = load_answerer(Settings(), warm_up=False)
    every = load_answerer(Settings(reader_early_exit=False), warm_up=False)
    told = load_answerer(Settings(reader_early_exit=False, no_answer_threshold=0.5), warm_up=False)

    assert early.exit_margin is not None and early.exit_margin >= early.threshold
    assert (every.exit_margin, every.threshold) == (None, early.threshold)
    assert (told.exit_margin, told.threshold) == (None, 0.5)


def test_the_shipped_reader_loads() -> None:
    assert (READER_MODEL_DIR / "model.safetensors").is_file()
    assert (READER_MODEL_DIR / "README.md").is_file(), "the model card ships with the weights"


def test_health_names_the_reader(client: TestClient) -> None:
    response = client.get("/health")

    assert response.status_code == 200, response.text
    assert response.json()["answerer"] == "reader"


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_cited_span_is_exact(client: TestClient, question: str) -> None:
    response = client.post("/ask", json={"question": question})

    assert response.status_code == 200, response.text
    body = response.json()
    answers = [body["answer"], *body["alternatives"]] if body["answer"] else []
    assert body["answer"] is not None or body["reason"]
    for answer in answers:
        text = client.get(f"/documents/{answer['document_id']}").json()["text"]
        assert text[answer["start"] : answer["end"]] == answer["text"]
        context = answer["context"]
        assert text[context["start"] : context["end"]] == context["text"]
        assert context["start"] <= answer["start"] < answer["end"] <= context["end"]
        assert 0.0 <= answer["score"] <= 1.0


# Questions of 224 and about 330 tokens, under the 1,000 characters allowed: read whole, the first left a window's
# passage less room than the stride (the tokenizer panicked, and the batcher stopped), the second none (a 500).
@pytest.mark.parametrize("first_year", [1895, 1840])
def test_a_question_too_long_for_a_window_is_read_by_its_first_tokens_and_the_service_goes_on(
    client: TestClient, first_year: int
) -> None:
    years = ", ".join(str(year) for year in range(first_year, 1995))
    question = f"Which of these years did Scale AI get founded in: {years}?"

    long = client.post("/ask", json={"question": question})
    after = client.post("/ask", json={"question": "When was Scale AI founded?"})

    assert long.status_code == 200, long.text
    assert after.status_code == 200, after.text
    assert after.json()["answer"]["text"] == "2016"


def test_the_reader_answers_a_plain_factoid(client: TestClient) -> None:
    # A check that the shipped weights are the trained ones, not a fresh head. The reader still misses several of the
    # issue's example questions (its card has the figures), which is why it is not the default answerer.
    body = client.post("/ask", json={"question": "When was Scale AI founded?"}).json()

    assert body["answer"] is not None, body["reason"]
    assert body["answer"]["text"] == "2016"


@pytest.mark.skipif(not bf16_supported(), reason="this CPU has no native bfloat16: the reader runs in float32")
def test_bf16_inference_makes_the_same_choices_as_float32() -> None:
    passages = [path.read_text(encoding="utf-8")[:1500] for path in sorted(BUNDLED_CORPUS.glob("*.txt"))]
    fp32, bf16 = SpanReader.from_dir(READER_MODEL_DIR, bf16=False), SpanReader.from_dir(READER_MODEL_DIR, bf16=True)
    # Serving loads bfloat16 weights; a float32 model (training's, calibrated as it trains) runs under autocast.
    autocast = SpanReader(fp32.model, fp32.tokenizer, fp32.config, bf16=True)
    assert next(bf16.model.parameters()).dtype == torch.bfloat16 and not bf16.autocast
    assert next(autocast.model.parameters()).dtype == torch.float32 and autocast.autocast

    for question in QUESTIONS:
        exact = fp32.read(question, passages).ranked()
        best = exact[0]
        # Spans whose float32 margins lie within TIED_LOGITS of the best are a tie that rounding may break either way
        # (on an AMD EPYC without AMX, "How many H100 chips…" has "$10 billion" and "$1 billion" 0.04 apart, both far
        # below the no-answer threshold); any other bf16 pick is a different choice.
        tied = {(span.passage, span.start, span.end) for span in exact if best.margin - span.margin < TIED_LOGITS}
        for reader in (bf16, autocast):
            best_fast = reader.read(question, passages).ranked()[0]
            assert (best_fast.passage, best_fast.start, best_fast.end) in tied, question
            assert abs(best.margin - best_fast.margin) < 0.5, question


def test_questions_read_together_in_passes_of_a_few_windows_get_what_each_gets_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Windows are grouped by length into passes of WINDOWS_PER_PASS; no grouping may change a question's spans."""
    texts = [path.read_text(encoding="utf-8") for path in sorted(BUNDLED_CORPUS.glob("*.txt"))]
    passages = [texts[0][:300], texts[1][:1500], texts[0][2000:2600], texts[1][:90]]  # 1 to 4 windows each
    reader = SpanReader.from_dir(READER_MODEL_DIR, bf16=False)
    alone = [reader.read(question, passages) for question in QUESTIONS]

    monkeypatch.setattr(span_reader, "WINDOWS_PER_PASS", 3)
    together = reader.read_batch([(question, passages) for question in QUESTIONS])

    for question, one, many in zip(QUESTIONS, alone, together, strict=True):
        assert [(s.passage, s.start, s.end) for s in many.spans] == [(s.passage, s.start, s.end) for s in one.spans]
        assert [s.score for s in many.spans] == pytest.approx([s.score for s in one.spans], abs=1e-3), question
        assert many.null_score == pytest.approx(one.null_score, abs=1e-3), question


def test_int8_inference_makes_the_same_choices_as_float32() -> None:
    passages = [path.read_text(encoding="utf-8")[:1500] for path in sorted(BUNDLED_CORPUS.glob("*.txt"))]
    fp32, int8 = SpanReader.from_dir(READER_MODEL_DIR, bf16=False), SpanReader.from_dir(READER_MODEL_DIR, int8=True)

    layer = int8.model.bert.encoder.layer[0]
    assert isinstance(layer.attention.self.query, DynamicLinear) and isinstance(
        layer.attention.output.dense, DynamicLinear
    )
    assert type(layer.intermediate.dense) is type(layer.output.dense) is type(int8.model.qa_outputs) is torch.nn.Linear
    threshold = fp32.config.open_null_threshold
    for question in QUESTIONS:
        exact, fast = fp32.read(question, passages).ranked(), int8.read(question, passages).ranked()
        best, best_fast = exact[0], fast[0]
        assert abs(best.margin - best_fast.margin) < INT8_MARGIN_DRIFT, question
        if best.margin <= threshold:  # float32 abstains: int8 must too, whichever span it ranks first below the bar
            assert best_fast.margin <= threshold, question
            continue
        tied = {(span.passage, span.start, span.end) for span in exact if best.margin - span.margin < TIED_LOGITS}
        assert (best_fast.passage, best_fast.start, best_fast.end) in tied, question


@pytest.mark.parametrize(
    ("precision", "bf16", "int8"),
    [("float32", False, False), ("bfloat16", True, False), ("auto", bf16_supported(), False), ("int8", False, True)],
)
def test_the_precision_setting_reaches_the_reader(precision: str, bf16: bool, int8: bool) -> None:
    answerer = load_answerer(Settings(reader_precision=precision), warm_up=False)

    assert (answerer.reader.bf16, answerer.reader.int8) == (bf16, int8)
    assert answerer.reader.precision == (precision if precision != "auto" else "bfloat16" if bf16 else "float32")


def test_int8_and_bfloat16_do_not_combine() -> None:
    reader = SpanReader.from_dir(READER_MODEL_DIR, bf16=False)
    with pytest.raises(ValueError, match="not both"):
        SpanReader(reader.model, reader.tokenizer, reader.config, bf16=True, int8=True)


def test_the_reader_abstains_by_its_own_threshold_when_the_articles_do_not_say(client: TestClient) -> None:
    """No rule about names: the reader's margin alone falls below the calibrated open threshold."""
    body = client.post("/ask", json={"question": "How much does Google pay Scale AI for data?"}).json()

    assert body["answer"] is None
    assert body["reason"] == "The articles don't say: no passage answers this question."


def test_without_a_top_k_setting_the_reader_reads_the_depth_it_was_calibrated_at(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "When was Scale AI founded?"}).json()

    assert len(body["passages"]) == SpanReader.from_dir(READER_MODEL_DIR).config.open_top_k == 5


def test_given_passages_the_reader_abstains_by_the_threshold_calibrated_on_given_paragraphs() -> None:
    settings = Settings()
    retrieved, given = load_answerer(settings, warm_up=False), load_answerer(settings, False, given_passages=True)
    config = retrieved.reader.config

    assert config.open_null_threshold is not None and config.open_null_threshold != config.null_threshold
    assert (retrieved.threshold, given.threshold) == (config.open_null_threshold, config.null_threshold)
    assert given.reader is not None and given.top_k == retrieved.top_k
