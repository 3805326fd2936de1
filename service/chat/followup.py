"""Follow-up questions made to stand alone, extractively: pronouns and ellipses filled from earlier turns, no model."""

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from service.chat.mentions import (
    AUXILIARIES,
    FUNCTION_WORDS,
    NON_PERSON_WORDS,
    NOT_NAMES,
    NOT_NOUNS,
    PREPOSITIONS,
    WH_WORDS,
    Mention,
    mentions,
)
from service.chat.verbs import finite_verb, participle, same_verb

PRONOUN = re.compile(r"(?<![\w’'])(he|she|him|her|his|they|them|their|it|its|there)(?![\w’'])", re.IGNORECASE)
# Adjectives of an impersonal "it is ADJ that/to ...".
IMPERSONAL = (
    "important|possible|impossible|likely|unlikely|clear|true|hard|easy|difficult|necessary|surprising|worth|fair|"
    "common|rare|enough|illegal|legal|unusual|apparent|obvious"
)
EXPLETIVE_IT = re.compile(
    r"\bit(?:\s+\w+){0,2}\s+(?:reported|said|announced|claimed|expected|known|believed|likely|true|possible)\b"
    r"|\bhow\s+long\s+(?:did|does|do|will|would|could|can)\s+it\s+take\b"
    rf"|\bit\s+(?:is|was|'s|’s|become|became|becomes|seems|seemed)\s+(?:{IMPERSONAL})\s+(?:that|to|for)\b"
    rf"|\b(?:is|was)\s+it\s+(?:{IMPERSONAL})\s+(?:that|to|for)\b"
    r"|\bwhat\s+(?:is|was)\s+it\s+like\b",
    re.I,
)
LEADING_CONJUNCTION = re.compile(r"^(?:and|but|so|also|then)\s*,?\s+", re.IGNORECASE)
ELLIPSIS = re.compile(r"^(?:(?:and|but|so)\s+)?(?:(?:what|how)\s+about\s+|and\s+)(?P<rest>.+)$", re.IGNORECASE)
FRAGMENT = re.compile(
    r"^(?:(?:in|on|at|for|from|with|by|to|since|until|during|after|before)\s+)?"
    r"(?:(?:which|what(?!\s+about\b)|whose)(?:\s+[\w-]+){0,3}|how(?:\s+(?:much|many|long|often|big|old))?|why|when|where|who)$",
    re.IGNORECASE,
)
YES_NO_FRAGMENT = re.compile(r"^(?:why|when|where|how(?:\s+much)?)$", re.IGNORECASE)
SAYING = (
    r"(?:said|says|say|announced|announces|claimed|claims|stated|states|confirmed|confirms|thinks|thought|believes|"
    r"believed|expects|expected|hopes|hoped|promised|promises|warned|warns|told\s+\w+)"
)
REPORTED_SUBJECT = re.compile(rf"^(?:(?P<who>who)|(?:which|what)\s+[a-z]+)\s+{SAYING}(?:\s+that)?$", re.IGNORECASE)
SAYING_BASE = r"(?:say|claim|announce|state|confirm|think|believe|expect|hope|promise|warn|tell\s+\w+)"
REPORTED_BY = re.compile(
    rf"^(?:what|how|when|why|where|whom?)\s+(?:did|does|do|will|would)\s+(?P<speaker>.+?)\s+{SAYING_BASE}(?:\s+that)?$",
    re.IGNORECASE,
)
ABOUT = re.compile(r"^(?:(?:and|but|so)\s+)?(?:what|how)\s+about\s+", re.IGNORECASE)
WH_SUBJECT = re.compile(
    r"^(?:who|(?:which|what)(?:\s+[\w-]+){0,2}\s+([a-z]+))\s+(is|are|was|were|has|have|had)\s+[a-z]+(?:ing|ed|en)\b",
    re.IGNORECASE,
)
FINITE_BE = frozenset(["is", "are", "was", "were"])
# Words after which a word is a noun: 'the building', 'its founding', 'a gathering'.
NOUN_MARKERS = frozenset(
    ["the", "a", "an", "its", "their", "his", "her", "our", "my", "your", "this", "that", "these", "those"]
)
ABSTENTIONS = ("the articles don't say", "the articles do not say", "no answer", "i don't know", "i do not know")


@dataclass(frozen=True)
class Turn:
    role: str
    content: str


@dataclass(frozen=True)
class Resolution:
    question: str
    original: str
    note: str | None = None


@dataclass(frozen=True)
class Exchange:
    number: int
    question: str
    answer: str | None = None


