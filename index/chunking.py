"""Sentence-aware chunks that remember where they stand: document.text[chunk.start:chunk.end] == chunk.text."""

from collections.abc import Callable
from dataclasses import dataclass

from index.documents import Document
from index.sentences import sentence_spans


@dataclass(frozen=True)
class ChunkingSettings:
    max_tokens: int = 96
    overlap_sentences: int = 1


@dataclass(frozen=True)
class Chunk:
    document_id: str
    start: int
    end: int
    text: str


def approximate_tokens(text: str) -> int:
    """A word-piece estimate that needs no tokenizer: about 1.3 pieces a word."""
    return int(len(text.split()) * 1.3) + 1


def chunk_document(
    document: Document, settings: ChunkingSettings, count_tokens: Callable[[str], int] = approximate_tokens
) -> list[Chunk]:
    """Windows of whole sentences up to `max_tokens`, each starting `overlap_sentences` before the last one ended.

    A single sentence longer than the limit stands alone as its own chunk rather than being cut mid-sentence.
    """
    text = document.text
    spans = sentence_spans(text)
    sizes = [count_tokens(text[s:e]) for s, e in spans]
    chunks: list[Chunk] = []
    first = 0
    while first < len(spans):
        last = first
        total = sizes[first]
        while last + 1 < len(spans) and total + sizes[last + 1] <= settings.max_tokens:
            last += 1
            total += sizes[last]
        start, end = spans[first][0], spans[last][1]
        chunks.append(Chunk(document.id, start, end, text[start:end]))
        if last + 1 >= len(spans):
            break
        first = _next_first(sizes, first, last, settings)
    return chunks


def _next_first(sizes: list[int], first: int, last: int, settings: ChunkingSettings) -> int:
    """Where the next window starts: up to `overlap_sentences` back, but never so far back that it adds no new sentence."""
    start = max(last + 1 - settings.overlap_sentences, first + 1)
    while start <= last and sum(sizes[start : last + 2]) > settings.max_tokens:
        start += 1
    return start
