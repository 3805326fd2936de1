"""Scoring (gold rank, citation, summary figures) and the runner behind `qa eval`: sampling, filters, gates, runs."""

import json
import sys
import types
from pathlib import Path

import pytest

import eval.runner as runner
from eval.datasets import GOLD_SET, EvalQuestion, EvalSet, Reference, load_eval_set
from eval.runner import check_thresholds, load_minimums, only_articles, run_eval, sample
from eval.scoring import Record, gold_rank, score, summarize
from service.answering.answers import Answer, Context, Passage
from service.cli import main
from service.settings import Settings
from tests.fakes import FakeAnswerer

SQUAD_TINY = Path(__file__).parents[1] / "fixtures" / "squad_tiny.json"
SQUAD_FIGURES = {"exact_match", "f1", "has_ans_f1", "no_ans_accuracy", "p50_ms", "p95_ms"}


def passage(document_id: str, start: int, end: int) -> Passage:
    return Passage(document_id, "T", start, end, "x" * (end - start), score=1.0)


def answer(text: str, document_id: str, start: int) -> Answer:
    end = start + len(text)
    return Answer(text, document_id, "T", start, end, 0.9, Context(text, start, end))


def question(*references: Reference, paragraph_id: str | None = None) -> EvalQuestion:
    return EvalQuestion("q", "What?", tuple(references), paragraph_id=paragraph_id)


# --- gold_rank -------------------------------------------------------------------------------------------------------

GOLD = Reference("49%", "a", 50, 53)


@pytest.mark.parametrize(
    ("passages", "expected"),
    [
        ([passage("a", 40, 90)], 1),
        # Another document with the same offsets, a passage before the span, one holding only its end: then the hit.
        ([passage("b", 0, 100), passage("a", 0, 50), passage("a", 51, 100), passage("a", 45, 51)], 4),
        # The start is enough: a passage cut mid-answer still holds the answer's beginning.
        ([passage("a", 0, 40), passage("a", 30, 51), passage("a", 50, 90)], 2),
        ([passage("b", 40, 90), passage("a", 0, 50)], None),
        ([], None),
    ],
)
def test_gold_rank_is_the_first_passage_holding_a_gold_span_start(
    passages: list[Passage], expected: int | None
) -> None:
    assert gold_rank(question(GOLD), passages) == expected


def test_gold_rank_takes_whichever_reference_comes_first() -> None:
    later = Reference("a 49% stake", "c", 10, 21)

    assert gold_rank(question(GOLD, later), [passage("c", 0, 30), passage("a", 0, 100)]) == 1


def test_gold_rank_of_an_unanswerable_squad_question_is_its_paragraph() -> None:
    unanswerable = question(paragraph_id="p7")

    assert gold_rank(unanswerable, [passage("p3", 0, 100), passage("p7", 0, 100)]) == 2
    assert gold_rank(unanswerable, [passage("p3", 0, 100)]) is None
    # A gold-set unanswerable has no paragraph, so nothing can hold it.
    assert gold_rank(question(), [passage("p7", 0, 100)]) is None


def test_gold_rank_of_an_answerable_squad_question_needs_the_span_not_just_the_paragraph() -> None:
    answerable = question(Reference("1636", "p7", 22, 26), paragraph_id="p7")

    assert gold_rank(answerable, [passage("p7", 30, 90), passage("p7", 0, 30)]) == 2


# --- score -----------------------------------------------------------------------------------------------------------

REFERENCES = (
    Reference("Massachusetts Bay Colony", "h0", 73, 97),
    Reference("Great and General Court of the Massachusetts Bay Colony", "h0", 42, 97),
    Reference("Great and General Court of the Massachusetts Bay Colony", "h0", 42, 97),
)


def test_score_cites_the_right_document_and_span() -> None:
    found = answer("Massachusetts Bay Colony", "h0", 73)

    record = score(question(*REFERENCES, paragraph_id="h0"), "asked as", found, [passage("h0", 0, 280)], ms=12.5)

    assert record == Record(
        id="q",
        question="What?",
        asked="asked as",
        answerable=True,
        prediction="Massachusetts Bay Colony",
        document_id="h0",
        start=73,
        end=97,
        exact_match=100.0,
        f1=100.0,
        cited=True,
        gold_rank=1,
        latency_ms=12.5,
        references=["Great and General Court of the Massachusetts Bay Colony", "Massachusetts Bay Colony"],
    )
    assert record.to_json()["references"] == record.references


