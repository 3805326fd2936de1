"""Turns at the model: question batches and the embedding of written documents take the two cores one at a time.

torch spreads each call over both cores. A question batch and a document upload running at once each get half of
them, and under a steady stream of writes every question waited behind it (p99 /ask 6.3 s at concurrency 32). With one
turn at a time a write waits for at most the batch being read, and a long upload is embedded in slices so questions
wait for at most one slice.
"""

import threading

import numpy as np
from tqdm import tqdm

from index.embedding import Embedder

SLICE_TEXTS = 32  # chunks embedded per turn: a question waits for at most one slice of an upload


class TurnTakingEmbedder:
    """An embedder that takes `turn` for every slice of `slice_texts` texts it encodes."""

    def __init__(self, embedder: Embedder, turn: threading.Lock, slice_texts: int = SLICE_TEXTS) -> None:
        self.embedder = embedder
        self.model_id = embedder.model_id
        self.turn = turn
        self.slice_texts = slice_texts

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if len(texts) <= self.slice_texts:
            with self.turn:
                return self.embedder.encode(texts)
        parts = []
        starts = range(0, len(texts), self.slice_texts)
        for start in tqdm(starts, desc="embedding", unit="slice", disable=not progress):
            with self.turn:
                parts.append(self.embedder.encode(texts[start : start + self.slice_texts]))
        return np.concatenate(parts)
