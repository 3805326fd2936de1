"""Searching the Milvus store's chunks: dense and BM25 requests fused by the engine's RRF, made into Hits."""

from collections.abc import Callable, Iterable, Sequence

import numpy as np
from pymilvus import AnnSearchRequest, MilvusClient, RRFRanker

from index import milvus_schema as schema
from index.chunking import Chunk
from index.lexical import terms
from index.search import RRF_K, Hit


def hybrid_search(
    client: MilvusClient,
    collection: str,
    queries: Sequence[str],
    vectors: np.ndarray,
    top_ks: Sequence[int],
    candidates: int,
    document_text: Callable[[str], str],
    current_hashes: Callable[[set[str]], dict[str, str]],
) -> list[list[Hit]]:
    """Each query's best `top_k` chunks of the stored version of their documents; `document_text` reads a document for
    a chunk too long to store whole, `current_hashes` the content hash each of some documents is stored with.

    A chunk of another version (one left while a document is being replaced, or by a writer that died before it
    deleted the old chunks) or of no stored document is passed over: its offsets are not those of the stored text.
    Twice `top_k` chunks are fetched so that such leftovers rarely shorten a result."""
    words = [" ".join(t) for t in terms(list(queries))]
    depth = max(candidates, 2 * max(top_ks))
    vectors = np.asarray(vectors, dtype=np.float32)
    found = client.hybrid_search(
        collection,
        [
            AnnSearchRequest(vectors.tolist(), "vector", {"metric_type": "COSINE"}, depth),
            AnnSearchRequest(words, "sparse", {"metric_type": "BM25"}, depth),
        ],
        ranker=RRFRanker(RRF_K),
        limit=2 * max(top_ks),
        output_fields=["document_id", "content_hash", "start", "end", "text", "vector"],
    )
    found = [list(hits) for hits in found]
    stored = current_hashes({hit["entity"]["document_id"] for hits in found for hit in hits})
    ranked = [
        [hit for hit in _in_order(hits) if stored.get(hit["entity"]["document_id"]) == hit["entity"]["content_hash"]][
            :top_k
        ]
        for hits, top_k in zip(found, top_ks, strict=True)
    ]
    lexical = _lexical_scores(client, collection, words, [[hit["id"] for hit in hits] for hits in ranked])
    texts: dict[str, str] = {}

    def text_of(document_id: str) -> str:
        if document_id not in texts:
            texts[document_id] = document_text(document_id)
        return texts[document_id]

    return [
        [_hit(hit, vector, scores, text_of) for hit in hits]
        for hits, vector, scores in zip(ranked, vectors, lexical, strict=True)
    ]


def _in_order(hits: Iterable[dict]) -> list[dict]:
    """The engine's RRF order, ties by document and position: the FAISS store's order after a build (its chunk ids
    follow the documents), and the same on every replica (the engine leaves ties in no particular order)."""
    return sorted(hits, key=lambda hit: (-hit["distance"], hit["entity"]["document_id"], hit["entity"]["start"]))


def _lexical_scores(
    client: MilvusClient, collection: str, words: list[str], ids: list[list[int]]
) -> list[dict[int, float]]:
    """Each query's BM25 score for its hits: the fused search reports the fused score alone."""
    wanted = sorted({i for hits in ids for i in hits})
    if not wanted or not any(words):
        return [{} for _ in words]
    found = client.search(
        collection,
        data=words,
        anns_field="sparse",
        limit=len(wanted),
        filter=f"id in [{', '.join(map(str, wanted))}]",
        search_params={"metric_type": "BM25"},
    )
    # Milvus Lite 3.2.2 reports BM25 scores negated (its smaller-is-better distance leaks out); BM25 is never
    # negative, so the absolute value reads both engines right. Milvus keeps BM25's (k1 + 1) factor, which
    # bm25s's Lucene scoring drops: divided out, both stores report the same lexical scores.
    scale = 1 + schema.BM25_PARAMS["bm25_k1"]
    return [{hit["id"]: abs(float(hit["distance"])) / scale for hit in hits} for hits in found]


def _hit(hit: dict, vector: np.ndarray, lexical: dict[int, float], document_text: Callable[[str], str]) -> Hit:
    entity = hit["entity"]
    document_id, start, end, text = entity["document_id"], entity["start"], entity["end"], entity["text"]
    if len(text) != end - start:  # a chunk too long for a VARCHAR: cut it from its document
        text = document_text(document_id)[start:end]
    return Hit(
        chunk_id=int(hit["id"]),
        chunk=Chunk(document_id, start, end, text),
        score=float(hit["distance"]),
        dense_score=float(np.asarray(entity["vector"], dtype=np.float32) @ vector),
        lexical_score=lexical.get(hit["id"], 0.0),
        dense_rank=0,
        lexical_rank=0,
    )
