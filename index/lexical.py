"""BM25 over chunk texts with bm25s (English stop words, Snowball stemming)."""

import logging

import bm25s
import numpy as np
import Stemmer

logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets its logger to DEBUG on import


def terms(texts: list[str]) -> list[list[str]]:
    """The words BM25 counts in each text: lower-cased, English stop words dropped, Snowball-stemmed.

    The Milvus store indexes these too, so both stores rank by the same words whatever analyzer the engine has.
    """
    return bm25s.tokenize(
        texts, stopwords="en", stemmer=Stemmer.Stemmer("english"), show_progress=False, return_ids=False
    )


class LexicalIndex:
    def __init__(self, texts: list[str]) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        self._size = len(texts)
        self._retriever = bm25s.BM25()
        tokens = bm25s.tokenize(texts, stopwords="en", stemmer=self._stemmer, show_progress=False) if texts else None
        # No text, or none with a word BM25 counts ('To be, or not to be.', emoji): bm25s cannot index that, and
        # every score is zero.
        self._indexed = bool(tokens and tokens.vocab)
        if self._indexed:
            self._retriever.index(tokens, show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every text, in the order given; all zero when no query word is in the corpus."""
        if not self._indexed:
            return np.zeros(self._size, dtype=np.float32)
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=self._stemmer, show_progress=False, return_ids=False)[
            0
        ]
        vocabulary = self._retriever.vocab_dict
        known = [token for token in tokens if token in vocabulary]
        if not known:
            return np.zeros(self._size, dtype=np.float32)
        return np.asarray(self._retriever.get_scores(known), dtype=np.float32)
