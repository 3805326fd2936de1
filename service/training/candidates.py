"""Candidate spans: passages as stemmed sentences, and the typed spans in them (amounts, dates, names, clauses)."""

import itertools
import re
from dataclasses import dataclass

from index.sentences import sentence_spans
from service.training.answer_types import STOP_WORDS, TOKEN, Question, word_set, word_stems

# Words that make a capitalised name an organisation or a place rather than a person.
_NOT_PERSON = word_set(
    "ai inc corp corporation co ltd llc plc group labs lab bank capital partners ventures technologies systems university "
    "institute agency news times post journal gazette herald media holdings motors foundation council city county state "
    "river lake street avenue road bay mountain park valley island bridge airport square"
)
_ROLES = (
    r"ceo|cfo|cto|coo|chief \w+ officer|chief executive|president|chairman|chairwoman|chair|co-?founder|founder|director|"
    r"spokes(?:person|man|woman)|executive|manager|minister|secretary|governor|senator|analyst|editor|reporter|officer|"
    r"engineer|researcher|professor|lawyer|investor|mayor|judge|commissioner|coach|council member|ambassador"
)
_NUM = r"\d+(?:[.,]\d+)*"
_NUMWORD = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?)"
_APPROX = (
    r"(?:\b(?:up to|about|around|approximately|roughly|nearly|almost|over|more than|less than|at least|some|only)\s+)?"
)
_BIG = r"(?:\s?(?:thousand|million|billion|trillion|bn|mn)\b)?"
_MONTHS = r"January|February|March|April|May|June|July|August|September|October|November|December"
_MONTH = rf"(?:{_MONTHS}|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?"
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_UNIT = (
    r"(?:giga|mega|kilo|tera)?watts?|[GMTk]Wh?|(?:kilo|centi|milli)?(?:met(?:er|re)s?|grams?)|km|kg|miles?|feet|foot|"
    r"(?:square[- ])?(?:feet|foot|miles?|met(?:er|re)s?)|acres?|hectares?|tons?|tonnes?|barrels?|gallons?|years? old|bytes?"
)
# Spans are claimed in this order, so "$10 billion" is money and never also a count.
_REGEX = {
    kind: re.compile(pattern)
    for kind, pattern in {
        "money": rf"{_APPROX}(?:(?:US|A|C|HK)?[$€£¥]\s?{_NUM}{_BIG}|\b{_NUM}{_BIG}\s(?:dollars|euros|pounds)\b|"
        rf"\b\w*(?:hundred|thousand|million|billion|trillion)\w*-(?:dollar|euro|pound)\b)",
        "percent": rf"(?:\b(?:an?|the)\s+)?{_NUM}\s?(?:%|percent\b)\s(?:stake|share|interest|holding)\b|{_APPROX}\b{_NUM}\s?"
        r"(?:%|percent\b|per cent\b)|\b(?:only\s+)?(?:an?\s+)?(?:(?:small|large|tiny|big|significant|minority|majority|"
        r"controlling)\s+)?(?:fraction|portion|majority|minority|half|third|quarter)\b",
        "date": rf"\b(?:{_WEEKDAY}(?:,? \(?{_MONTH} \d{{1,2}}\)?)?|{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?(?:,? \d{{4}})?|(?:early |"
        rf"mid-|late )?(?:{_MONTH},? )?(?:19|20)\d\d(?:s\b)?|(?:early |mid-|late )?(?:{_MONTHS})|(?:last|this|next) "
        r"(?:week|month|year|quarter)|yesterday)(?![\w%])",
        "duration": rf"\b(?:the\s+)?(?:(?:past|last|next|previous|first|coming)\s+)?(?:{_NUM}|{_NUMWORD}|a|an|a few|several)"
        rf"(?:\s+to\s+(?:{_NUM}|{_NUMWORD}))?\s+(?:days?|weeks?|months?|years?|decades?|hours?)\b",
        "quantity": rf"{_APPROX}\b{_NUM}{_BIG}(?:-|\s)?(?:{_UNIT})\b",
        "count": rf"{_APPROX}(?<![\w$€£¥.,-])(?:{_NUM}(?:\s(?:thousand|million|billion))?(?:-[a-z]+)?|{_NUMWORD})\b"
        r"(?!\s?(?:%|percent))",
    }.items()
}
NAME_SOURCES = word_set("person org outlet place")
_CAPWORD = r"(?:[A-Z][\w&-]*\w|[A-Z]|[a-z]+[A-Z][\w-]*)"
_RUN = re.compile(rf"(?<![\w’'-]){_CAPWORD}(?:(?: &)? {_CAPWORD})*")
_ROLE = re.compile(rf"\b(?:(?:an?|the)\s+)?(?:{_CAPWORD}\s+)?(?i:{_ROLES})\b")
_BARE_ROLE = re.compile(rf"\b(?i:{_ROLES})\b")
_QUOTED = re.compile(r"[“\"]([^”\"]{2,60})[”\"]")
_REASON = re.compile(
    r"\b(?:due to|because(?: of)?|owing to|thanks to|as a result of|in order to|so that|by(?= \w+ing\b)|"
    r"as(?= (?:[A-Z]|the |it |they |he |she |we )))\s+([^.;:!?,]+)"
)
# Skipped between a question word and the phrase after it; a bare comma is not skipped, it starts a new clause.
_LEAD = re.compile(
    r"(?:[\s’']|,(?= (?:particularly|especially|including|mainly|notably))|\b(?:in|on|at|of|to|with|as|that|into|for|"
    r"about|from|by|up|out|down|off|particularly|especially|including|mainly|notably|largely|itself|themselves|is|are|"
    r"was|were|be|been|s)\b)*"
)
_ATTRIBUTION = r"\s+(?:first\s+)?(?:reported|reports|said|says|wrote|writes|told|confirmed|revealed)\b"
_CLAUSE_END = word_set("that which who whom whose where when while because as thereby thus so but if although")
_AUXILIARY = word_set("would will could can is are was were be been has have had may might should must")
_NOT_NAMES = word_set("the a an it this that these those while according by in on at for as i we he she they but and")
_CALENDAR = re.compile(rf"^(?:{_MONTH}|{_WEEKDAY})$")


