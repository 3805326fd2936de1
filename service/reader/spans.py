"""Span decoding for extractive readers: the best (start, end) token pairs across windows.

Scores are raw logit sums (start + end), never softmaxed per window, so a span in one passage can be
compared with a span in another and with each window's no-answer ([CLS]) score.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TokenSpan:
    window: int
    start_token: int
    end_token: int
    score: float


def best_token_spans(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    context_mask: np.ndarray,
    max_answer_tokens: int = 30,
    per_window: int = 5,
    n_best: int = 20,
) -> list[TokenSpan]:
    """The highest-scoring valid spans over all windows, best first.

    `start_logits`, `end_logits` and `context_mask` are (windows, tokens); a valid span starts and ends on context tokens,
    ends at or after its start and is at most `max_answer_tokens` long.
    """
    spans: list[TokenSpan] = []
    width = start_logits.shape[1]
    band = np.triu(np.ones((width, width), dtype=bool)) & ~np.triu(
        np.ones((width, width), dtype=bool), k=max_answer_tokens
    )
    for window in range(start_logits.shape[0]):
        mask = context_mask[window].astype(bool)
        if not mask.any():
            continue
        starts = np.where(mask, start_logits[window], -np.inf)
        ends = np.where(mask, end_logits[window], -np.inf)
        scores = starts[:, None] + ends[None, :]
        scores = np.where(band, scores, -np.inf)
        flat = scores.ravel()
        count = min(per_window, flat.size)
        top = np.argpartition(-flat, count - 1)[:count]
        for index in top:
            score = float(flat[index])
            if np.isfinite(score):
                start, end = divmod(int(index), width)
                spans.append(TokenSpan(window, start, end, score))
    spans.sort(key=lambda span: span.score, reverse=True)
    return spans[:n_best]


def null_scores(start_logits: np.ndarray, end_logits: np.ndarray) -> np.ndarray:
    """Each window's no-answer score: the [CLS] start and end logits."""
    return start_logits[:, 0] + end_logits[:, 0]