@pytest.mark.parametrize(
    ("found", "cited"),
    [
        (answer("General Court", "h0", 52), True),  # inside the long reference only
        (answer("Colony. It", "h0", 90), True),  # overlaps the end of both
        (answer("by vote of", "h0", 27), False),  # ends just before the long reference starts at 42
        (answer("It was", "h0", 99), False),  # starts after both end at 97
        (answer("Massachusetts Bay Colony", "h1", 73), False),  # the same words in another document
    ],
)
def test_score_cites_only_an_overlapping_span_of_the_right_document(found: Answer, cited: bool) -> None:
    record = score(question(*REFERENCES), "What?", found, [], ms=1.0)

    assert record.cited is cited


def test_score_of_the_same_words_elsewhere_is_right_but_uncited() -> None:
    record = score(question(*REFERENCES), "What?", answer("Massachusetts Bay Colony", "h1", 0), [], ms=1.0)

    assert (record.exact_match, record.f1, record.cited) == (100.0, 100.0, False)


def test_score_of_abstentions_and_answers_to_unanswerables() -> None:
    unanswerable, answerable = question(paragraph_id="h0"), question(*REFERENCES)

    abstained_right = score(unanswerable, "What?", None, [], ms=1.0)
    abstained_wrong = score(answerable, "What?", None, [], ms=1.0)
    answered_wrong = score(unanswerable, "What?", answer("1636", "h0", 22), [], ms=1.0)

    assert (abstained_right.exact_match, abstained_right.f1, abstained_right.cited) == (100.0, 100.0, False)
    assert (abstained_right.prediction, abstained_right.document_id, abstained_right.start) == (None, None, None)
    assert (abstained_wrong.exact_match, abstained_wrong.f1) == (0.0, 0.0)
    assert (answered_wrong.exact_match, answered_wrong.f1, answered_wrong.cited) == (0.0, 0.0, False)


# --- summarize -------------------------------------------------------------------------------------------------------


def record(
    record_id: str,
    answerable: bool,
    prediction: str | None,
    em: float,
    f1: float,
    cited: bool,
    rank: int | None,
    ms: float,
) -> Record:
    return Record(record_id, "What?", "What?", answerable, prediction, None, None, None, em, f1, cited, rank, ms, [])


RECORDS = [
    record("r1", True, "x", 100, 100, True, 1, 10),
    record("r2", True, "y", 0, 50, False, 3, 20),
    record("r3", True, None, 0, 0, False, 12, 30),  # ranked past 10: no recall, no reciprocal rank
    record("r4", True, None, 0, 0, False, 7, 40),
    record("r5", False, None, 100, 100, False, 2, 50),  # unanswerables' ranks stay out of recall and MRR
    record("r6", False, "w", 0, 0, False, None, 60),
    record("r7", False, None, 100, 100, False, 1, 200),
]
# Worked by hand from RECORDS: 4 answerable (r1-r4), 3 unanswerable (r5-r7), 4 abstentions (r3, r4, r5, r7).
READER_FIGURES = {
    "questions": 7,
    "has_ans_questions": 4,
    "no_ans_questions": 3,
    "exact_match": 42.86,  # 300 / 7
    "f1": 50.0,  # 350 / 7
    "has_ans_exact": 25.0,  # 100 / 4
    "has_ans_f1": 37.5,  # 150 / 4
    "no_ans_accuracy": 66.67,  # r5, r7 of 3
    "citation_accuracy": 25.0,  # r1 of 4
    "abstention_precision": 50.0,  # r5, r7 of the 4 abstentions
    "abstention_recall": 66.67,  # r5, r7 of the 3 unanswerables
    "p50_ms": 40.0,  # the middle of 7 sorted latencies
    "p95_ms": 158.0,  # position 6 * 0.95 = 5.7: 60 + 0.7 * (200 - 60)
}
RETRIEVAL_FIGURES = {
    "recall@1": 25.0,  # r1
    "recall@5": 50.0,  # r1, r2
    "recall@10": 75.0,  # r1, r2, r4
    "mrr@10": 0.369,  # (1 + 1/3 + 0 + 1/7) / 4 = 31/84 = 0.36905, to 4 places
}


