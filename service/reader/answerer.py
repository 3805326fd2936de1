"""The default answerer: the trained span reader over the retrieved passages, in at most two batched passes."""

import math
from dataclasses import replace
from pathlib import Path

from service.answering.answers import AnswerResult, Passage, cite, distinct
from service.reader.span_reader import PassageSpan, SpanReader

MAX_ALTERNATIVES = 4
# Open use reads a question's first READ_FIRST passages (by retrieval rank) alone, and the others only when none of
# their spans has a margin over the reader's calibrated exit margin (`ReaderConfig.open_exit_margin`, never below the
# no-answer threshold). Abstentions are those of reading every passage at once (a question abstains only when no span of
# any passage clears the threshold); an answer changes only where a later passage held a span with a larger margin.
# Figures in the docstring of `ranked_spans_many`.
READ_FIRST = 2


def confidence(margin: float, threshold: float) -> float:
    """Span-over-null margin mapped to [0, 1]; 0.5 sits exactly on the calibrated no-answer threshold."""
    return 1.0 / (1.0 + math.exp(-(margin - threshold)))


class ReaderAnswerer:
    name = "reader"

    def __init__(self, reader: SpanReader, threshold: float | None = None, early_exit: bool = True) -> None:
        """`early_exit`: stop after the first READ_FIRST passages as calibrated for retrieved ones (open use); off,
        every passage is read, as for passages given in no particular order."""
        self.reader = reader
        if threshold is None:
            threshold = reader.config.open_null_threshold
        self.threshold = reader.config.null_threshold if threshold is None else threshold
        self.top_k = reader.config.open_top_k  # the depth its open threshold was calibrated at
        exit_margin = reader.config.open_exit_margin if early_exit else None
        self.exit_margin = None if exit_margin is None else max(exit_margin, self.threshold)

    @classmethod
    def from_dir(cls, folder: Path, bf16: bool | None = None, int8: bool = False) -> "ReaderAnswerer":
        return cls(SpanReader.from_dir(folder, bf16, int8))

    def for_given_passages(self) -> "ReaderAnswerer":
        """This reader, abstaining by the threshold calibrated on each question's own paragraph (reader mode) instead
        of the one calibrated through retrieval (open use), and reading every passage: the exit margin was calibrated
        on passages in retrieval order, and given ones come in any order."""
        return ReaderAnswerer(self.reader, self.reader.config.null_threshold, early_exit=False)

    def warm_up(self, top_k: int) -> None:
        """Build the model's kernels for the shapes `top_k` passages make, before the first request (under a second).

        Chunks are shorter than a reader window, so a request of `top_k` passages is a batch of `top_k` windows."""
        self.reader.warm_up(top_k)

    def ranked_spans(self, question: str, passages: list[Passage]) -> list[PassageSpan]:
        """The spans of every passage, best first; training calibrates the open threshold through this same method.

        Only the reader decides: a rule that abstained when the question named something no passage mentions helped
        on the calibration articles (open F1 60.1 with it, 56.5 without) but cost 4.5 F1 on the held-out test articles
        (48.0 against 52.5; HasAns 56.0 against 59.8), each side with its own calibrated threshold. It refused questions
        that name a thing by another word than the article's."""
        return self.ranked_spans_many([(question, passages)])[0]

    def ranked_spans_many(
        self, items: list[tuple[str, list[Passage]]], exit_margin: float | None = None
    ) -> list[list[PassageSpan]]:
        """`ranked_spans` for several questions, in at most two batched passes: every question's first READ_FIRST
        passages, then the other passages of the questions whose best span so far has a margin of at most
        `exit_margin` (None: of every question). The spans of both passes are ranked together.

        With reader v2 and its exit margin calibrated (2.30; `qa train-reader … --calibrate-only`), against the same
        reader reading every passage (2026-12-07, AMD EPYC without bfloat16, float32): held-out test articles open F1
        52.55 against 52.87 (`qa eval … --articles held-out --mode open`), NoAns 32.7% either way, 55% of questions
        answered from their first two passages; gold F1 76.13 either way; over the gold questions in one process,
        alternating (/work/scratch/cascade/ab_speed.py in issue 15's note), one at a time p50 115.3 -> 65.3 ms, sixteen
        at a time 10.7 -> 15.0 questions/s. Stopping as soon as a span clears the no-answer threshold (exit margin =
        threshold) reads less but cost 3.4 F1 on the gold set (5 answers worse, none better) and 0.5 held-out."""
        ranked = self._read(items, 0, READ_FIRST)
        more = [
            row
            for row, (_, passages) in enumerate(items)
            if len(passages) > READ_FIRST
            and (exit_margin is None or not ranked[row] or ranked[row][0].margin <= exit_margin)
        ]
        if more:
            for row, spans in zip(more, self._read([items[row] for row in more], READ_FIRST, None), strict=True):
                ranked[row] = sorted(ranked[row] + spans, key=lambda span: span.margin, reverse=True)
        return ranked

    def _read(self, items: list[tuple[str, list[Passage]]], first: int, last: int | None) -> list[list[PassageSpan]]:
        """The ranked spans of each question's passages[first:last] in one batched pass, numbered as in the whole list."""
        outputs = self.reader.read_batch(
            [(question, [p.text for p in passages[first:last]]) for question, passages in items]
        )
        return [[replace(span, passage=span.passage + first) for span in output.ranked()] for output in outputs]

    def answer(self, question: str, passages: list[Passage]) -> AnswerResult:
        return self.answer_many([(question, passages)])[0]

    def answer_many(self, items: list[tuple[str, list[Passage]]]) -> list[AnswerResult]:
        return [
            self._decide(passages, spans)
            for (_, passages), spans in zip(items, self.ranked_spans_many(items, self.exit_margin), strict=True)
        ]

    def _decide(self, passages: list[Passage], spans: list[PassageSpan]) -> AnswerResult:
        candidates = []
        for span in spans:
            if span.margin <= self.threshold:
                break
            try:
                candidates.append(
                    cite(passages[span.passage], span.start, span.end, confidence(span.margin, self.threshold))
                )
            except ValueError:
                continue  # a span of only punctuation
        answers = distinct(candidates)
        if not answers:
            return AnswerResult(None, [], "The articles don't say: no passage answers this question.")
        return AnswerResult(answers[0], answers[1 : 1 + MAX_ALTERNATIVES], None)
