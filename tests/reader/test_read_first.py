"""Open use reads a question's first passages alone and the rest only when those hold no answer (a scripted reader)."""

import pytest

from service.answering.answers import Passage
from service.reader.answerer import ReaderAnswerer
from service.reader.span_reader import PassageSpan, ReaderConfig, ReaderOutput
from service.training.calibration import NONE, OpenPrediction, calibrate_exit_margin

THRESHOLD = 0.0
EXIT_MARGIN = 1.0


class ScriptedReader:
    """Reads a passage "word=margin" as one span over `word` whose margin over its window's no-answer score is
    `margin`; remembers the passages of every pass."""

    def __init__(self, exit_margin: float | None = EXIT_MARGIN) -> None:
        self.config = ReaderConfig(
            null_threshold=THRESHOLD, open_null_threshold=THRESHOLD, open_exit_margin=exit_margin
        )
        self.passes: list[list[list[str]]] = []

    def read_batch(self, items: list[tuple[str, list[str]]]) -> list[ReaderOutput]:
        self.passes.append([texts for _, texts in items])
        outputs = []
        for _, texts in items:
            spans = []
            for index, text in enumerate(texts):
                word, margin = text.split("=")
                spans.append(PassageSpan(index, 0, len(word), float(margin) + 1.0, 1.0))
            outputs.append(ReaderOutput(spans, 1.0))
        return outputs


def document_of(texts: list[str]) -> tuple[str, list[Passage]]:
    """One document holding the passages one after another, and the passages in its offsets."""
    document = " ".join(texts)
    passages, start = [], 0
    for rank, text in enumerate(texts):
        passages.append(Passage("doc", "Doc", start, start + len(text), text, score=1.0 / (rank + 1)))
        start += len(text) + 1
    return document, passages


def answerer(
    exit_margin: float | None = EXIT_MARGIN, threshold: float | None = None
) -> tuple[ReaderAnswerer, ScriptedReader]:
    reader = ScriptedReader(exit_margin)
    return ReaderAnswerer(reader, threshold), reader  # type: ignore[arg-type]


def test_a_span_over_the_threshold_in_the_first_passages_is_answered_without_reading_the_rest() -> None:
    reader_answerer, reader = answerer()
    document, passages = document_of(["alpha=-1", "beta=2", "gamma=0.5", "delta=9", "epsilon=-3"])

    result = reader_answerer.answer("q?", passages)

    assert reader.passes == [[["alpha=-1", "beta=2"]]]
    assert result.answer is not None and result.answer.text == "beta"
    assert document[result.answer.start : result.answer.end] == "beta"


def test_without_one_the_other_passages_are_read_and_cited_at_their_own_offsets() -> None:
    reader_answerer, reader = answerer()
    document, passages = document_of(["alpha=-1", "beta=0.8", "gamma=0.5", "delta=3", "epsilon=-3"])

    result = reader_answerer.answer("q?", passages)

    assert reader.passes == [[["alpha=-1", "beta=0.8"]], [["gamma=0.5", "delta=3", "epsilon=-3"]]]
    assert result.answer is not None and result.answer.text == "delta"
    assert document[result.answer.start : result.answer.end] == "delta"
    assert [a.text for a in result.alternatives] == ["beta", "gamma"]
    for answer in result.alternatives:
        assert document[answer.start : answer.end] == answer.text


def test_it_abstains_exactly_when_no_passage_has_a_span_over_the_threshold() -> None:
    reader_answerer, reader = answerer()
    _, passages = document_of(["alpha=-1", "beta=-2", "gamma=-0.5", "delta=0", "epsilon=-3"])

    result = reader_answerer.answer("q?", passages)

    assert len(reader.passes) == 2
    assert result.answer is None and result.reason


def test_questions_asked_together_read_their_other_passages_in_one_second_pass() -> None:
    reader_answerer, reader = answerer()
    _, answered = document_of(["a=5", "b=1", "c=9"])
    _, unanswered = document_of(["d=-1", "e=-1", "f=2", "g=1"])
    _, short = document_of(["h=-4"])

    results = reader_answerer.answer_many([("one?", answered), ("two?", unanswered), ("three?", short)])

    assert reader.passes == [[["a=5", "b=1"], ["d=-1", "e=-1"], ["h=-4"]], [["f=2", "g=1"]]]
    assert [r.answer.text if r.answer else None for r in results] == ["a", "f", None]


def test_a_reader_calibrated_without_an_exit_margin_reads_every_passage() -> None:
    reader_answerer, reader = answerer(exit_margin=None)
    _, passages = document_of(["alpha=4", "beta=2", "gamma=0.5", "delta=9"])

    result = reader_answerer.answer("q?", passages)

    assert len(reader.passes) == 2
    assert result.answer is not None and result.answer.text == "delta"


def test_the_exit_margin_is_never_below_a_no_answer_threshold_set_higher() -> None:
    reader_answerer, reader = answerer(threshold=5.0)
    _, passages = document_of(["alpha=4", "beta=2", "gamma=6", "delta=9"])

    result = reader_answerer.answer("q?", passages)

    assert reader_answerer.exit_margin == 5.0
    assert len(reader.passes) == 2
    assert result.answer is not None and result.answer.text == "delta"


def test_given_passages_are_all_read_whatever_their_order() -> None:
    reader_answerer, reader = answerer()
    _, passages = document_of(["alpha=4", "beta=2", "gamma=0.5", "delta=9"])

    result = reader_answerer.for_given_passages().answer("q?", passages)

    assert len(reader.passes) == 2
    assert result.answer is not None and result.answer.text == "delta"


def test_without_an_exit_margin_every_passage_is_read_and_ranked_together() -> None:
    reader_answerer, reader = answerer()
    _, passages = document_of(["alpha=4", "beta=2", "gamma=0.5", "delta=9"])

    ranked = reader_answerer.ranked_spans("q?", passages)

    assert [span.passage for span in ranked] == [3, 0, 1, 2]
    assert len(reader.passes) == 2


@pytest.mark.parametrize(
    ("threshold", "exit_margin", "expected"),
    [
        (-5.0, -5.0, ("first", 9.0)),
        (1.0, 1.0, ("first", 9.0)),
        (1.0, 3.0, ("best", 9.0)),
        (2.0, 1.0, ("best", 9.0)),
        (0.0, None, ("best", 9.0)),
    ],
)
def test_calibration_predicts_what_the_answerer_answers_at_each_threshold(
    threshold: float, exit_margin: float | None, expected: tuple[str, float]
) -> None:
    prediction = OpenPrediction(first=("first", 2.0), best=("best", 9.0))

    assert prediction.at(threshold, exit_margin) == expected


def test_a_question_without_spans_predicts_an_abstention_at_any_threshold() -> None:
    assert OpenPrediction(NONE, NONE).at(-1e9, -1e9) == NONE


def test_the_exit_margin_is_the_smallest_that_keeps_the_agreement() -> None:
    # 100 questions: 96 whose first passages hold their best span; 4 whose best span lies further, with first-passage
    # margins 1, 2, 3 and 4. Exiting over 2 changes two answers (3 and 4): 98% agree; over 1, three: 97%.
    same = [OpenPrediction(("a", 5.0), ("a", 5.0)) for _ in range(96)]
    later = [OpenPrediction(("first", float(m)), ("later", 8.0)) for m in (1, 2, 3, 4)]

    assert calibrate_exit_margin(same + later, threshold=0.0) == 1.0
    assert calibrate_exit_margin(same + later[:1] * 4, threshold=0.0) == 1.0
    assert calibrate_exit_margin(same[:90] + later * 2 + later[:2], threshold=0.0) == 3.0