def test_summarize_reader_mode() -> None:
    assert summarize(RECORDS, "reader") == READER_FIGURES


def test_summarize_open_mode_adds_recall_and_mrr_over_answerable_questions() -> None:
    assert summarize(RECORDS, "open") == READER_FIGURES | RETRIEVAL_FIGURES


def test_summarize_without_abstentions_or_records_leaves_figures_empty() -> None:
    answered = [r for r in RECORDS if r.prediction is not None]

    assert summarize(answered, "reader")["abstention_precision"] is None
    empty = {"questions": 0, "has_ans_questions": 0, "no_ans_questions": 0}
    assert summarize([], "open") == empty | dict.fromkeys(READER_FIGURES.keys() - empty.keys())


# --- sample and only_articles ----------------------------------------------------------------------------------------

TEN = [EvalQuestion(f"q{i}", "What?", ()) for i in range(10)]


@pytest.fixture
def training_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """only_articles imports the training module for its TEST_ARTICLES, and that module loads torch (seconds)."""
    training = types.SimpleNamespace(TEST_ARTICLES=("Harvard_University", "Genghis_Khan"))
    monkeypatch.setitem(sys.modules, "service.training.train", training)


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        (5, ["q0", "q2", "q4", "q6", "q8"]),
        (4, ["q0", "q2", "q5", "q7"]),  # every 2.5th
        (3, ["q0", "q3", "q6"]),
        (1, ["q0"]),
        (10, [f"q{i}" for i in range(10)]),
        (25, [f"q{i}" for i in range(10)]),
        (None, [f"q{i}" for i in range(10)]),
        (0, [f"q{i}" for i in range(10)]),
    ],
)
def test_sample_spreads_evenly(limit: int | None, expected: list[str]) -> None:
    assert [q.id for q in sample(TEN, limit)] == expected


def test_sample_returns_exactly_limit_distinct_questions() -> None:
    for limit in range(1, 11):
        ids = [q.id for q in sample(TEN, limit)]
        assert len(ids) == len(set(ids)) == limit


@pytest.mark.usefixtures("training_module")
def test_only_articles_keeps_their_questions_and_paragraphs() -> None:
    squad = load_eval_set(SQUAD_TINY)

    theory = only_articles(squad, "Computational_complexity_theory")

    assert theory.name == "squad_tiny[Computational_complexity_theory]"
    assert len(theory.questions) == 4
    assert {q.kind for q in theory.questions} == {"Computational_complexity_theory"}
    assert [d.id for d in theory.documents] == [
        "Computational-complexity-theory-p000",
        "Computational-complexity-theory-p001",
    ]
    both = only_articles(squad, " Harvard_University , Computational_complexity_theory,")
    assert both.questions == squad.questions
    assert both.documents == squad.documents


@pytest.mark.usefixtures("training_module")
def test_only_articles_held_out_names_the_reader_test_articles() -> None:
    held_out = only_articles(load_eval_set(SQUAD_TINY), "held-out")

    assert held_out.name == "squad_tiny[held-out]"
    assert {q.kind for q in held_out.questions} == {"Harvard_University"}
    assert [d.id for d in held_out.documents] == ["Harvard-University-p000", "Harvard-University-p001"]


@pytest.mark.usefixtures("training_module")
def test_only_articles_without_matches_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"no questions from articles \['Normans'\] in squad_tiny"):
        only_articles(load_eval_set(SQUAD_TINY), "Normans")


@pytest.mark.usefixtures("training_module")
def test_only_articles_refuses_the_gold_set() -> None:
    """--articles is SQuAD only: on the gold set, matching `kind` would drop every document and crash reader mode."""
    with pytest.raises(ValueError):
        only_articles(load_eval_set(GOLD_SET), "followup")


# --- check_thresholds ------------------------------------------------------------------------------------------------


@pytest.fixture
def thresholds(tmp_path: Path) -> Path:
    path = tmp_path / "thresholds.json"
    minimums = {
        "_comment": "committed minimums, per dataset:mode",
        "squad_tiny:reader": {"_why": "notes are skipped", "exact_match": 50, "f1": 40, "no_ans_accuracy": 10},
        "squad_tiny:open": {"recall@5": 100},
    }
    path.write_text(json.dumps(minimums), encoding="utf-8")
    return path


