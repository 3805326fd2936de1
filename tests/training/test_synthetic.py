import random

from eval.squad import SquadQuestion
from service.training.synthetic import cloze_items, cloze_questions

PARAGRAPH = (
    "Harvard was founded in 1636 by vote of the Great and General Court of the Massachusetts Bay Colony. "
    "Its first benefactor was the clergyman John Harvard, who left the school his library of some 400 books. "
    "Today the university enrols about 6,700 undergraduate students."
)


def test_cloze_items_ask_for_a_typed_span_with_the_right_wh_word() -> None:
    sentence = "Harvard was founded in 1636 by vote of the Great and General Court of the Massachusetts Bay Colony."
    items = {sentence[a:b]: question for question, a, b in cloze_items(sentence)}

    assert "1636" in items
    assert items["1636"].startswith("When ")
    assert "1636" not in items["1636"]
    assert items["1636"].endswith("?")


def test_cloze_items_skip_spans_glued_to_a_longer_name() -> None:
    # "Court" alone, or "Massachusetts" without "Bay Colony", would teach wrong answer boundaries.
    sentence = "Harvard was founded in 1636 by vote of the Great and General Court of the Massachusetts Bay Colony."
    answers = {sentence[a:b] for _, a, b in cloze_items(sentence)}

    assert not answers & {"Court", "General Court", "Massachusetts", "Bay Colony"}


def test_cloze_questions_are_exact_spans_of_their_paragraph() -> None:
    question = SquadQuestion("q1", "Harvard", 0, PARAGRAPH, "When was Harvard founded?", ("1636",), (23,))

    made = cloze_questions([question, question], per_paragraph=10, rng=random.Random(0))

    assert made, "the paragraph has dates, counts and names to ask about"
    assert len({q.id for q in made}) == len(made)
    for item in made:
        assert item.context == PARAGRAPH
        assert PARAGRAPH[item.answer_starts[0] : item.answer_starts[0] + len(item.answers[0])] == item.answers[0]
        assert item.answers[0] not in item.question.split("?")[0].split()
    assert len(cloze_questions([question], per_paragraph=1, rng=random.Random(0))) == 1
