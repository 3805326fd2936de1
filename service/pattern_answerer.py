"""A no-model extractive answerer: guess the answer type, find typed spans in the sentences that match, rank them."""

import itertools
import math
import re
from dataclasses import dataclass

from index.sentences import sentence_spans
from service.answers import AnswerResult, Passage, cite, distinct


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOP = _words(
    "a an the of in on at to for from by with about into over after before during and or but if than as is are was were "
    "be been being am do does did done has have had will would can could should may might must what what's which who "
    "who's whom whose when where why how much many it its they them their this that these those there he she his her him "
    "i we you our your me my any some other another also so not no now just only up out off very still already both each "
    "company companies firm firms startup startups person year date day month time name kind type sort reason percentage "
    "percent share number news agency outlet newspaper publication organisation organization itself themselves himself "
    "herself describe described describes call called"
)
# Words that make a capitalised name an organisation or a place rather than a person.
_NOT_PERSON = _words(
    "ai inc corp corporation co ltd llc plc group labs lab bank capital partners ventures technologies systems university "
    "institute agency news times post journal gazette herald media holdings motors foundation council city county state "
    "river lake street avenue road bay mountain park valley island bridge airport square"
)
# Plain-English equivalences (irregular verbs, near-synonyms); nothing here is specific to one corpus.
_SYNONYMS = {
    word: min(_words(group), key=group.index)
    for line in (
        "buy bought buys buying purchase purchased acquire acquired acquisition take took taken takes stake",
        "pay paid pays paying|say said says saying|make made makes making|big large size|talk talks negotiations",
        "found founded founder founders founding co-founded cofounded start started launch launched",
        "keep kept keeps continue continues continued continuing remain remains remained retain retains stay stays",
        "use used uses using utilize utilized utilise utilised|worker workers employee employees staff staffers",
        "invest invested invests investing investment investments put|own owns owned possess possesses hold holds held holdings",
        "seek sought|sell sold|tell told|think thought|bring brought|lead led|win won|lose lost|give gave given|go went gone",
        "grow grew grown|rise rose risen|fall fell fallen|spend spent|build built|begin began begun|write wrote written",
    )
    for group in line.split("|")
    for word in _words(group)
}
_SUFFIXES = dict(
    pair.partition(":")[::2] for pair in _words("ations ation ments ment ings ing edly ies:y ied:y ers er ed es ly s e")
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
# The first rule whose pattern the lower-cased question matches gives its answer type.
_TYPE_RULES = [
    line.split(" ", 1)
    for line in r"""
reason \bwhy\b|\bwhat (?:is|was) the reason\b|\bfor what reason\b
description \bhow (?:is|was|are|were|did|does|do)\b.*\b(?:describ|characteri[sz]|call)
percent \bhow much of\b|\b(?:what|which) (?:share|percentage|proportion|fraction)\b|\bpercent
money \bhow much\b.*\b(?:pay|paid|cost|spen[dt]|invest|worth|price|raise|money|offer|fund|put|valu|sell|sold|earn)|\b(?:revenue|valuation|valued|salary)\b
count \bhow many\b|\bnumber of\b
duration \bhow long\b|\bwhat period\b|\bover what\b
degree \bhow (?:far|advanced|close|serious)\b
age \bhow old\b|\bwhat age\b
size \bhow (?:big|large|small|tall|high|heavy|fast|wide|deep)\b
money \bhow much\b
date \bwhen\b|\b(?:what|which) (?:year|date|day|month|time)\b
outlet \b(?:news ?agency|outlet|newspaper|publication|news organi[sz]ation)\b|\bwho (?:first )?reported\b|\baccording to wh
role \b(?:what|which)\b.*\b(?:job|role|position|title|occupation)\b|\brelationship (?:to|with)\b
org \b(?:which|what) (?:\w+ )?(?:compan|firm|startup|organi[sz]ation|business|agenc|brand|bank|maker)
person \bwho\b|\bwhom\b|\b(?:which|what) (?:person|executive|man|woman)\b|\bname of the\b
place \bwhere\b|\b(?:which|what) (?:city|country|state|place|region|town)\b
percent \b(?:share|stake|percentage|proportion)\b
thing \b(?:which|what)(?: (?:kind|type|sort) of)? (?!(?:is|was|are|were|does|do|did|has|have|had|will|would|could|can|should)\b)\w+|\bname of\b
""".strip().splitlines()
]
# Per answer type: what to call it when it is missing, and the candidate sources with their priors, best first.
_SOURCES = {
    kind: (words.replace("_", " "), [(s.split(":")[0], float(s.split(":")[1])) for s in sources.split()])
    for kind, words, sources in (
        line.split(" ", 2)
        for line in """
percent share_or_percentage percent:1
money amount_of_money money:1
count number count:1 quantity:0.9
size size quantity:1 money:0.8 percent:0.6 premodifier:0.7 count:0.5
degree extent premodifier:1 slot:0.3
age age quantity:1 count:0.4
duration period_of_time duration:1
date date date:1
person person person:1 org:0.45 role:0.7 slot:0.3
org organisation org:1 person:0.3 slot:0.1
outlet news_source outlet:1 org:0.2
place place place:1 slot:0.4
role role role:1
reason reason reason:1 slot:0.3
description description quoted:1 slot:0.3
thing name head:1.1 quoted:0.6 slot:0.6
phrase answer quoted:0.8 slot:0.8
""".strip().splitlines()
    )
}
_NUMERIC = _words("money percent count quantity date duration")
_NAMES = _words("person org outlet place")
_WORD = re.compile(r"[$€£]?\w+(?:[’'.,\-]\w+)*%?|[^\w\s]")
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
_CLAUSE_END = _words("that which who whom whose where when while because as thereby thus so but if although")
_AUXILIARY = _words("would will could can is are was were be been has have had may might should must")
_NOT_NAMES = _words("the a an it this that these those while according by in on at for as i we he she they but and")
_CALENDAR = re.compile(rf"^(?:{_MONTH}|{_WEEKDAY})$")
_THRESHOLD = 0.5  # share of the question's weighted terms a sentence (with its passage) must cover to be trusted
_RELATIVE = 0.6  # answers come from sentences nearly as on-topic as the best one, not from any that clear the bar
_MIN_SCORE = 2.2  # below this the best candidate is a guess, and saying so beats a wrong answer


def stem(word: str) -> str:
    """A crude lemma: lower case, no possessive, synonyms folded, common suffixes cut, six letters at most."""
    word = re.sub(r"'s?$", "", word.lower().replace("’", "'").strip("$%"))
    if word in _SYNONYMS:
        return _SYNONYMS[word]
    if any(c.isdigit() for c in word):
        return re.sub(r"(?<=\d)s$", "", word)
    for _ in range(2):  # "powering" -> "power" -> "pow", the same as "power" -> "pow"
        fits = [suffix for suffix in _SUFFIXES if word.endswith(suffix) and len(word) - len(suffix) >= 3]
        if fits and not word.endswith(("ss", "us", "is")):
            suffix = max(fits, key=len)
            word = word[: -len(suffix)] + _SUFFIXES[suffix]
    return word[:6]


def _stems(word: str) -> tuple[str, ...]:
    """Stems of a word's content parts: "data-labeling" counts as "data" and "label"."""
    if word.lower().replace("’", "'") in _SYNONYMS:
        return (stem(word),)
    return tuple(stem(part) for part in word.split("-") if part and part.lower() not in _STOP and part[0].isalnum())


@dataclass(frozen=True)
class Question:
    """What the question asks for: answer type, content terms in order, the nouns a "which X" names, and possessions."""

    kind: str
    terms: tuple[str, ...]
    named: frozenset[str]
    surface: dict[str, str]
    heads: frozenset[str]
    owners: dict[str, str]  # "Meta's CEO": {"ceo": "meta"}
    plural: bool = False
    needs_name: bool = False


def answer_type(question: str) -> str:
    """The expected answer type: percent, money, count, size, degree, age, duration, date, outlet, role, org, person, ..."""
    text = question.lower().replace("’", "'")
    return next((kind for kind, rule in _TYPE_RULES if re.search(rule, text)), "phrase")


def parse_question(question: str) -> Question:
    """Answer type plus the question's content terms; capitalised, mixed-case or numeric words count as named."""
    kind, lowered = answer_type(question), question.lower().replace("’", "'")
    # "how far along", "how big": the words that ask for the type never appear in the answer's sentence.
    cue = r"\bhow (?:far(?: along)?|advanced|close|serious|big|large|small|tall|high|heavy|fast|wide|deep|old|long)\b"
    words = _WORD.findall(re.sub(cue, " ", question, flags=re.I))
    terms, named, surface = [], set(), {}
    for i, word in enumerate(words):
        # For "which outlet reported ...", the reporting verb asks for the source; the text may say "according to".
        for term in (t for t in _stems(word) if kind != "outlet" or t not in {"report", "say", "cit"}):
            surface.setdefault(term, word)
            terms += [term] if term not in terms else []
            if (i > 0 and word[0].isupper()) or re.search(r"\d|[a-z][A-Z]", word):
                named.add(term)
    auxiliary = r"is|was|are|were|does|do|did|has|have|had|will|would|could|can|should|at|in|of"
    head = re.search(rf"\b(?:which|what)(?: (?:kind|type|sort) of)? ((?:[\w-]+ ){{0,3}}?)(?:{auxiliary})\b", lowered)
    heads = {t for w in head.group(1).split() for t in _stems(w)} if head else set()
    if "name of" in lowered:
        heads |= set(_stems(words[-2] if words[-1] == "?" else words[-1]))
    owned = re.findall(r"(\w+)['’]s\s+(\w+)", question)  # "Meta's CEO", and "the CEO of Meta" below
    owned += [(owner, noun) for noun, owner in re.findall(r"(\w+) of (?:the )?(\w*[A-Z]\w*)", question)]
    owners = {stem(noun): stem(owner) for owner, noun in owned}
    plural = re.search(r"\b(?:which|what) (?:\w+ )?(?:companies|firms|startups|organi[sz]ations|businesses)\b", lowered)
    needs_name = kind == "person" and "name of" in lowered
    return Question(kind, tuple(terms), frozenset(named), surface, frozenset(heads), owners, bool(plural), needs_name)


@dataclass(frozen=True)
class _Sentence:
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


def _sentences(index: int, text: str) -> list[_Sentence]:
    spans = sentence_spans(text)
    words = [tuple((m.start(), m.end(), _stems(m.group())) for m in _WORD.finditer(text, a, b)) for a, b in spans]
    return [_Sentence(index, text, a, b, w) for (a, b), w in zip(spans, words, strict=True)]


class PatternAnswerer:
    """Answers from typed patterns (amounts, dates, names, clauses) in the sentences that best cover the question."""

    name = "pattern"

    def answer(self, question: str, passages: list[Passage]) -> AnswerResult:
        """The shortest typed span that answers the question, or answer=None with the reason."""
        q = parse_question(question)
        sentences = [s for i, p in enumerate(passages) for s in _sentences(i, p.text)]
        if not sentences or not q.terms:
            return _unknown("no passage was retrieved" if not sentences else "the question names nothing to look up")
        # Overlapping chunks repeat sentences; count each document sentence once when judging how rare a term is.
        unique = {(passages[s.passage].document_id, passages[s.passage].start + s.start): s.bag() for s in sentences}
        df = {t: sum(t in bag for bag in unique.values()) for t in q.terms}
        if absent := [q.surface[t] for t in q.terms if t in q.named and not df[t]]:
            return _unknown(f"no passage mentions {_quote(absent)}")
        weight = {t: math.log(1 + len(unique) / max(df[t], 1)) * (1.6 if t in q.named else 1.0) for t in q.terms}
        total = sum(weight.values())
        support = [(s, *_supported(q, s)) for s in sentences]
        in_passage = {i: set().union(*(p for s, p, _ in support if s.passage == i)) for i in range(len(passages))}
        # Coverage: the sentence's share of the weighted question terms, half credit for the rest of its passage.
        share = lambda terms: sum(weight[t] for t in terms) / total  # noqa: E731
        covered = [
            (share(present) + share(in_passage[s.passage] - present - lost) / 2, s, present)
            for s, present, lost in support
        ]
        best, _, best_present = max(covered, key=lambda c: c[0])
        found = [q.surface[t] for t in q.terms if t in best_present]
        if best < _THRESHOLD:
            missing = [q.surface[t] for t in sorted(set(q.terms) - best_present, key=lambda t: -weight[t])[:3]]
            alongside = f" alongside {_quote(found)}" if found else ""
            return _unknown(f"no passage mentions {_quote(missing)}{alongside}")
        surnames = {
            run.split()[-1] for s in sentences for run in _runs(s.text[s.start : s.end]) if _personal(run, set())
        }
        scored: dict[tuple[str, int, int], tuple[float, float, int, int, int]] = {}
        for coverage, s, present in (c for c in covered if c[0] >= max(_THRESHOLD, _RELATIVE * best)):
            for source, prior in _SOURCES[q.kind][1]:
                for a, b in _candidates(source, s, q, surnames):
                    score = 1.5 * coverage + prior + 0.3 / (1 + s.passage) + _proximity(s, a, b, present, weight)
                    score += _fit(q, source, s, a, b) - _repetition(q, source, s.text[a:b])
                    key = (passages[s.passage].document_id, passages[s.passage].start + a, b - a)
                    if key not in scored or scored[key][0] < score:
                        scored[key] = (score, coverage * min(prior, 1.0), s.passage, a, b)
        ranked = sorted(scored.values(), key=lambda c: -c[0])
        if not ranked or ranked[0][0] < _MIN_SCORE:
            about = _quote(found) or "the question"
            return _unknown(f"the passages about {about} give no {_SOURCES[q.kind][0]}")
        # Confidence: how well the sentence covers the question, discounted when a rival candidate scores close behind.
        margin = ranked[0][0] - ranked[1][0] if len(ranked) > 1 else 1.0
        first = 0.6 + 0.4 * math.tanh(2 * margin)
        answers = [
            cite(passages[p], a, b, round(min(1.0, base) * (first if not i else 0.6), 3))
            for i, (_, base, p, a, b) in enumerate(ranked[:12])
        ]
        answers = distinct(answers)
        return AnswerResult(answers[0], alternatives=answers[1:5])


def _unknown(why: str) -> AnswerResult:
    return AnswerResult(None, reason=f"The articles don't say: {why}.")


def _quote(words: list[str]) -> str:
    return ", ".join(f"“{w}”" for w in words)


def _supported(q: Question, s: _Sentence) -> tuple[set[str], set[str]]:
    """Question terms in the sentence, less a possessed noun that belongs to another name ("OpenAI CEO" for "Meta's CEO")."""
    present, lost = s.bag() & set(q.terms), set()
    for noun, owner in q.owners.items():
        rivals = [s.words[k - 1][2] for k in s.spots({noun}) if k > 0 and s.word(k - 1)[0].isupper()]
        if noun in present and owner in q.terms and rivals and all(owner not in stems for stems in rivals):
            present.discard(noun)
            lost.add(noun)
    return present, lost


def _gap(s: _Sentence, a: int, b: int, start: int, end: int) -> int:
    """Words between a candidate [a, b) and another stretch [start, end) of the same sentence."""
    low, high = (end, a) if end <= a else (b, start)
    return sum(1 for ws, we, _ in s.words if ws >= low and we <= high)


def _proximity(s: _Sentence, a: int, b: int, present: set[str], weight: dict[str, float]) -> float:
    """How close the candidate sits to the question's terms in its sentence, weighted by term rarity."""
    gaps = {t: [_gap(s, a, b, ws, we) for ws, we, stems in s.words if t in stems and not a <= ws < b] for t in present}
    return sum(weight[t] / (1 + min(g) / 2) for t, g in gaps.items() if g) / sum(weight.values())


def _fit(q: Question, source: str, s: _Sentence, a: int, b: int) -> float:
    """Context that makes a candidate fit: whose figure it is, the noun a "which X" asks for, a list for "which companies"."""
    if source in _NUMERIC:  # the name just before a figure is usually whose figure it is ("xAI ... each have 300,000")
        runs = _runs(s.text[s.start : a], spans=True)
        owners = [s.text[s.start + x : s.start + y] for x, y in runs if _gap(s, a, b, s.start + x, s.start + y) <= 8]
        return (0.3 if any(set(_stems(w)) & q.named for o in owners for w in o.split()) else -0.4) if owners else 0.0
    if source not in _NAMES:
        return -5.0 if q.needs_name else 0.0
    fit = 0.3 if q.plural and " and " in s.text[a:b] else 0.0
    # The source of a report is not who did what, unless the question asks about the reporting.
    reporting = q.kind == "outlet" or {"say", "report"} & set(q.terms)
    fit -= 0.5 if not reporting and _attributed(s.text[s.start : a], s.text[b : s.end]) else 0.0
    inside = [k for k, (ws, we, _) in enumerate(s.words) if ws >= a and we <= b] or [0]
    around = s.words[max(0, inside[0] - 3) : inside[0]] + s.words[inside[-1] + 1 : inside[-1] + 5]
    return fit + (0.5 if any(set(stems) & q.heads for _, _, stems in around) else -5.0 if q.needs_name else 0.0)


def _attributed(before: str, after: str) -> bool:
    """Whether a name stands as the source of a report: "X reported", "according to X"."""
    return bool(
        re.match(_ATTRIBUTION, after)
        or re.search(r"(?:according to|citing|cited by|reported by|told)\s+(?:the\s+)?$", before, re.I)
    )


def _repetition(q: Question, source: str, span: str) -> float:
    """Penalty for an answer made of the question's own words ("Who founded Scale?" is not "Scale"), and for length."""
    if source in _NUMERIC | {"quantity", "head", "premodifier"}:
        return 0.01 * len(span.split())
    stems = [t for word in _WORD.findall(span) for t in _stems(word)]
    share = sum(t in q.terms for t in stems) / len(stems) if stems else 1.0
    scale = 1.5 if source in _NAMES | {"role"} else 0.8 if source == "slot" else 0.0
    return 5.0 if share == 1 else scale * share + 0.01 * len(span.split())


def _candidates(source: str, s: _Sentence, q: Question, surnames: set[str]) -> list[tuple[int, int]]:
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
        spans = _typed(sentence)[source]
    elif source in _NAMES:
        spans = _names(sentence, source, surnames, q.plural)
    elif source == "role":
        spans = [m.span() for m in (_BARE_ROLE if q.kind == "role" else _ROLE).finditer(sentence)]
    else:
        spans = [m.span(1) for m in (_QUOTED if source == "quoted" else _REASON).finditer(sentence)]
    # cite() trims edge punctuation, so a span of nothing else cannot be cited.
    return [(a + s.start, b + s.start) for a, b in spans if sentence[a:b].strip(" \t\n,;:")]


def _typed(sentence: str) -> dict[str, list[tuple[int, int]]]:
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
    for a, b in _runs(sentence, spans=True):
        person, before = _personal(sentence[a:b], surnames), sentence[:a]
        if (kind == "person") == person and (
            kind in {"person", "org"}
            or (kind == "outlet" and _attributed(before, sentence[b:]))
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


def _runs(sentence: str, spans: bool = False) -> list:
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


def _personal(name: str, surnames: set[str]) -> bool:
    """Two or three plain capitalised words with no company word, or the surname of such a name in the passages."""
    words = name.split()
    if len(words) == 1:
        return name in surnames
    return len(words) <= 3 and all(
        re.fullmatch(r"[A-Z][a-z]+(?:-[A-Z][a-z]+)?", w) and w.lower() not in _NOT_PERSON for w in words
    )


def _slot(s: _Sentence, k: int, located: bool = False) -> list[tuple[int, int]]:
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


def _modifiers(s: _Sentence, k: int, q: Question) -> int:
    """Index of the first of the modifiers just before word k ("Series F funding" round, a "2-gigawatt" data center)."""
    j = k
    while j > 0 and k - j < 4:
        word, previous = s.word(j - 1), s.word(j - 2).lower() if j > 1 else ""
        verbish = re.search(r"[^s]s$", word) or (
            word.endswith("ed") and previous not in {"a", "an", "the", "in", "its", "their"}
        )
        plain = word.isalpha() and word.islower() and word not in _STOP and not verbish
        named = word[0].isupper() and word.lower() not in _NOT_NAMES and not re.search(r"[’']s$", word)
        if not (plain or named or word in '“”"' or "-" in word or re.search(r"[A-Za-z]\d|\d[A-Za-z]", word)):
            break
        j -= 1
    while j < k and (s.word(j) in '”"' or set(s.words[j][2]) & set(q.terms)):
        j += 1  # modifiers the question already has are not the answer
    return j


def _heads(s: _Sentence, q: Question) -> list[tuple[int, int]]:
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