@dataclass(frozen=True)
class Sentence:
    """One sentence of a passage; offsets are into the passage text."""

    passage: int
    text: str  # the whole passage text
    start: int
    end: int
    words: tuple[tuple[int, int, tuple[str, ...]], ...]  # (start, end, stems)

    def word(self, k: int) -> str:
        return self.text[self.words[k][0] : self.words[k][1]]

    def bag(self) -> set[str]:
        return {t for _, _, stems in self.words for t in stems}

    def spots(self, terms: set[str] | frozenset[str]) -> list[int]:
        return [k for k, (_, _, stems) in enumerate(self.words) if set(stems) & terms]


def split_sentences(index: int, text: str) -> list[Sentence]:
    """The sentences of passage number `index`, each word with its stems."""
    spans = sentence_spans(text)
    words = [tuple((m.start(), m.end(), word_stems(m.group())) for m in TOKEN.finditer(text, a, b)) for a, b in spans]
    return [Sentence(index, text, a, b, w) for (a, b), w in zip(spans, words, strict=True)]


def candidate_spans(source: str, s: Sentence, q: Question, surnames: set[str]) -> list[tuple[int, int]]:
    """Spans [a, b) of one source in a sentence, in passage offsets."""
    sentence = s.text[s.start : s.end]
    if q.kind == "person" and source != "person" and _names(sentence, "person", surnames, False):
        return []  # "who" falls back to organisations and roles only where no person is named
    if source == "slot":  # after a question word, never after a name: "What is Meta developing" is not "Meta continues"
        return [
            span for k in s.spots(set(q.terms)) if not s.word(k)[0].isupper() for span in _slot(s, k, q.kind == "place")
        ]
    if source == "head":
        return _heads(s, q)
    if source == "premodifier":
        return [(s.words[j][0], s.words[k - 1][1]) for k in s.spots(set(q.terms)) if (j := _modifiers(s, k, q)) < k]
    if source in _REGEX:
        spans = typed_spans(sentence)[source]
    elif source in NAME_SOURCES:
        spans = _names(sentence, source, surnames, q.plural)
    elif source == "role":
        spans = [m.span() for m in (_BARE_ROLE if q.kind == "role" else _ROLE).finditer(sentence)]
    else:
        spans = [m.span(1) for m in (_QUOTED if source == "quoted" else _REASON).finditer(sentence)]
    # cite() trims edge punctuation, so a span of nothing else cannot be cited.
    return [(a + s.start, b + s.start) for a, b in spans if sentence[a:b].strip(" \t\n,;:")]


