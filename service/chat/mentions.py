"""Mentions in a question or an answer, found generically: capitalised names, years, dates, money, numbers."""

import re
from dataclasses import dataclass


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


AUXILIARIES = _words("is are was were do does did has have had will would can could should may might must")
WH_WORDS = _words("what which who whom whose when where why how")
PREPOSITIONS = _words("in on at for from with by to since until during after before")
# Capitalised words that start sentences rather than name things.
FUNCTION_WORDS = (
    AUXILIARIES
    | WH_WORDS
    | PREPOSITIONS
    | _words("and but or so also the a an of about as if i it he she they we you this that these those there then")
)
# Words after "her" that make it an object when they end the clause ("offer her more"), not a possessive ("her title").
NOT_NOUNS = _words("more less again well back now then too already still yet ever also first most")
# Lower-case words after "what about" that are no name: times and courtesies ("what about today?", "what about thanks").
NOT_NAMES = _words(
    "today yesterday tomorrow now then later earlier before after last next this year years month months week weeks"
    " day days time thanks thank please ok okay yes no sure"
)
# Titles that head "CEO of Scale AI": the name is what follows "of", not the whole run.
TITLES = _words(
    "ceo cto cfo coo cmo cio vp president chairman chairwoman chair director head founder co-founder chief executive"
    " officer secretary minister governor mayor senator"
)
# Words that make a run of title-case words an organisation or place rather than a person's name.
NON_PERSON_WORDS = _words(
    "inc corp corporation company co group labs lab bank university institute capital ventures partners fund"
    " technologies systems news post times journal street city county state party series round"
    # industries and trades, as companies name themselves: "Northwind Bakeries", "Acme Robotics", "Delta Air Lines"
    " bakery bakeries foods brewery breweries industries airlines airways lines motors pharmaceuticals therapeutics"
    " biosciences robotics networks holdings enterprises solutions services studios media games energy software"
    " electronics semiconductor semiconductors logistics insurance airport hospital school college museum council"
)
MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
NAME_WORD = r"(?:[A-Z][\w&-]*|[a-z]+[A-Z][\w-]*)"
MENTION = re.compile(
    r"(?P<money>[$€£]\s?\d(?:[\d,.]*\d)?(?:\s?(?:million|billion|trillion|bn)\b)?)"
    r"|(?P<percent>\d[\d,.]*\s?(?:%|percent\b))"
    rf"|(?P<date>\b(?:{MONTHS})\s+\d{{1,2}}\b(?:,?\s+\d{{4}})?)"
    r"|(?P<year>\b(?:1[5-9]|20)\d\d\b(?![%]|[,.]\d))"
    r"|(?P<number>\b\d[\d,.]*\d\b|\b\d\b)"
    rf"|(?P<name>\b{NAME_WORD}(?:\s+(?:(?:of|de|&)\s+)?{NAME_WORD})*)"
)


@dataclass(frozen=True)
class Mention:
    text: str
    kind: str  # person, name, code, year, date, money, percent, number
    start: int
    end: int
    subject: bool  # right after an auxiliary: "does Meta have"

    @property
    def category(self) -> str:
        return "name" if self.kind == "person" else self.kind


def mentions(text: str) -> list[Mention]:
    """Capitalised names, years, dates, money, percentages and numbers, with their kind."""
    found = []
    for match in MENTION.finditer(text):
        kind, start, end = match.lastgroup or "name", match.start(), match.end()
        if kind == "name":
            words = match.group().split()
            while words and words[0].lower() in FUNCTION_WORDS:
                start += len(words.pop(0))
                start += len(text[start:]) - len(text[start:].lstrip())
            of = next((i for i, word in enumerate(words) if word.lower() in {"of", "de"}), None)
            if of and of + 1 < len(words) and all(word.lower() in TITLES for word in words[:of]):
                for _ in range(of + 1):  # "CEO of Scale AI": the name is "Scale AI"
                    start += len(words.pop(0))
                    start += len(text[start:]) - len(text[start:].lstrip())
            if not words:
                continue
        previous = text[:start].split()
        if kind == "name":
            kind = _name_kind(words, previous[-1].lower() if previous else "")
        found.append(Mention(text[start:end], kind, start, end, bool(previous) and previous[-1].lower() in AUXILIARIES))
    return found


def _name_kind(words: list[str], before: str) -> str:
    if any(ch.isdigit() for word in words for ch in word):
        return "code"
    title_case = all(re.fullmatch(r"[A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)*", w) for w in words)
    # "chief executive of Acme Robotics": after these prepositions a title-case name is a place or an organisation.
    place = before in {"of", "at", "in", "from", "for", "to", "on", "into", "with"}
    if 2 <= len(words) <= 3 and title_case and not place and not NON_PERSON_WORDS & {w.lower() for w in words}:
        return "person"
    return "name"