def resolve_followup(messages: Sequence[Turn]) -> Resolution:
    """The last user message rewritten to stand alone, using earlier user questions and the answers after them."""
    exchanges: list[Exchange] = []
    resolution: Resolution | None = None
    for turn in messages:
        if turn.role == "user":
            resolution = _resolve(turn.content.strip(), exchanges)
            exchanges.append(Exchange(len(exchanges) + 1, resolution.question))
        elif turn.role == "assistant" and exchanges:
            exchanges[-1] = replace(exchanges[-1], answer=answer_text(turn.content))
    if resolution is None:
        raise ValueError("no user message to resolve")
    return resolution


def answer_text(content: str) -> str | None:
    """The answer an assistant turn starts with, without its citation; None for an abstention."""
    first = content.strip().split("\n", 1)[0]
    first = re.split(r" — | \[", first, maxsplit=1)[0].strip().rstrip(".")
    if not first or first.lower().startswith(ABSTENTIONS):
        return None
    return first


def _resolve(question: str, exchanges: list[Exchange]) -> Resolution:
    unchanged = Resolution(question, question, None)
    if not exchanges or not question:
        return unchanged
    previous = exchanges[-1]
    body = " ".join(question.split()).rstrip("?.! ")
    asks = question.rstrip().endswith("?")
    rewritten = _substitute(body, previous, asks) or _graft(body, previous) or _replace_references(body, exchanges)
    if rewritten is None:
        return unchanged
    text, note = rewritten
    return Resolution(text[:1].upper() + text[1:].rstrip("?.! ") + "?", question, note)


def _substitute(body: str, previous: Exchange, asks: bool) -> tuple[str, str] | None:
    """'And OpenAI?', 'What about xAI?', 'and in 2020?', 'what about google?': the previous question with the new
    mention swapped in. Without 'and' or 'what about' only a lone name asked as a question ('OpenAI?') is one: 'Thanks'
    or 'Great!' is not."""
    match = ELLIPSIS.match(body)
    rest = match.group("rest") if match else body
    words = rest.split()
    if not words or len(words) > 6 or words[0].lower() in WH_WORDS | AUXILIARIES or PRONOUN.fullmatch(words[0]):
        return None
    new = mentions(rest)
    if not new and match and ABOUT.match(body) and len(words) <= 3 and _plain_name(words):
        new = [Mention(rest, "name", 0, len(rest), False)]  # a name typed in lower case: 'what about google?'
    if not new or (match is None and (new[0].text != rest or not asks)):
        return None
    mention, asked = _listed(rest, new), previous.question.rstrip("?.! ")
    targets = [m for m in mentions(asked) if m.category == mention.category and m.text != mention.text]
    where = f"question {previous.number}"
    if targets:
        target = max(targets, key=lambda m: (m.kind == mention.kind, m.subject, m.start))
        text = asked[: target.start] + mention.text + asked[target.end :]
        return text, f"{where} asked again with '{mention.text}' for '{target.text}'"
    if words[0].lower() in PREPOSITIONS:
        return f"{asked} {rest}", f"{where} asked again, adding '{rest}'"
    return None


def _plain_name(words: list[str]) -> bool:
    """Words that could be a name typed in lower case: letters only, none a function, time or courtesy word."""
    return all(w.isalpha() and w.lower() not in FUNCTION_WORDS | NOT_NAMES for w in words)


def _listed(text: str, found: list[Mention]) -> Mention:
    """The first mention, or all of them as one where the text lists several of its kind: 'Microsoft and Google'."""
    first, last = found[0], found[-1]
    between = re.sub(r"\b(?:and|or)\b|,", " ", text[first.start : last.end])
    for mention in found:
        between = between.replace(mention.text, " ")
    if len(found) == 1 or between.strip() or any(m.category != first.category for m in found):
        return first
    return Mention(text[first.start : last.end], first.kind, first.start, last.end, first.subject)