def typed_spans(sentence: str) -> dict[str, list[tuple[int, int]]]:
    """Money, percentages, dates, periods, quantities and counts; a stretch of text goes to the first kind that claims it."""
    taken: list[tuple[int, int]] = []
    found = {}
    for kind, regex in _REGEX.items():
        spans = [m.span() for m in regex.finditer(sentence) if not any(a < m.end() and m.start() < b for a, b in taken)]
        found[kind] = [(a, b) for a, b in spans if kind != "count" or not re.fullmatch(r"(?:19|20)\d\d", sentence[a:b])]
        taken += found[kind]
    return found


def _names(sentence: str, kind: str, surnames: set[str], plural: bool) -> list[tuple[int, int]]:
    """Capitalised runs that fit the kind: people, organisations, the source of a report, or a place."""
    names = []
    for a, b in capitalised_runs(sentence, spans=True):
        person, before = is_person_name(sentence[a:b], surnames), sentence[:a]
        if (kind == "person") == person and (
            kind in {"person", "org"}
            or (kind == "outlet" and attributed(before, sentence[b:]))
            or (kind == "place" and re.search(r"\b(?:in|at|from|near|across)\s+$", before))
        ):
            names.append((a, b))
    if kind == "place":  # "a Boston-based startup"
        names += [m.span(1) for m in re.finditer(r"\b([A-Z][a-z]+(?: [A-Z][a-z]+)*)-based\b", sentence)]
    if kind == "org" and plural:  # "OpenAI and xAI" answers "which companies"
        names += [
            (x[0], y[1]) for x, y in itertools.pairwise(names) if re.fullmatch(r",? and |, ", sentence[x[1] : y[0]])
        ]
    return names


def attributed(before: str, after: str) -> bool:
    """Whether a name stands as the source of a report: "X reported", "according to X"."""
    return bool(
        re.match(_ATTRIBUTION, after)
        or re.search(r"(?:according to|citing|cited by|reported by|told)\s+(?:the\s+)?$", before, re.I)
    )


def capitalised_runs(sentence: str, spans: bool = False) -> list:
    """Runs of capitalised words, split at titles, dates, numbers and capitalised function words."""
    runs = []
    for match in _RUN.finditer(sentence):
        current: list[tuple[int, int]] = []
        for word in re.finditer(r"\S+", match.group()):
            a, b, token = word.start() + match.start(), word.end() + match.start(), word.group()
            breaks = token.lower() in _NOT_NAMES or _CALENDAR.match(token) or _BARE_ROLE.fullmatch(token)
            if not (breaks or re.search(r"\d", token) or (a == 0 and re.search(r"(?:ly|ed|ing)$", token))):
                current.append((a, b))
            if (breaks or re.search(r"\d", token) or b == match.end()) and current:
                runs.append((current[0][0], current[-1][1]))
                current = []
    # A lone acronym before a lowercase noun is a modifier ("AI labs"), not a name.
    acronym = lambda a, b: re.fullmatch(r"[A-Z]{1,4}", sentence[a:b]) and re.match(r"(?:[’']s)? [a-z]", sentence[b:])  # noqa: E731
    return [(a, b) if spans else sentence[a:b] for a, b in runs if not acronym(a, b)]


