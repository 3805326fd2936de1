"""Sentence-aware chunks that remember where they stand: document.text[chunk.start:chunk.end] == chunk.text."""

import re
from collections.abc import Callable
from dataclasses import dataclass

from index.documents import Document
from index.sentences import sentence_spans


@dataclass(frozen=True)
class ChunkingSettings:
    max_tokens: int = 96
    overlap_sentences: int = 1
    # A paragraph (a line of text) of at most this many tokens is never split: it is one unit of a chunk, and a chunk of
    # its own where it is longer than `max_tokens`. 0: chunks are sentence windows that may cut a paragraph.
    paragraph_tokens: int = 0

    def __str__(self) -> str:
        """As messages name it: the QA_CHUNK_* settings' values, not a Python repr."""
        return (
            f"max_tokens {self.max_tokens}, overlap_sentences {self.overlap_sentences},"
            f" paragraph_tokens {self.paragraph_tokens}"
        )


@dataclass(frozen=True)
class Chunk:
    document_id: str
    start: int
    end: int
    text: str


# No English word is this long: a longer run without spaces (a list joined by commas, a URL, Chinese) is cut into
# pieces of this many characters where a sentence must be cut.
LONGEST_WORD_CHARACTERS = 64


def approximate_tokens(text: str) -> int:
    """A word-piece estimate that needs no tokenizer: about 1.3 pieces a word, and never under one piece for every 8
    characters, so that text without spaces ('a,b,c,...', Chinese) counts too (English prose is about one piece
    for every 4-5 characters, so the floor leaves its estimate as it was)."""
    return max(int(len(text.split()) * 1.3), len(text) // 8) + 1


# About what the embedder reads of a chunk (all-MiniLM-L6-v2 stops at 256 word pieces): a longer "sentence", such as
# unpunctuated text on one line, would be a chunk whose end no search can find and which the reader reads in dozens of
# windows. No sentence of the bundled articles or the SQuAD share's 1,425 paragraphs is that long but one (298, in a
# training article); the longest after it is 219.
LONGEST_SENTENCE_TOKENS = 256


def chunk_units(
    text: str, max_tokens: int, count_tokens: Callable[[str], int] = approximate_tokens, paragraph_tokens: int = 0
) -> list[tuple[int, int]]:
    """What chunks are made of: the text's sentences, except that one over LONGEST_SENTENCE_TOKENS is cut between
    words into runs of at most `max_tokens`, or of LONGEST_SENTENCE_TOKENS where that is less (a run without spaces
    is cut every LONGEST_WORD_CHARACTERS characters first); with `paragraph_tokens`, the sentences of a paragraph of
    at most that many tokens (and LONGEST_SENTENCE_TOKENS) are one unit."""
    units = _sentence_units(text, max_tokens, count_tokens)
    if not paragraph_tokens:
        return units
    most = min(paragraph_tokens, LONGEST_SENTENCE_TOKENS)
    merged: list[tuple[int, int]] = []
    group: list[tuple[int, int]] = []  # the units of one line so far, in text order
    for unit in units:
        # A line break between two units ends a paragraph; a unit across one (sentence_spans splits there, so none
        # is expected) stands alone.
        if group and "\n" in text[group[-1][0] : unit[1]]:
            merged += _whole(text, group, most, count_tokens)
            group = []
        group.append(unit)
    return merged + _whole(text, group, most, count_tokens)


def _whole(
    text: str, group: list[tuple[int, int]], most: int, count_tokens: Callable[[str], int]
) -> list[tuple[int, int]]:
    """The sentence units of one paragraph as one unit where the paragraph fits in `most` tokens."""
    if len(group) > 1 and count_tokens(text[group[0][0] : group[-1][1]]) <= most:
        return [(group[0][0], group[-1][1])]
    return group


def _sentence_units(text: str, max_tokens: int, count_tokens: Callable[[str], int]) -> list[tuple[int, int]]:
    most = min(max_tokens, LONGEST_SENTENCE_TOKENS)
    units: list[tuple[int, int]] = []
    for start, end in sentence_spans(text):
        if count_tokens(text[start:end]) <= LONGEST_SENTENCE_TOKENS:
            units.append((start, end))
            continue
        words = [
            piece
            for m in re.finditer(r"\S+", text[start:end])
            for piece in _word_pieces(start + m.start(), m.end() - m.start())
        ]
        first = 0
        for index in range(1, len(words) + 1):
            if index == len(words) or count_tokens(text[words[first][0] : words[index][1]]) > most:
                units.append((words[first][0], words[index - 1][1]))
                first = index
    return units


def _word_pieces(start: int, length: int) -> list[tuple[int, int]]:
    """A run without spaces as spans of at most LONGEST_WORD_CHARACTERS, so that it can be cut like words."""
    return [
        (at, min(at + LONGEST_WORD_CHARACTERS, start + length))
        for at in range(start, start + length, LONGEST_WORD_CHARACTERS)
    ]


def chunk_document(
    document: Document, settings: ChunkingSettings, count_tokens: Callable[[str], int] = approximate_tokens
) -> list[Chunk]:
    """Windows of whole sentences up to `max_tokens` (and LONGEST_SENTENCE_TOKENS), each starting `overlap_sentences`
    before the last one ended.

    A single sentence longer than the limit stands alone as its own chunk rather than being cut mid-sentence, unless
    it is over LONGEST_SENTENCE_TOKENS (see chunk_units).
    """
    text = document.text
    most = min(settings.max_tokens, LONGEST_SENTENCE_TOKENS)  # a chunk the embedder reads to its end
    spans = chunk_units(text, most, count_tokens, settings.paragraph_tokens)
    sizes = [count_tokens(text[s:e]) for s, e in spans]
    chunks: list[Chunk] = []
    first = 0
    while first < len(spans):
        last = first
        total = sizes[first]
        while last + 1 < len(spans) and total + sizes[last + 1] <= most:
            last += 1
            total += sizes[last]
        start, end = spans[first][0], spans[last][1]
        chunks.append(Chunk(document.id, start, end, text[start:end]))
        if last + 1 >= len(spans):
            break
        first = _next_first(sizes, first, last, most, settings.overlap_sentences)
    return chunks


def _next_first(sizes: list[int], first: int, last: int, most: int, overlap: int) -> int:
    """Where the next window starts: up to `overlap` sentences back, but never so far back that it adds no new sentence."""
    start = max(last + 1 - overlap, first + 1)
    while start <= last and sum(sizes[start : last + 2]) > most:
        start += 1
    return start