def _graft(body: str, previous: Exchange) -> tuple[str, str] | None:
    """'Why?', 'In which funding round?': the fragment takes the place of the previous question's wh-phrase."""
    fragment = LEADING_CONJUNCTION.sub("", body)
    if not FRAGMENT.match(fragment) or set(fragment.lower().split()[1:]) & (AUXILIARIES | {"it", "he", "she", "they"}):
        return None
    words = previous.question.rstrip("?.! ").split()
    if words and words[0].lower() in AUXILIARIES and YES_NO_FRAGMENT.match(fragment):
        # 'Did Meta buy a stake in Scale?' 'Why?': the fragment asks about the whole yes/no question
        text = " ".join([fragment[:1].upper() + fragment[1:], words[0].lower(), *words[1:]])
        return text, f"'{body}?' completed from question {previous.number}"
    verb = next((i for i, w in enumerate(words[1:], 1) if w.lower() in AUXILIARIES), None)
    if verb is None and words and words[0].lower() in WH_WORDS:
        return _graft_on_subject(body, fragment, words, previous)
    if not words or words[0].lower() not in WH_WORDS or verb is None or verb + 1 >= len(words):
        return None
    after = words[verb + 1]
    fragment = fragment[:1].upper() + fragment[1:]
    where = f"question {previous.number}"
    if _asks_what_something_is(words, verb):
        if previous.answer is None:
            return None  # 'What is the capital of France?' unanswered: 'Why?' has nothing to ask about
        text = " ".join([fragment, words[verb], previous.answer, *words[verb + 1 :]])
        return text, f"'{body}?' completed from {where} and its answer '{previous.answer}'"
    if after[:1].isupper() or after[:1].isdigit() or after.lower() in FUNCTION_WORDS:
        return " ".join([fragment, *words[verb:]]), f"'{body}?' completed from {where}"
    if previous.answer is None:
        return None  # the wh-phrase was the subject; without its answer there is nothing to put there
    text = " ".join([fragment, words[verb], previous.answer, *words[verb + 1 :]])
    return text, f"'{body}?' completed from {where} and its answer '{previous.answer}'"


def _asks_what_something_is(words: list[str], verb: int) -> bool:
    """'What is the capital of France?', 'Who was Meta's CEO?': 'what' or 'who' asks for what a thing is (a form of 'be'
    with no participle after it), so the answer, not the wh-word's place, completes a fragment: 'Why is Paris the
    capital of France?'. 'What is Meta building?' and 'What was it valued at?' ask about a verb's object instead. A
    name, or a word after a determiner or a superlative ('the tallest building'), is a noun, not a participle."""
    if words[0].lower() not in {"what", "who"} or words[verb].lower() not in FINITE_BE:
        return False
    rest = words[verb + 1 :]
    return not any(
        participle(word)
        and not word[:1].isupper()
        and not (position and (rest[position - 1].lower() in NOUN_MARKERS or rest[position - 1].endswith("est")))
        for position, word in enumerate(rest)
    )


def _graft_on_subject(body: str, fragment: str, words: list[str], previous: Exchange) -> tuple[str, str] | None:
    """'Who founded Scale?' 'Why?': with no auxiliary, the wh-phrase ('Who', 'Which tech company') was the subject of
    a verb in the past or present tense. Its answer takes the subject's place and the verb its base form after the
    auxiliary of that tense: 'Why did Alexandr Wang found Scale?'."""
    asked_by = words[0].lower()
    if asked_by not in {"who", "which", "what"}:
        return None  # 'Whose' asks for an owner, 'How' or 'Why' for no subject
    found = None
    for position, word in enumerate(words[1:4], 1):
        if word.lower() in FUNCTION_WORDS:
            return None
        verb = None if word[:1].isupper() else finite_verb(word)
        if verb is not None:
            found = position, verb
            break
    if found is None or previous.answer is None:
        return None  # no such verb, or nothing to put in the subject's place
    position, verb = found
    if (position == 1) != (asked_by == "who"):
        return None  # 'What happened?' answers with an event; 'Which' and 'What' come with a noun
    rest = words[position + 1 :]
    text = " ".join([fragment[:1].upper() + fragment[1:], verb.auxiliary, previous.answer, verb.base, *rest])
    return text, f"'{body}?' completed from question {previous.number} and its answer '{previous.answer}'"


