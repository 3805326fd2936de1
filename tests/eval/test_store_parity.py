"""The Milvus store ranks the gold questions' passages as the FAISS store does (issue 17: within 2 points)."""

from collections.abc import Callable
from pathlib import Path

import pytest

from eval.datasets import GOLD_SET, load_eval_set
from eval.store_parity import COMPARED, answer_spans, differences, measure, span_differences
from index.chunking import ChunkingSettings
from index.document_store import DocumentStore
from index.embedding import Embedder, SentenceEmbedder
from index.faiss_store import FaissStore
from service.settings import Settings
from tests.fakes import FakeAnswerer, FakeEmbedder

pytest.importorskip("pymilvus")


def stores(folder: Path) -> dict[str, Callable[[], DocumentStore]]:
    from index.milvus_store import MilvusStore

    return {"faiss": lambda: FaissStore(folder / "index"), "milvus": lambda: MilvusStore(str(folder / "milvus.db"))}


@pytest.mark.parametrize(
    "embedder",
    [pytest.param(FakeEmbedder, id="fake"), pytest.param(SentenceEmbedder, id="real", marks=pytest.mark.model)],
)
def test_the_stores_rank_the_gold_questions_alike(tmp_path: Path, embedder: Callable[[], Embedder]) -> None:
    figures = measure(stores(tmp_path), load_eval_set(GOLD_SET), embedder(), ChunkingSettings())

    assert differences(figures) == [], figures
    assert all(figures["milvus"][metric] > 0 for metric in COMPARED), figures


def test_the_stores_answer_the_gold_questions_with_the_same_spans(tmp_path: Path) -> None:
    gold = load_eval_set(GOLD_SET)
    settings = Settings(embedding_model="fake", top_k=5)

    spans = answer_spans(stores(tmp_path), gold, FakeEmbedder(), FakeAnswerer(), settings)

    assert span_differences(spans, gold.questions) == []
    assert sum(span is not None for span in spans["milvus"]) > len(gold.questions) / 2, "most questions are answered"
