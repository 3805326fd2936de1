"""What answering works with: passages in, cited answers out, and the seam every answerer fits."""

import unicodedata
from dataclasses import dataclass, field
from typing import Protocol

from index.sentences import sentence_around, sentence_spans


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: `text == document_text[start:end]`."""

    document_id: str
    title: str
    start: int
    end: int
    text: str
    score: float
    dense_score: float = 0.0
    lexical_score: float = 0.0


@dataclass(frozen=True)
class Context:
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Answer:
    """An exact span of a document: `text == document_text[start:end]`, with the sentence(s) around it."""

    text: str
    document_id: str
    title: str
    start: int
    end: int
    score: float
    context: Context


@dataclass(frozen=True)
class AnswerResult:
    answer: Answer | None
    alternatives: list[Answer] = field(default_factory=list)
    reason: str | None = None


class Answerer(Protocol):
    name: str
    top_k: int  # how many passages it reads best from: the default when a request and QA_TOP_K give none

    def answer(self, question: str, passages: list[Passage]) -> AnswerResult:
        """The best span in the passages, or answer=None with a reason."""
        ...

    def answer_many(self, items: list[tuple[str, list[Passage]]]) -> list[AnswerResult]:
        """`answer` for several questions at once (a model answers them in one batched pass)."""
        ...


def cite(passage: Passage, start: int, end: int, score: float) -> Answer:
    """An Answer for `passage.text[start:end]`, in document offsets, with the enclosing sentence as context."""
    if not 0 <= start < end <= len(passage.text):
        raise ValueError(f"span [{start}:{end}] is outside a passage of {len(passage.text)} characters")
    start, end = _whole_characters(passage.text, *_balanced(passage.text, *_trimmed(passage.text, start, end)))
    text = passage.text
    if start == end:
        raise ValueError("span is only whitespace or punctuation")
    context_start, context_end = sentence_around(sentence_spans(text), start, end)
    return Answer(
        text=text[start:end],
        document_id=passage.document_id,
        title=passage.title,
        start=passage.start + start,
        end=passage.start + end,
        score=score,
        context=Context(text[context_start:context_end], passage.start + context_start, passage.start + context_end),
    )


OPENING = {"“": "”", "(": ")", "[": "]"}
CLOSING = {close: opening for opening, close in OPENING.items()}


def _balanced(text: str, start: int, end: int) -> tuple[int, int]:
    """Take in the partner of a quote mark or bracket the span leaves unpaired, where it is the very next character
    outside the span ('superintelligence” unit' gives '“superintelligence” unit', 'Wednesday (June 18' gives
    'Wednesday (June 18)'); a partner further away is left out, and the span as it is."""
    if start >= end:
        return start, end
    if _unpaired(text[start:end], '"'):  # an odd count of straight quotes
        if end < len(text) and text[end] == '"':
            end += 1
        elif start > 0 and text[start - 1] == '"':
            start -= 1
    for opening, closing in OPENING.items():
        span = text[start:end]
        if span.count(opening) > span.count(closing) and end < len(text) and text[end] == closing:
            end += 1
        elif span.count(closing) > span.count(opening) and start > 0 and text[start - 1] == opening:
            start -= 1
    return start, end


def _whole_characters(text: str, start: int, end: int) -> tuple[int, int]:
    """With the combining marks of the span's first and last letters: the tokenizer gives a decomposed accent no
    offsets of its own ('Jose\u0301' is read as 'jose', offsets 0-4), so a span would end before it."""
    while end < len(text) and unicodedata.combining(text[end]):
        end += 1
    while start > 0 and unicodedata.combining(text[start]):
        start -= 1
    return start, end


def _unpaired(span: str, mark: str) -> bool:
    """Whether a quote mark or bracket at the span's edge lacks its partner inside the span."""
    if mark == '"':
        return span.count('"') % 2 == 1
    partner = OPENING.get(mark) or CLOSING.get(mark)
    return partner is not None and partner not in span


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """Without whitespace and stray punctuation that a tokenizer's offsets can leave at the edges, nor a quote mark or
    bracket whose partner lies outside the span ('“giant offers' gives 'giant offers'; '“superintelligence”' stays)."""
    while True:
        before = (start, end)
        while start < end and (text[start].isspace() or text[start] in ",;:"):
            start += 1
        while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:"):
            end -= 1
        span = text[start:end]
        if span and span[0] in OPENING.keys() | {'"'} and _unpaired(span, span[0]):
            start += 1
        elif span and span[-1] in CLOSING.keys() | {'"'} and _unpaired(span, span[-1]):
            end -= 1
        if (start, end) == before:
            return start, end


def distinct(answers: list[Answer]) -> list[Answer]:
    """Drop answers that repeat a better one: the same document span (overlapping chunks) or the same words."""
    kept: list[Answer] = []
    for answer in answers:
        words = " ".join(answer.text.lower().split())
        if any(
            (k.document_id == answer.document_id and k.start < answer.end and answer.start < k.end)
            or " ".join(k.text.lower().split()) == words
            for k in kept
        ):
            continue
        kept.append(answer)
    return kept