def _replace_references(body: str, exchanges: list[Exchange]) -> tuple[str, str] | None:
    """Pronouns, and 'that company' after 'Which company ...?', replaced by what they refer to."""
    text = LEADING_CONJUNCTION.sub("", body)
    own = mentions(text)
    notes: list[str] = []
    used: set[str] = set()
    for match in reversed(list(PRONOUN.finditer(text))):
        pronoun = match.group().lower()
        if (pronoun == "it" and EXPLETIVE_IT.search(text)) or (pronoun == "there" and _existential(text, match)):
            continue
        possessive = pronoun in {"his", "its", "their"} or (pronoun == "her" and _before_noun(text, match.end()))
        person = pronoun in {"he", "she", "him", "his", "her"}
        thing = pronoun in {"it", "its"}  # never a person: 'What did Tomas Berg say it would cost?' looks back
        if any(
            m.start < match.start()
            and (m.kind == "person" if person else m.subject and not (thing and m.kind == "person"))
            for m in own
        ):
            continue  # refers to a name in the same question
        if _reports_its_subject(text[: match.start()], pronoun):
            continue  # 'Which company said it would ...': the pronoun is the wh-subject
        if _reports_an_organisation(text[: match.start()], pronoun):
            continue  # 'What did the Google spokesperson say it would do?': 'it' is Google
        if possessive and _wh_subject_owns(text, pronoun):
            continue
        subject = match.start() == 0 or text[: match.start()].split()[-1].lower() in AUXILIARIES | WH_WORDS
        parallel = _parallel_subject(text, match, exchanges[-1]) if subject and not person else None
        found = parallel or _referent(pronoun, person, possessive, subject, exchanges, used)
        if found is None:
            continue
        referent, source = found
        used.add(referent)
        replacement = _possessive(referent) if possessive else f"at {referent}" if pronoun == "there" else referent
        text = text[: match.start()] + replacement + text[match.end() :]
        notes.append(f"'{match.group()}' read as '{referent}', {source}")
    previous = exchanges[-1]
    for match in re.finditer(r"\b(?:that|this|the same)\s+([a-z]+)", text, re.IGNORECASE):
        asked = re.search(rf"\b(?:which|what)\s+{re.escape(match.group(1).rstrip('s'))}s?\b", previous.question, re.I)
        if asked and previous.answer and not PRONOUN.fullmatch(match.group(1)):
            text = text[: match.start()] + previous.answer + text[match.end() :]
            notes.append(f"'{match.group()}' read as '{previous.answer}', the answer to question {previous.number}")
            break
    else:
        demonstrative = _demonstrative(text, previous)
        if demonstrative:
            text, note = demonstrative
            notes.append(note)
    return (text, "; ".join(reversed(notes))) if notes else None


def _demonstrative(text: str, previous: Exchange) -> tuple[str, str] | None:
    """'How much were those offers worth?' after the answer 'giant offers': 'those offers' -> 'the giant offers', the
    noun phrase of the previous answer that ends in the same noun (up to two words before it, no verb or function
    word among them), so the question names what the conversation is about."""
    match = re.search(r"\b(?:that|this|these|those)\s+([a-z]+)\b", text, re.IGNORECASE)
    if not match or not previous.answer or match.group(1).lower() in FUNCTION_WORDS:
        return None
    stem = match.group(1).lower().rstrip("s")
    if len(stem) <= 2:
        return None
    words = [word.strip("“”\"'‘’,.;:()") for word in previous.answer.split()]
    end = next((i for i, word in enumerate(words) if word.lower().rstrip("s") == stem), None)
    if end is None:
        return None
    start = end
    while start > max(0, end - 2):
        before = words[start - 1]
        if not before or before.lower() in FUNCTION_WORDS or before.lower().endswith("ing"):
            break
        start -= 1
    phrase = " ".join(words[start : end + 1])
    if start == end and phrase.lower() == match.group(1).lower():
        return None  # the answer adds nothing to the noun itself
    replacement = f"the {phrase}"
    note = f"'{match.group()}' read as '{replacement}', the answer to question {previous.number}"
    return text[: match.start()] + replacement + text[match.end() :], note


def _parallel_subject(text: str, pronoun: re.Match[str], previous: Exchange) -> tuple[str, str] | None:
    """'Which company did Meta take a stake in?' 'Scale' 'How much did they take?': the pronoun is the subject of the
    verb the previous question's subject had, so it is that subject again, not the answer."""
    verb = text[pronoun.end() :].split()[:1]
    if not verb:
        return None
    for mention in mentions(previous.question):
        after = previous.question[mention.end :].split()[:1]
        if (
            mention.subject
            and mention.kind != "person"
            and after
            and after[0].lower() not in FUNCTION_WORDS
            and same_verb(after[0], verb[0])
        ):
            return mention.text, f"the subject of '{after[0]}' in question {previous.number}"
    return None


