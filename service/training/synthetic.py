"""Synthetic cloze questions for pre-training the span reader, made from the training paragraphs themselves.

A typed span of a sentence (an amount, a date, a count, a name) is the answer; the question is a wh-word for its type
followed by the words around it, e.g. "the university was founded in 1636 by vote of the legislature" gives
"When the university was founded in by vote of the legislature?" -> "1636". Template questions of this kind are a
known warm-up for extractive readers when labelled questions are few (Lewis et al. 2019; Fabbri et al. 2020): they teach
where answers of each type start and end before the real questions teach what is asked.
"""

import random
import re

from eval.squad import SquadQuestion
from index.sentences import sentence_spans
from service.training.candidates import capitalised_runs, is_person_name, typed_spans

_WH = {
    "money": "How much",
    "percent": "What percentage",
    "date": "When",
    "duration": "How long",
    "quantity": "How much",
    "count": "How many",
    "person": "Who",
    "name": "What",
}
# A span glued to more of a name or an expression on either side: its boundaries would teach the wrong thing.
_GLUED_BEFORE = re.compile(r"(?:\b[A-Z][\w.&'-]*|\b[A-Z]\w* (?:and|&)|\bof|\bthe|[-–(/])\s*$")
_GLUED_AFTER = re.compile(r"\w|\s*(?:[A-Z]|of [A-Z]|[-–)/])")
CONTEXT_WORDS = 10
YEAR = re.compile(r"\b1\d{3}\b|\b20\d\d\b")


def name_kind(name: str) -> str:
    """The kind of a capitalised name: person, or any other name."""
    return "person" if is_person_name(name, set()) else "name"


def cloze_items(sentence: str) -> list[tuple[str, int, int]]:
    """(question, start, end) for each clean typed span of a sentence; offsets are the answer's, in the sentence."""
    spans = [(a, b, kind) for kind, found in typed_spans(sentence).items() for a, b in found]
    spans += [
        (a, b, name_kind(sentence[a:b]))
        for a, b in capitalised_runs(sentence, spans=True)
        if a > 0  # a sentence's first word is capitalised anyway
    ]
    items = []
    for a, b, kind in spans:
        answer = sentence[a:b]
        a += len(answer) - len(answer.lstrip())
        b -= len(answer) - len(answer.rstrip())
        if b <= a or len(sentence[a:b].split()) > 6:
            continue
        if kind == "count" and not re.search(r"\d", sentence[a:b]):
            continue
        if kind == "count" and YEAR.fullmatch(sentence[a:b]):
            kind = "date"  # a year
        if _GLUED_BEFORE.search(sentence[:a]) or _GLUED_AFTER.match(sentence[b:]):
            continue
        words = sentence[:a].split()[-CONTEXT_WORDS:] + sentence[b:].split()[:CONTEXT_WORDS]
        rest = re.sub(r"\s+([,.;:])", r"\1", " ".join(words)).strip(" .!;:,")
        if len(rest.split()) < 4:
            continue
        items.append((f"{_WH[kind]} {rest}?", a, b))
    return items


def cloze_questions(questions: list[SquadQuestion], per_paragraph: int, rng: random.Random) -> list[SquadQuestion]:
    """Up to `per_paragraph` cloze questions for every distinct paragraph the given questions are asked about."""
    paragraphs = {(q.title, q.context): q.paragraph for q in questions}
    made = []
    for (title, context), paragraph in paragraphs.items():
        items = [
            (question, start + a, start + b)
            for start, end in sentence_spans(context)
            if len(context[start:end].split()) >= 6
            for question, a, b in cloze_items(context[start:end])
        ]
        rng.shuffle(items)
        for number, (question, start, end) in enumerate(items[:per_paragraph]):
            made.append(
                SquadQuestion(
                    f"cloze-{title}-{paragraph}-{number}",
                    title,
                    paragraph,
                    context,
                    question,
                    (context[start:end],),
                    (start,),
                )
            )
    return made
