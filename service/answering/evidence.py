"""Retrieval evidence for abstaining: what a question names that no retrieved passage mentions."""

import re

from service.answering.answers import Passage

WORD = re.compile(r"[$€£]?\w+(?:[’'.,\-]\w+)*%?")
POSSESSIVE = re.compile(r"[’']s?$")


def _key(word: str) -> str:
    """A word as compared: lower case, without a possessive ending or a trailing plural on a number ("1990s")."""
    word = POSSESSIVE.sub("", word.lower())
    return re.sub(r"(?<=\d)s$", "", word)


def named_words(question: str) -> list[str]:
    """The words of a question that name something: capitalised (not its first word), mixed-case or with a digit."""
    words = WORD.findall(question)
    return [word for i, word in enumerate(words) if (i > 0 and word[:1].isupper()) or re.search(r"\d|[a-z][A-Z]", word)]


def unmentioned_names(question: str, passages: list[Passage]) -> list[str]:
    """The question's names and numbers (capitalised, mixed-case or numeric words) that appear in no passage.

    "Who is Google's CEO?" over articles that never mention Google cannot be answered from them, however sure a reader
    is of some span: the passages are about something else.
    """
    named = named_words(question)
    if not named:
        return []
    present = {_key(word) for passage in passages for word in WORD.findall(passage.text)}
    return list(dict.fromkeys(word for word in named if _key(word) not in present))
