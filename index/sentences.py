"""Sentence boundaries as character spans, from pysbd, checked against the text."""

from functools import lru_cache

import pysbd


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False, char_span=True)


@lru_cache(maxsize=8192)
def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """(start, end) of each sentence, trimmed of surrounding whitespace, in order (cached: chunks recur across questions)."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in _segmenter().segment(text):
        # pysbd's own offsets can drift on repeated sentences; find each piece from where the last one ended.
        sentence = piece.sent.strip()
        start = text.find(sentence, cursor) if sentence else -1
        if start < 0:
            continue
        spans.extend(_split_lines(text, cursor, start))  # text pysbd skipped (it can drop a piece)
        cursor = start + len(sentence)
        spans.extend(_split_lines(text, start, cursor))
    spans.extend(_split_lines(text, cursor, len(text)))  # and text it dropped at the end
    return tuple(spans)


def _split_lines(text: str, start: int, end: int):
    """Blank-line and newline breaks end a sentence too (headings, list items); yields trimmed spans."""
    position = start
    for line in text[start:end].split("\n"):
        line_start, line_end = position, position + len(line)
        position = line_end + 1
        stripped_start = line_start + (len(line) - len(line.lstrip()))
        stripped_end = line_end - (len(line) - len(line.rstrip()))
        if stripped_end > stripped_start:
            yield stripped_start, stripped_end


def sentence_around(spans: tuple[tuple[int, int], ...], start: int, end: int) -> tuple[int, int]:
    """The smallest run of whole sentences that holds [start, end)."""
    first = next((s for s, e in spans if e > start), start)
    last = next((e for s, e in reversed(spans) if s < end), end)
    return min(first, start), max(last, end)