def test_check_thresholds_reports_each_miss(thresholds: Path) -> None:
    figures = {"dataset": "squad_tiny", "mode": "reader", "exact_match": 49.5, "f1": 40.0, "no_ans_accuracy": None}

    misses = check_thresholds(figures, load_minimums(thresholds, "squad_tiny:reader"))

    assert misses == ["exact_match 49.5 < 50", "no_ans_accuracy None < 10"]


def test_check_thresholds_passes_when_met(thresholds: Path) -> None:
    figures = {"dataset": "squad_tiny", "mode": "reader", "exact_match": 50.0, "f1": 75.0, "no_ans_accuracy": 100.0}

    assert check_thresholds(figures, load_minimums(thresholds, "squad_tiny:reader")) == []


def test_load_minimums_reads_only_its_own_dataset_and_mode_without_notes(thresholds: Path) -> None:
    assert load_minimums(thresholds, "squad_tiny:open") == {"recall@5": 100}
    assert load_minimums(thresholds, "squad_tiny:reader") == {"exact_match": 50, "f1": 40, "no_ans_accuracy": 10}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"squad_tiny:open": {"f1": 1}}, "has no thresholds for 'gold:reader' \\(it has \\['squad_tiny:open'\\]\\)"),
        ({"gold:reader": {"f1": "73"}}, "'gold:reader' must map figure names to numbers"),
        ({"gold:reader": [73]}, "'gold:reader' must map figure names to numbers"),
        ("{not json", "not valid JSON"),
    ],
)
def test_load_minimums_refuses_a_file_with_no_usable_section_for_the_run(
    tmp_path: Path, content: object, message: str
) -> None:
    path = tmp_path / "thresholds.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")

    with pytest.raises(ValueError, match=message):
        load_minimums(path, "gold:reader")


# --- run_eval and `qa eval` ------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def loaded_for(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The runner's own logic, without loading the reader (the reader itself is gated by `make test`'s eval runs); what
    it returns records each load's `given_passages`."""
    loads: list[bool] = []

    def load_answerer(settings: Settings, given_passages: bool) -> FakeAnswerer:
        loads.append(given_passages)
        return FakeAnswerer()

    monkeypatch.setattr(runner, "load_answerer", load_answerer)
    return loads


def test_run_eval_reader_mode_scores_every_question(loaded_for: list[bool]) -> None:
    squad = load_eval_set(SQUAD_TINY)

    figures, records = run_eval(squad, "reader", Settings())

    assert loaded_for == [True]  # the reader judged by the threshold calibrated on given paragraphs

    assert [r.id for r in records] == [q.id for q in squad.questions]
    assert figures.keys() >= SQUAD_FIGURES
    assert "recall@5" not in figures
    assert {k: figures[k] for k in ("dataset", "mode", "answerer", "questions", "no_ans_questions")} == {
        "dataset": "squad_tiny",
        "mode": "reader",
        "answerer": "fake",
        "questions": 9,
        "no_ans_questions": 1,
    }
    # Reader mode reads the question's own paragraph, so it is always the first (and only) passage.
    assert {r.gold_rank for r in records} == {1}
    assert all(r.asked == r.question for r in records)
    assert [r.answerable for r in records].count(False) == 1


def test_run_eval_limit_samples_the_questions() -> None:
    squad = load_eval_set(SQUAD_TINY)

    figures, records = run_eval(squad, "reader", Settings(), limit=3)

    assert [r.id for r in records] == [q.id for q in sample(squad.questions, 3)]
    assert figures["questions"] == 3


def test_run_eval_asks_followups_as_standalone_questions() -> None:
    gold = load_eval_set(GOLD_SET)
    followups = EvalSet("gold", [q for q in gold.questions if q.id == "c001"], gold.documents)

    _, [record] = run_eval(followups, "reader", Settings())

    assert record.question == "Which unit did he join?"
    assert record.asked != record.question


