from service.answering.answers import Passage
from service.answering.evidence import unmentioned_names

PASSAGES = [
    Passage("doc", "Doc", 0, 60, "Meta took a 49% stake in Scale AI and hired its founder.", 1.0),
    Passage("doc", "Doc", 60, 120, "Meta has about 350,000 Nvidia H100 chips.", 0.5),
]


def test_names_and_numbers_no_passage_mentions_are_reported() -> None:
    assert unmentioned_names("How much does Google pay Scale AI?", PASSAGES) == ["Google"]
    assert unmentioned_names("Did Meta buy 60% of Scale in 2023?", PASSAGES) == ["60%", "2023"]


def test_questions_whose_names_all_appear_have_none_missing() -> None:
    assert unmentioned_names("How many H100 chips does Meta have?", PASSAGES) == []
    assert unmentioned_names("who founded scale?", PASSAGES) == []  # lower case: nothing is named
    assert unmentioned_names("how many chips are there?", []) == []  # nothing named that could be missing
