"""Question typing: stems for matching words, and the answer type and content terms a question asks for."""

import re
from dataclasses import dataclass


def word_set(text: str) -> frozenset[str]:
    """The words of a space-separated list."""
    return frozenset(text.split())


STOP_WORDS = word_set(
    "a an the of in on at to for from by with about into over after before during and or but if than as is are was were "
    "be been being am do does did done has have had will would can could should may might must what what's which who "
    "who's whom whose when where why how much many it its they them their this that these those there he she his her him "
    "i we you our your me my any some other another also so not no now just only up out off very still already both each "
    "company companies firm firms startup startups person year date day month time name kind type sort reason percentage "
    "percent share number news agency outlet newspaper publication organisation organization itself themselves himself "
    "herself describe described describes call called"
)
# Plain-English equivalences (irregular verbs, near-synonyms); nothing here is specific to one corpus.
_SYNONYMS = {
    word: min(word_set(group), key=group.index)
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
    for word in word_set(group)
}
_SUFFIXES = dict(
    pair.partition(":")[::2]
    for pair in word_set("ations ation ments ment ings ing edly ies:y ied:y ers er ed es ly s e")
)
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
TOKEN = re.compile(r"[$€£]?\w+(?:[’'.,\-]\w+)*%?|[^\w\s]")


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


def word_stems(word: str) -> tuple[str, ...]:
    """Stems of a word's content parts: "data-labeling" counts as "data" and "label"."""
    if word.lower().replace("’", "'") in _SYNONYMS:
        return (stem(word),)
    return tuple(
        stem(part) for part in word.split("-") if part and part.lower() not in STOP_WORDS and part[0].isalnum()
    )


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
    words = TOKEN.findall(re.sub(cue, " ", question, flags=re.I))
    terms, named, surface = [], set(), {}
    for i, word in enumerate(words):
        # For "which outlet reported ...", the reporting verb asks for the source; the text may say "according to".
        for term in (t for t in word_stems(word) if kind != "outlet" or t not in {"report", "say", "cit"}):
            surface.setdefault(term, word)
            terms += [term] if term not in terms else []
            if (i > 0 and word[0].isupper()) or re.search(r"\d|[a-z][A-Z]", word):
                named.add(term)
    auxiliary = r"is|was|are|were|does|do|did|has|have|had|will|would|could|can|should|at|in|of"
    head = re.search(rf"\b(?:which|what)(?: (?:kind|type|sort) of)? ((?:[\w-]+ ){{0,3}}?)(?:{auxiliary})\b", lowered)
    heads = {t for w in head.group(1).split() for t in word_stems(w)} if head else set()
    if "name of" in lowered:
        heads |= set(word_stems(words[-2] if words[-1] == "?" else words[-1]))
    owned = re.findall(r"(\w+)['’]s\s+(\w+)", question)  # "Meta's CEO", and "the CEO of Meta" below
    owned += [(owner, noun) for noun, owner in re.findall(r"(\w+) of (?:the )?(\w*[A-Z]\w*)", question)]
    owners = {stem(noun): stem(owner) for owner, noun in owned}
    plural = re.search(r"\b(?:which|what) (?:\w+ )?(?:companies|firms|startups|organi[sz]ations|businesses)\b", lowered)
    needs_name = kind == "person" and "name of" in lowered
    return Question(kind, tuple(terms), frozenset(named), surface, frozenset(heads), owners, bool(plural), needs_name)