def is_person_name(name: str, surnames: set[str]) -> bool:
    """Two or three plain capitalised words with no company word, or the surname of such a name in the passages."""
    words = name.split()
    if len(words) == 1:
        return name in surnames
    return len(words) <= 3 and all(
        re.fullmatch(r"[A-Z][a-z]+(?:-[A-Z][a-z]+)?", w) and w.lower() not in _NOT_PERSON for w in words
    )


def _slot(s: Sentence, k: int, located: bool = False) -> list[tuple[int, int]]:
    """The phrase right after word k, to the end of its clause: the object a "what does X do" question leaves open."""
    start = _LEAD.match(s.text, s.words[k][1], s.end).end()
    if located and not re.search(r"\b(?:in|at|from|near)\b", s.text[s.words[k][1] : start]):
        return []
    kept: list[int] = []
    clause = False  # once the phrase has a verb of its own, "to" no longer ends it ("would be able to access")
    for k in range(next((k for k, w in enumerate(s.words) if w[0] >= start), len(s.words)), len(s.words)):
        word = s.word(k).lower()
        if word in {".", ";", ":", "!", "?", "—", "–"} | _CLAUSE_END or (not kept and word in {"and", "or", ","}):
            break
        # A comma ends the phrase unless a short list goes on ("labs, multinational enterprises and governments").
        if word == "," and not re.match(r", (?:[\w’'-]+ ){1,3}(?:and|or) ", s.text[s.words[k][0] : s.end]):
            break
        if (word == "to" and kept and not clause) or len(kept) == 16:
            break
        if word == "by" and kept and k + 1 < len(s.words) and s.word(k + 1).endswith("ing"):
            break  # "reduce training time by providing ...": the means starts a new phrase
        clause, kept = clause or word in _AUXILIARY, [*kept, k]
    while len(kept) > 1 and s.word(kept[-1]).lower() in _NOT_NAMES | {"of", "to", "or", "with"}:
        kept.pop()
    # A lone lowercase word like "comes" after a question word is usually a verb, not the answer.
    if not kept or (len(kept) == 1 and re.fullmatch(r"[a-z]+(?:[^s]s|ed|ing)", s.word(kept[0]))):
        return []
    return [(s.words[kept[0]][0], s.words[kept[-1]][1])]


def _modifiers(s: Sentence, k: int, q: Question) -> int:
    """Index of the first of the modifiers just before word k ("Series F funding" round, a "2-gigawatt" data center)."""
    j = k
    while j > 0 and k - j < 4:
        word, previous = s.word(j - 1), s.word(j - 2).lower() if j > 1 else ""
        verbish = re.search(r"[^s]s$", word) or (
            word.endswith("ed") and previous not in {"a", "an", "the", "in", "its", "their"}
        )
        plain = word.isalpha() and word.islower() and word not in STOP_WORDS and not verbish
        named = word[0].isupper() and word.lower() not in _NOT_NAMES and not re.search(r"[’']s$", word)
        if not (plain or named or word in '“”"' or "-" in word or re.search(r"[A-Za-z]\d|\d[A-Za-z]", word)):
            break
        j -= 1
    while j < k and (s.word(j) in '”"' or set(s.words[j][2]) & set(q.terms)):
        j += 1  # modifiers the question already has are not the answer
    return j


def _heads(s: Sentence, q: Question) -> list[tuple[int, int]]:
    """For "which X": the X named here with its modifiers, or the list that follows it ("platforms, including A and B")."""
    spans = []
    for k in s.spots(q.heads):
        if k + 1 < len(s.words) and set(s.words[k + 1][2]) & q.heads:
            continue
        b = s.words[k][1]
        if (j := _modifiers(s, k, q)) < k:
            spans.append((s.words[j][0], b))
        if listed := re.match(
            r",? (?:including|such as|like|called|named|dubbed|known as) ([^.;:,]+)", s.text[b : s.end]
        ):
            spans.append((b + listed.start(1), b + listed.end(1)))
    return spans
