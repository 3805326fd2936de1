"""Hybrid retrieval: FAISS dense search and BM25, fused by reciprocal rank."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.chunking import Chunk
from index.embedding import Embedder
from index.lexical import LexicalIndex
from index.store import IndexData

RRF_K = 60


@dataclass(frozen=True)
class Hit:
    """A ranked chunk: its fused score, and each route's raw score and 1-based rank (0: not in that route's list,
    or not reported: Milvus fuses inside the engine and gives the fused order alone)."""

    chunk_id: int
    chunk: Chunk
    score: float
    dense_score: float
    lexical_score: float
    dense_rank: int
    lexical_rank: int


class HybridRetriever:
    """Ranks every chunk by 1/(60 + dense rank) + 1/(60 + BM25 rank); each hit keeps both raw scores."""

    def __init__(self, data: IndexData, embedder: Embedder | None, candidates: int = 50) -> None:
        self.data = data
        self.embedder = embedder
        self.candidates = candidates
        self._ids = np.array(sorted(data.chunks), dtype=np.int64)
        self._positions = {int(chunk_id): position for position, chunk_id in enumerate(self._ids)}
        self._lexical = LexicalIndex([data.chunks[int(i)].text for i in self._ids])

    def search(self, query: str, top_k: int) -> list[Hit]:
        return self.search_many([query], [top_k])[0]

    def search_many(self, queries: list[str], top_ks: list[int]) -> list[list[Hit]]:
        """`search` for several queries: one embedding call and one FAISS search for all of them."""
        if not len(self._ids) or not queries:
            return [[] for _ in queries]
        assert self.embedder is not None, "a retriever made without an embedder takes vectors: search_vectors"
        return self.search_vectors(queries, self.embedder.encode(list(queries)), top_ks)

    def search_vectors(self, queries: Sequence[str], vectors: np.ndarray, top_ks: Sequence[int]) -> list[list[Hit]]:
        """`search_many` for queries embedded already (the store seam passes the vectors in)."""
        if not len(self._ids) or not len(queries):
            return [[] for _ in queries]
        depth = min(len(self._ids), max(self.candidates, *top_ks))
        dense_scores, dense_ids = self.data.vectors.search(vectors, depth)
        return [
            self._fuse(query, top_k, vectors[row], dense_scores[row], dense_ids[row])
            for row, (query, top_k) in enumerate(zip(queries, top_ks, strict=True))
        ]

    def _fuse(
        self, query: str, top_k: int, vector: np.ndarray, dense_scores: np.ndarray, dense_ids: np.ndarray
    ) -> list[Hit]:
        dense = {int(i): float(s) for s, i in zip(dense_scores, dense_ids, strict=True) if i >= 0}
        lexical_all = self._lexical.scores(query)
        lexical_order = np.argsort(-lexical_all, kind="stable")[: max(self.candidates, top_k)]
        lexical = {int(self._ids[p]): float(lexical_all[p]) for p in lexical_order if lexical_all[p] > 0}
        dense_rank = {chunk_id: rank for rank, chunk_id in enumerate(dense, start=1)}
        lexical_rank = {chunk_id: rank for rank, chunk_id in enumerate(lexical, start=1)}
        fused = {
            chunk_id: sum(1.0 / (RRF_K + ranks[chunk_id]) for ranks in (dense_rank, lexical_rank) if chunk_id in ranks)
            for chunk_id in dense_rank.keys() | lexical_rank.keys()
        }
        best = sorted(fused, key=lambda chunk_id: (-fused[chunk_id], chunk_id))[:top_k]
        return [
            Hit(
                chunk_id=chunk_id,
                chunk=self.data.chunks[chunk_id],
                score=fused[chunk_id],
                dense_score=dense.get(chunk_id, float(self.data.vectors.vector(chunk_id) @ vector)),
                lexical_score=float(lexical_all[self._positions[chunk_id]]),
                dense_rank=dense_rank.get(chunk_id, 0),
                lexical_rank=lexical_rank.get(chunk_id, 0),
            )
            for chunk_id in best
        ]