@pytest.mark.model
def test_run_eval_open_mode_ranks_passages() -> None:
    squad = load_eval_set(SQUAD_TINY)

    figures, records = run_eval(squad, "open", Settings())

    assert len(records) == len(squad.questions)
    assert figures.keys() >= SQUAD_FIGURES | {"recall@1", "recall@5", "recall@10", "mrr@10"}
    # Four one-chunk paragraphs: every one is among the first five passages.
    assert figures["recall@5"] == 100.0
    assert 0 < figures["mrr@10"] <= 1


def test_cli_eval_writes_figures_and_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "reports" / "out.json"

    code = main(["eval", "--dataset", str(SQUAD_TINY), "--mode", "reader", "--output", str(output)])

    assert code == 0, capsys.readouterr().err
    payload = json.loads(output.read_text(encoding="utf-8"))
    assert payload.keys() >= SQUAD_FIGURES
    assert (payload["dataset"], payload["mode"], payload["answerer"]) == ("squad_tiny", "reader", "fake")
    assert [r["id"] for r in payload["records"]] == [q.id for q in load_eval_set(SQUAD_TINY).questions]
    assert set(payload["records"][0]) == set(Record.__dataclass_fields__)
    assert "exact_match" in capsys.readouterr().out


def test_cli_eval_gate_fails_on_an_impossible_minimum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    thresholds = tmp_path / "thresholds.json"
    thresholds.write_text(json.dumps({"squad_tiny:reader": {"f1": 101}}), encoding="utf-8")

    code = main(["eval", "--dataset", str(SQUAD_TINY), "--mode", "reader", "--thresholds", str(thresholds)])

    assert code == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "eval gate failed" in err
    assert "f1" in err and "< 101" in err


def test_cli_eval_gate_passes_when_met(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    thresholds = tmp_path / "thresholds.json"
    thresholds.write_text(json.dumps({"squad_tiny:reader": {"f1": 0, "no_ans_accuracy": 0}}), encoding="utf-8")

    code = main(["eval", "--dataset", str(SQUAD_TINY), "--mode", "reader", "--thresholds", str(thresholds)])

    assert code == 0
    assert "eval gate passed" in capsys.readouterr().err


def test_cli_eval_refuses_thresholds_without_its_section_before_the_run(
    tmp_path: Path, loaded_for: list[bool], capsys: pytest.CaptureFixture[str]
) -> None:
    thresholds = tmp_path / "thresholds.json"
    thresholds.write_text(json.dumps({"squad_tiny:open": {"f1": 0}}), encoding="utf-8")

    code = main(["eval", "--dataset", str(SQUAD_TINY), "--mode", "reader", "--thresholds", str(thresholds)])

    assert code == 2
    assert "has no thresholds for 'squad_tiny:reader'" in " ".join(capsys.readouterr().err.split())
    assert loaded_for == []  # refused before the reader was loaded


def test_cli_eval_refuses_an_output_that_is_a_folder_before_the_run(
    tmp_path: Path, loaded_for: list[bool], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["eval", "--dataset", str(SQUAD_TINY), "--mode", "reader", "--output", str(tmp_path)])

    assert code == 2
    assert f"{tmp_path}: a folder; give --output a file name" in " ".join(capsys.readouterr().err.split())
    assert loaded_for == []


def test_cli_eval_of_a_missing_dataset_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["eval", "--dataset", str(tmp_path / "nope.json"), "--mode", "reader"])

    assert code == 2
    assert "no such dataset file" in " ".join(capsys.readouterr().err.split())


def test_cli_eval_refuses_an_output_it_cannot_write_before_the_run(
    tmp_path: Path, loaded_for: list[bool], capsys: pytest.CaptureFixture[str]
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    code = main(["eval", "--dataset", str(SQUAD_TINY), "--mode", "reader", "--output", str(blocked / "eval.json")])

    assert code == 2
    assert f"{blocked / 'eval.json'}: cannot write there" in " ".join(capsys.readouterr().err.split())
    assert loaded_for == []
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a-file"], "the probe leaves nothing behind"


@pytest.mark.parametrize(("name", "content"), [("empty.json", '{"data": []}'), ("empty.jsonl", "\n")])
def test_cli_eval_of_a_dataset_without_questions_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str
) -> None:
    (tmp_path / name).write_text(content, encoding="utf-8")
    code = main(["eval", "--dataset", str(tmp_path / name)])

    assert code == 2
    assert f"{tmp_path / name}: holds no questions" in " ".join(capsys.readouterr().err.split())
