"""Hybrid retrieval with the fake embedder: raw scores on every hit, and reciprocal-rank fusion as defined."""

from pathlib import Path

import numpy as np
import pytest

from index.builder import IndexBuilder
from index.chunking import ChunkingSettings
from index.lexical import LexicalIndex
from index.search import RRF_K, HybridRetriever
from index.store import IndexData, IndexStore
from tests.fakes import FakeEmbedder, write_files

# One sentence a chunk: chunk ids 0-3 in this order.
SENTENCES = [
    "Cod boats land cod at the harbour.",
    "Apple cider sold out quickly.",
    "The harbour lighthouse keeper retired.",
    "Comets pass the sun rarely.",
]


@pytest.fixture
def data(tmp_path: Path) -> IndexData:
    corpus = write_files(tmp_path / "corpus", {"a.txt": " ".join(SENTENCES[:2]), "b.txt": " ".join(SENTENCES[2:])})
    store = IndexStore(tmp_path / "index")
    IndexBuilder(store, FakeEmbedder(), ChunkingSettings(max_tokens=1, overlap_sentences=0)).build([corpus])
    return store.load()


def dense_scores(query: str) -> np.ndarray:
    embedder = FakeEmbedder()
    return embedder.encode(SENTENCES) @ embedder.encode([query])[0]


def test_chunks_are_the_sentences(data: IndexData) -> None:
    assert {i: chunk.text for i, chunk in data.chunks.items()} == dict(enumerate(SENTENCES))


def test_fused_order_is_reciprocal_rank_fusion(data: IndexData) -> None:
    query = "harbour apple sun"
    # The two rankings disagree, so fusion decides: dense ranks chunk 2 first, BM25 ranks chunk 3 first.
    assert np.argsort(-dense_scores(query)).tolist() == [2, 3, 0, 1]
    assert np.argsort(-LexicalIndex(SENTENCES).scores(query)).tolist() == [3, 1, 2, 0]

    hits = HybridRetriever(data, FakeEmbedder()).search(query, top_k=4)

    assert RRF_K == 60
    expected = {
        3: 1 / (60 + 2) + 1 / (60 + 1),
        2: 1 / (60 + 1) + 1 / (60 + 3),
        1: 1 / (60 + 4) + 1 / (60 + 2),
        0: 1 / (60 + 3) + 1 / (60 + 4),
    }
    assert [hit.chunk_id for hit in hits] == [3, 2, 1, 0]
    assert [hit.score for hit in hits] == pytest.approx([expected[hit.chunk_id] for hit in hits], abs=1e-12)
    assert [(hit.dense_rank, hit.lexical_rank) for hit in hits] == [(2, 1), (1, 3), (4, 2), (3, 4)]


def test_hits_carry_both_raw_scores(data: IndexData) -> None:
    query = "harbour cod"

    hits = HybridRetriever(data, FakeEmbedder()).search(query, top_k=4)

    dense = dense_scores(query)
    lexical = LexicalIndex(SENTENCES).scores(query)
    assert [hit.chunk_id for hit in hits] == [0, 2, 3, 1]
    for hit in hits:
        assert hit.chunk == data.chunks[hit.chunk_id]
        assert hit.dense_score == pytest.approx(dense[hit.chunk_id], abs=1e-5)
        assert hit.lexical_score == pytest.approx(lexical[hit.chunk_id], abs=1e-5)
    assert [hit.lexical_score > 0 for hit in hits] == [True, True, False, False]
    assert [hit.lexical_rank for hit in hits] == [1, 2, 0, 0]


def test_lexical_only_hits_still_get_their_dense_score(data: IndexData) -> None:
    query = "harbour apple sun"

    # Three candidates from each ranking: chunk 1 is third in BM25 but last in dense, so only BM25 found it.
    hits = HybridRetriever(data, FakeEmbedder(), candidates=1).search(query, top_k=3)

    assert [(hit.chunk_id, hit.dense_rank, hit.lexical_rank) for hit in hits] == [(3, 2, 1), (2, 1, 3), (1, 0, 2)]
    assert hits[2].score == pytest.approx(1 / 62)
    assert hits[2].dense_score == pytest.approx(dense_scores(query)[1], abs=1e-5)


@pytest.mark.parametrize("top_k", [1, 2, 3, 4, 10])
def test_top_k_is_respected(data: IndexData, top_k: int) -> None:
    hits = HybridRetriever(data, FakeEmbedder()).search("harbour apple sun", top_k=top_k)

    assert [hit.chunk_id for hit in hits] == [3, 2, 1, 0][:top_k]


def test_query_without_known_words_returns_dense_hits(data: IndexData) -> None:
    hits = HybridRetriever(data, FakeEmbedder()).search("Zyzzyva quuxes?", top_k=3)

    assert len(hits) == 3
    assert [hit.dense_rank for hit in hits] == [1, 2, 3]
    assert [hit.score for hit in hits] == pytest.approx([1 / 61, 1 / 62, 1 / 63])
    assert all(hit.lexical_score == 0 and hit.lexical_rank == 0 for hit in hits)
    assert [hit.dense_score for hit in hits] == sorted((hit.dense_score for hit in hits), reverse=True)


def test_hits_from_the_bundled_articles_round_trip(bundled_index_dir: Path) -> None:
    data = IndexStore(bundled_index_dir).load()

    hits = HybridRetriever(data, FakeEmbedder()).search("How much of Scale did Meta buy?", top_k=5)

    assert len(hits) == 5
    assert len({hit.chunk_id for hit in hits}) == 5
    for hit in hits:
        assert data.documents[hit.chunk.document_id].text[hit.chunk.start : hit.chunk.end] == hit.chunk.text
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


def test_empty_index_returns_no_hits(tmp_path: Path) -> None:
    store = IndexStore(tmp_path)
    IndexBuilder(store, FakeEmbedder(), ChunkingSettings()).build_documents([])

    assert HybridRetriever(store.load(), FakeEmbedder()).search("anything at all", top_k=5) == []


def test_searching_many_queries_at_once_ranks_each_as_searching_it_alone(data: IndexData) -> None:
    retriever = HybridRetriever(data, FakeEmbedder())
    queries = ["cod harbour", "cider", "comets and the sun", "nothing matches this"]

    together = retriever.search_many(queries, [2, 3, 1, 4])

    assert together == [retriever.search(query, k) for query, k in zip(queries, [2, 3, 1, 4], strict=True)]
    assert [len(hits) for hits in together[:3]] == [2, 3, 1]
