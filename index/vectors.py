"""The FAISS wrapper: inner product over unit vectors, with stable int64 ids that survive removals."""

import faiss
import numpy as np


class VectorIndex:
    def __init__(self, dimension: int, index: faiss.Index | None = None) -> None:
        self.dimension = dimension
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    def __len__(self) -> int:
        return self._index.ntotal

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        if vectors.shape[1] != self.dimension:
            raise ValueError(f"vectors have dimension {vectors.shape[1]}, the index {self.dimension}")
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def remove(self, ids: list[int]) -> None:
        if ids:
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), best first per row; missing results are id -1."""
        k = min(k, len(self))
        if k == 0:
            return np.zeros((len(vectors), 0), np.float32), np.zeros((len(vectors), 0), np.int64)
        D, I = self._index.search(np.ascontiguousarray(vectors, dtype=np.float32), k)  # noqa: E741
        return D, I

    def vector(self, chunk_id: int) -> np.ndarray:
        return self._index.reconstruct(int(chunk_id))

    def write(self, path: str) -> None:
        faiss.write_index(self._index, path)

    @classmethod
    def read(cls, path: str) -> "VectorIndex":
        index = faiss.read_index(path)
        return cls(index.d, index)

    def copy(self) -> "VectorIndex":
        """An independent copy: a writer changes it while readers keep searching the original."""
        return VectorIndex(self.dimension, faiss.clone_index(self._index))
