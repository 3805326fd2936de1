"""The query embedder without sentence-transformers gives its vectors, and its int8 variant stays close to them."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from index.documents import BUNDLED_CORPUS
from index.embedding import DEFAULT_MODEL, SentenceEmbedder, resolve_model_path
from index.int8 import has_vnni
from index.sentence_encoder import MeanPooledEncoder, runs_here
from index.sentences import sentence_spans

# The smallest and the mean cosine of an int8 question vector with the float32 vector of the same text, over the
# bundled articles' sentences. Measured on an AMD EPYC with VNNI (8-bit activations): 0.993 at worst, 0.9965 on
# average. 0.99 bounds how far a score can move: by |q8 - q32| = sqrt(2 - 2 * 0.99) = 0.14 at the very worst, against
# a document vector lying along the error, and the error is spread over 384 dimensions, so the float32 neighbours stay
# the neighbours (checked below too). Without VNNI torch keeps activations to 7 bits: measured with every layer
# quantised, 0.958 at worst, 0.978 on average, hence the lower bounds there.
INT8_MIN_COSINE, INT8_MEAN_COSINE = (0.99, 0.995) if has_vnni() else (0.95, 0.97)

pytestmark = pytest.mark.model


def bundled_sentences() -> list[str]:
    texts = [path.read_text(encoding="utf-8") for path in sorted(BUNDLED_CORPUS.glob("*.txt"))]
    return [text[start:end] for text in texts for start, end in sentence_spans(text)]


@pytest.fixture(scope="module")
def folder() -> Path:
    return Path(resolve_model_path(DEFAULT_MODEL))


def test_the_bundled_model_runs_without_sentence_transformers(folder: Path, tmp_path: Path) -> None:
    assert runs_here(folder)
    other = tmp_path / "cls-pooled"
    (other / "1_Pooling").mkdir(parents=True)
    (other / "modules.json").write_text((folder / "modules.json").read_text(encoding="utf-8"), encoding="utf-8")
    (other / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}), encoding="utf-8")
    assert not runs_here(other)
    assert not runs_here(tmp_path / "nothing")


def test_the_vectors_are_those_of_sentence_transformers(folder: Path) -> None:
    from sentence_transformers import SentenceTransformer

    article = (BUNDLED_CORPUS / "000_5391de805404b0fb.txt").read_text(encoding="utf-8")
    # Sentences, a question, surrounding spaces, and a whole article (past the model's 256 tokens: truncated alike).
    texts = [*bundled_sentences(), "How much of Scale did Meta buy?", "  Scale AI  ", "x", article]
    expected = SentenceTransformer(str(folder), device="cpu").encode(texts, batch_size=16, normalize_embeddings=True)

    vectors = MeanPooledEncoder(folder).encode(texts, batch_size=16, progress=False)

    assert vectors.dtype == np.float32 and vectors.shape == expected.shape
    np.testing.assert_allclose(vectors, expected, atol=1e-5, rtol=0)


def test_int8_query_vectors_point_where_the_float32_ones_do() -> None:
    texts = [*bundled_sentences(), "How much of Scale did Meta buy?", "Who founded Scale AI?"]
    exact = SentenceEmbedder().encode(texts)
    fast = SentenceEmbedder(precision="int8").encode(texts)

    cosines = np.sum(exact * fast, axis=1) / np.linalg.norm(fast, axis=1)
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    assert cosines.min() >= INT8_MIN_COSINE, texts[int(cosines.argmin())]
    assert cosines.mean() >= INT8_MEAN_COSINE
    # Each sentence still finds itself: its float32 vector is its int8 vector's nearest neighbour.
    assert (np.argmax(fast @ exact.T, axis=1) == np.arange(len(texts))).mean() >= 0.98


def test_an_unknown_precision_is_refused() -> None:
    with pytest.raises(ValueError, match="float32, bfloat16 or int8"):
        SentenceEmbedder(precision="int4")  # type: ignore[arg-type]


def test_bfloat16_vectors_point_where_the_float32_ones_do() -> None:
    """The index is embedded with bfloat16 weights where the CPU runs them natively (QA_INDEX_PRECISION=auto), the
    questions in float32: both must land on the same neighbours. Measured: cosine 0.99992 at worst over 512 SQuAD
    paragraphs."""
    float32 = SentenceEmbedder().load()
    bfloat16 = float32.sharing("bfloat16")
    texts = bundled_sentences()

    assert bfloat16.encoder is not float32.encoder  # bfloat16 weights are a model of their own
    assert next(bfloat16.encoder.model.parameters()).dtype == torch.bfloat16  # type: ignore[attr-defined]
    exact, fast = float32.encode(texts), bfloat16.encode(texts)

    assert fast.dtype == np.float32 and fast.shape == exact.shape
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(exact * fast, axis=1)
    assert cosines.min() > 0.999, cosines.min()
    assert np.array_equal(np.argmax(fast @ exact.T, axis=1), np.arange(len(texts)))
    assert float32.sharing("float32") is float32
