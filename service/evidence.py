"""Retrieval evidence for abstaining: what a question names that no retrieved passage mentions."""

from service.answer_types import TOKEN, parse_question, word_stems
from service.answers import Passage


def unmentioned_names(question: str, passages: list[Passage]) -> list[str]:
    """The question's names and numbers (capitalised, mixed-case or numeric words) that appear in no passage.

    "Who is Google's CEO?" over articles that never mention Google cannot be answered from them, however sure a reader
    is of some span: the passages are about something else.
    """
    q = parse_question(question)
    named = [t for t in q.terms if t in q.named]
    if not named:
        return []
    present = {stem for passage in passages for word in TOKEN.findall(passage.text) for stem in word_stems(word)}
    return [q.surface[t] for t in named if t not in present]
