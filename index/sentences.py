"""Sentence boundaries as character spans, from pysbd, checked against the text."""

import re
from functools import lru_cache

import pysbd

# pysbd's time grows faster than a line's length (30 KB of "a. a. ..." took 40 s); it reads each line in pieces of
# at most this many characters, cut where a sentence most likely ends. No paragraph of the bundled articles or the
# SQuAD files is that long (the longest has 4,063); reading line by line splits 1 of their 20,312 texts otherwise than
# reading it whole (a Dutch_language training paragraph, which pysbd had cut at a parenthesis after a line break).
PIECE_CHARACTERS = 4500
_LIKELY_END = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]*[A-Z0-9])")


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False, char_span=True)


@lru_cache(maxsize=8192)
def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """(start, end) of each sentence, trimmed of surrounding whitespace, in order (cached: chunks recur across questions)."""
    spans: list[tuple[int, int]] = []
    for start, end in _pieces(text):
        spans.extend(_piece_spans(text, start, end))
    return tuple(spans)


def _pieces(text: str):
    """The text's lines (a line break ends a sentence anyway), each cut into pieces of at most PIECE_CHARACTERS: after
    the last likely sentence end in that reach, else at its last space, else at the bound itself."""
    position = 0
    for line in text.split("\n"):
        start, end = position, position + len(line)
        position = end + 1
        while end - start > PIECE_CHARACTERS:
            reach = text[start : start + PIECE_CHARACTERS]
            ends = [m.end() for m in _LIKELY_END.finditer(reach)]
            cut = ends[-1] if ends else (reach.rfind(" ") + 1 or PIECE_CHARACTERS)
            yield start, start + cut
            start += cut
        yield start, end


def _piece_spans(text: str, begin: int, finish: int):
    piece = text[begin:finish]
    cursor = 0
    for segment in _segmenter().segment(piece) if piece.strip() else ():
        # pysbd's own offsets can drift on repeated sentences; find each piece from where the last one ended.
        sentence = segment.sent.strip()
        start = piece.find(sentence, cursor) if sentence else -1
        if start < 0:
            continue
        yield from _trimmed(piece, begin, cursor, start)  # text pysbd skipped (it can drop a piece)
        cursor = start + len(sentence)
        yield from _trimmed(piece, begin, start, cursor)
    yield from _trimmed(piece, begin, cursor, len(piece))  # and text it dropped at the end


def _trimmed(piece: str, offset: int, start: int, end: int):
    """The span piece[start:end] without surrounding whitespace, in the text's offsets; nothing where it is blank."""
    run = piece[start:end]
    if run.strip():
        yield offset + start + (len(run) - len(run.lstrip())), offset + end - (len(run) - len(run.rstrip()))


def sentence_around(spans: tuple[tuple[int, int], ...], start: int, end: int) -> tuple[int, int]:
    """The smallest run of whole sentences that holds [start, end)."""
    first = next((s for s, e in spans if e > start), start)
    last = next((e for s, e in reversed(spans) if s < end), end)
    return min(first, start), max(last, end)