def _referent(
    pronoun: str, person: bool, possessive: bool, subject: bool, exchanges: list[Exchange], used: set[str]
) -> tuple[str, str] | None:
    """The most recent fitting entity: a person for he/she, an organisation or thing for it/they/there."""
    for exchange in reversed(exchanges):
        candidates: list[tuple[str, str]] = []
        if exchange.answer:
            answer_mentions = mentions(exchange.answer)
            where = f"the answer to question {exchange.number}"
            if person:
                candidates += [(m.text, where) for m in answer_mentions if m.kind == "person"]
            else:
                people = [m.text for m in answer_mentions if m.kind == "person"]
                if pronoun in {"they", "them", "their"} and people:  # 'Which researchers ...?' 'A and B'
                    candidates.append((" and ".join(people), where))
                candidates += [(m.text, where) for m in answer_mentions if m.kind == "name"]
                if pronoun == "it" and not possessive and _introduces_thing(exchange):
                    candidates.append((re.sub(r"^(?:a|an)\s+", "the ", exchange.answer, flags=re.I), where))
        asked = mentions(exchange.question)
        where = f"from question {exchange.number}"
        if person:
            candidates += [(m.text, where) for m in asked if m.kind == "person"]
            if not any(c[1].startswith("the answer") for c in candidates):  # no name answered: describe the person
                candidates += [(d, where) for d in [_describe_who(exchange.question)] if d]
        else:
            names = sorted((m for m in asked if m.kind == "name"), key=lambda m: m.subject != subject)
            candidates += [(m.text, where) for m in names]
            if pronoun in {"they", "them", "their"}:
                candidates += [(m.text, where) for m in asked if m.kind == "person"]
        fresh = [c for c in candidates if c[0] not in used]
        if fresh:
            return fresh[0]
    return None


def _describe_who(question: str) -> str | None:
    """'Who is OpenAI's CEO?' -> "OpenAI's CEO"; 'Who founded Scale AI?' -> 'the person who founded Scale AI'."""
    match = re.match(
        r"(?i)who\s+(?:(?:is|was)\s+(?P<described>.+)|(?P<rest>(?!(?:did|does|do)\b).+))$", question.rstrip("?.! ")
    )
    if not match:
        return None
    return match.group("described") or f"the person who {match.group('rest')}"


def _introduces_thing(exchange: Exchange) -> bool:
    """'What is Meta developing?' answered 'a 2-gigawatt data center': an indefinite noun phrase is a new 'it'."""
    answer = exchange.answer or ""
    asked_what = exchange.question.split()[0].lower() in {"what", "which"}
    return (
        asked_what
        and bool(re.match(r"(?i)(?:a|an|the)\s+\S", answer))
        and not any(m.kind == "person" for m in mentions(answer))
    )


def _reports_its_subject(before: str, pronoun: str) -> bool:
    """'Which company said it would stop?', 'Who said they would go?': a subject pronoun right after a verb of saying
    whose subject is the question's own wh-phrase stands for that phrase, not for anything earlier."""
    match = REPORTED_SUBJECT.match(before.strip())
    if not match or pronoun not in {"it", "they", "he", "she"}:
        return False
    return pronoun in {"he", "she", "they"} if match.group("who") else pronoun in {"it", "they"}


def _reports_an_organisation(before: str, pronoun: str) -> bool:
    """'What did the Google spokesperson say it would do?', 'What did Northwind Bakeries announce it would close?':
    'it' or 'they' right after a verb of saying whose speaker names an organisation stands for it. The name must be
    one: a modifier of a common noun ('the Google spokesperson') or a name with a company word in it. A speaker who is
    a person ('What did Tomas Berg say it would cost?', 'What did the lawyer Sean O'Brien say it would cost?') leaves
    'it' to refer back."""
    match = REPORTED_BY.match(before.strip())
    if not match or pronoun not in {"it", "they"}:
        return False
    speaker = match.group("speaker").strip()
    return any(
        m.kind == "name"
        and (bool(re.match(r"\s+[a-z]", speaker[m.end :])) or bool(NON_PERSON_WORDS & set(m.text.lower().split())))
        for m in mentions(speaker)
    )


def _wh_subject_owns(text: str, pronoun: str) -> bool:
    """'Which company is phasing out its ...': a possessive agreeing with a wh-subject refers to it."""
    match = WH_SUBJECT.match(text)
    if not match:
        return False
    plural = (match.group(1) or "").lower().endswith("s") or match.group(2).lower() in {"are", "were", "have"}
    return (pronoun == "their") == plural


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _before_noun(text: str, end: int) -> bool:
    """Whether "her" ending at `end` is a possessive: a noun follows ("her title", "her first job"), not an adverb
    that ends the clause ("offer her more", "saw her again")."""
    following = [word.lower().strip(",;:") for word in text[end:].split()]
    if not following or following[0] in FUNCTION_WORDS | PREPOSITIONS:
        return False
    clause_ends = len(following) == 1 or following[1] in FUNCTION_WORDS | PREPOSITIONS
    return not (following[0] in NOT_NOUNS and clause_ends)


def _existential(text: str, match: re.Match[str]) -> bool:
    before = text[: match.start()].split()
    after = text[match.end() :].split()
    be = FINITE_BE | {"be", "been"}
    return bool((before and before[-1].lower() in be) or (after and after[0].lower() in be))
