"""The FAISS wrapper against brute-force numpy top-k on fixed-seed vectors (as faiss contrib tests do)."""

from pathlib import Path

import numpy as np
import pytest

from index.vectors import VectorIndex

DIMENSION = 32


def unit_vectors(rng: np.random.Generator, count: int) -> np.ndarray:
    vectors = rng.standard_normal((count, DIMENSION)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def brute_force(database: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids) of the k best inner products per query, best first."""
    all_scores = queries @ database.T
    order = np.argsort(-all_scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(all_scores, order, axis=1), ids[order]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def database(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    # Sparse, unordered ids: results must carry the ids given, not row positions.
    ids = rng.permutation(np.arange(0, 3000, 7, dtype=np.int64))[:300]
    return unit_vectors(rng, len(ids)), ids


def filled(database: tuple[np.ndarray, np.ndarray]) -> VectorIndex:
    vectors, ids = database
    index = VectorIndex(DIMENSION)
    index.add(vectors[:100], ids[:100])
    index.add(vectors[100:], ids[100:])  # in two batches, as updates add them
    return index


@pytest.mark.parametrize("k", [1, 10, 300])
def test_search_equals_brute_force(rng: np.random.Generator, database: tuple[np.ndarray, np.ndarray], k: int) -> None:
    vectors, ids = database
    queries = unit_vectors(rng, 20)

    scores, found = filled(database).search(queries, k)

    expected_scores, expected_ids = brute_force(vectors, ids, queries, k)
    np.testing.assert_array_equal(found, expected_ids)
    np.testing.assert_allclose(scores, expected_scores, atol=1e-5)


def test_search_after_removals_equals_brute_force_on_the_rest(
    rng: np.random.Generator, database: tuple[np.ndarray, np.ndarray]
) -> None:
    vectors, ids = database
    index = filled(database)
    removed = rng.choice(ids, size=120, replace=False)
    queries = unit_vectors(rng, 20)

    index.remove(removed.tolist())
    index.remove([])
    scores, found = index.search(queries, 50)

    kept = ~np.isin(ids, removed)
    expected_scores, expected_ids = brute_force(vectors[kept], ids[kept], queries, 50)
    assert len(index) == 180
    assert not np.isin(found, removed).any()
    np.testing.assert_array_equal(found, expected_ids)
    np.testing.assert_allclose(scores, expected_scores, atol=1e-5)
    for position in np.flatnonzero(kept)[:20]:
        np.testing.assert_allclose(index.vector(ids[position]), vectors[position], atol=1e-6)


def test_ids_stay_stable_when_vectors_are_added_after_removals(
    rng: np.random.Generator, database: tuple[np.ndarray, np.ndarray]
) -> None:
    vectors, ids = database
    index = filled(database)
    removed = ids[:50]
    index.remove(removed.tolist())
    newcomers = unit_vectors(rng, 10)
    new_ids = np.arange(5000, 5010, dtype=np.int64)

    index.add(newcomers, new_ids)
    _, found = index.search(np.vstack([vectors, newcomers]), 1)

    # Each remaining vector finds itself under its own id; a removed one never comes back.
    np.testing.assert_array_equal(found[50:300, 0], ids[50:])
    np.testing.assert_array_equal(found[300:, 0], new_ids)
    assert not np.isin(found, removed).any()


def test_k_larger_than_the_index_returns_everything(
    rng: np.random.Generator, database: tuple[np.ndarray, np.ndarray]
) -> None:
    vectors, ids = database
    queries = unit_vectors(rng, 3)

    scores, found = filled(database).search(queries, 10_000)

    expected_scores, expected_ids = brute_force(vectors, ids, queries, len(ids))
    assert found.shape == scores.shape == (3, 300)
    np.testing.assert_array_equal(found, expected_ids)
    np.testing.assert_allclose(scores, expected_scores, atol=1e-5)


def test_empty_index_returns_empty_rows(rng: np.random.Generator) -> None:
    scores, found = VectorIndex(DIMENSION).search(unit_vectors(rng, 2), 5)

    assert scores.shape == found.shape == (2, 0)
    assert found.dtype == np.int64


def test_wrong_dimension_is_refused(rng: np.random.Generator) -> None:
    with pytest.raises(ValueError, match="dimension 16, the index 32"):
        VectorIndex(DIMENSION).add(np.ones((1, 16), dtype=np.float32), np.array([1]))


def test_write_and_read_keep_vectors_and_ids(
    tmp_path: Path, rng: np.random.Generator, database: tuple[np.ndarray, np.ndarray]
) -> None:
    index = filled(database)
    index.remove(database[1][:10].tolist())
    queries = unit_vectors(rng, 5)

    index.write(str(tmp_path / "vectors.faiss"))
    loaded = VectorIndex.read(str(tmp_path / "vectors.faiss"))

    assert loaded.dimension == DIMENSION
    assert len(loaded) == 290
    for expected, actual in zip(index.search(queries, 20), loaded.search(queries, 20), strict=True):
        np.testing.assert_array_equal(actual, expected)
