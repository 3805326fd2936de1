"""The Milvus store: chunks, documents and the manifest in Milvus; dense and BM25 search fused by the engine (RRF).

`uri` is a local `*.db` path (Milvus Lite, embedded in this process: one process per path), a Milvus Lite server
(`milvus-lite server --data-dir DIR --port 19530`) or a Milvus server or cluster (`http://host:19530`, with `token`).
Every process pointed at one server sees the others' writes at once: nothing is loaded or cached here, and the
generation (a counter and a random token in the meta row) changes with every write.

Writes are idempotent: a document whose content hash and title are stored already is skipped, and chunk ids are
derived from the document id, its content hash and the chunk's position, so writing the same text again upserts the
same rows. Milvus has no transactions: while a document is replaced a search may see its old and new chunks side by
side, and writers must take turns (`writing()` serialises the writers of this process; see README for replicas).
"""

import contextlib
import hashlib
import json
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict

import numpy as np
from pymilvus import AnnSearchRequest, MilvusClient, RRFRanker

from index import milvus_schema as schema
from index.chunking import Chunk, ChunkingSettings
from index.document_store import EmbeddedDocument, IndexSettings, StoredDocument
from index.documents import Document
from index.lexical import terms
from index.search import RRF_K, Hit
from index.store import IndexBusy, IndexUnavailable

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest"
BATCH_ROWS = 256
_local_servers: Counter[str] = (
    Counter()
)  # Milvus Lite servers this process runs, by path: stopped with their last store
_local_lock = threading.Lock()


class MilvusStore:
    def __init__(self, uri: str, collection: str = "qa", token: str = "", candidates: int = 50) -> None:
        """Cheap: connects on first use. `collection` prefixes the three collections' names."""
        self.uri = uri
        self.prefix = collection
        self.token = token
        self.candidates = candidates
        self._writes = threading.RLock()
        self._client_lock = threading.Lock()
        self._milvus: MilvusClient | None = None
        self._loaded = False

    @property
    def local(self) -> bool:
        """Milvus Lite embedded in this process (a `*.db` path), not a server."""
        return self.uri.endswith(".db") and "://" not in self.uri

    def _client(self) -> MilvusClient:
        with self._client_lock:
            if self._milvus is None:
                self._milvus = MilvusClient(uri=self.uri, token=self.token)
                if self.local:
                    with _local_lock:
                        _local_servers[self.uri] += 1
            return self._milvus

    def _name(self, collection: str) -> str:
        return f"{self.prefix}_{collection}"

    def _ready(self) -> bool:
        """Whether the collections exist; loaded on first sight (a restarted Milvus holds them released)."""
        client = self._client()
        if not client.has_collection(self._name(schema.META)):
            return False
        if not self._loaded:
            for collection in (schema.CHUNKS, schema.DOCUMENTS, schema.META):
                client.load_collection(self._name(collection))
            self._loaded = True
        return True

    def _manifest(self) -> dict | None:
        if not self._ready():
            return None
        rows = self._client().get(self._name(schema.META), ids=[MANIFEST], output_fields=["value"])
        return json.loads(rows[0]["value"]) if rows else None

    def settings(self) -> IndexSettings | None:
        manifest = self._manifest()
        if manifest is None:
            return None
        return IndexSettings(
            manifest["embedding_model"], manifest["dimension"], ChunkingSettings(**manifest["chunking"])
        )

    def generation(self) -> str:
        manifest = self._manifest()
        return f"{manifest['generation']}-{manifest['token']}" if manifest else ""

    @contextlib.contextmanager
    def writing(self, wait: float | None = None) -> Iterator[None]:
        if not self._writes.acquire(timeout=-1 if wait is None else wait):
            raise IndexBusy(f"another write to Milvus at {self.uri} took longer than {wait:g}s")
        try:
            yield
        finally:
            self._writes.release()

    def write(
        self,
        settings: IndexSettings,
        upsert: Sequence[EmbeddedDocument] = (),
        remove: Sequence[str] = (),
        fresh: bool = False,
    ) -> str:
        with self.writing():
            client = self._client()
            manifest = None if fresh else self._manifest()
            empty = manifest is None
            if empty:
                for collection in (schema.CHUNKS, schema.DOCUMENTS, schema.META):
                    client.drop_collection(self._name(collection))
                schema.create_collections(client, self.prefix, settings.dimension)
                self._loaded = True
                manifest = {"format_version": FORMAT_VERSION, **asdict(settings), "generation": 0, "token": ""}
            else:
                self._check(manifest, settings)
            stored = {} if empty else self._stored([e.document.id for e in upsert] + list(remove))
            changed = empty
            for embedded in upsert:
                document = embedded.document
                if stored.get(document.id) == (document.content_hash, document.title):
                    continue
                self._put(embedded, settings.dimension)
                stored[document.id] = (document.content_hash, document.title)
                changed = True
            for document_id in remove:
                if stored.pop(document_id, None) is not None:
                    self._delete(schema.CHUNKS, f"document_id == {_literal(document_id)}")
                    self._delete(schema.DOCUMENTS, f"document_id == {_literal(document_id)}")
                    changed = True
            if not changed:
                return f"{manifest['generation']}-{manifest['token']}"
            manifest = {**manifest, "generation": manifest["generation"] + 1, "token": uuid.uuid4().hex[:12]}
            client.upsert(
                self._name(schema.META),
                [{"key": MANIFEST, "value": json.dumps(manifest), "placeholder": schema.PLACEHOLDER}],
            )
            return f"{manifest['generation']}-{manifest['token']}"

    def _check(self, manifest: dict, settings: IndexSettings) -> None:
        where = f"Milvus collections {self.prefix}_* at {self.uri}"
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexUnavailable(
                f"{where} hold format {manifest.get('format_version')}, this version reads {FORMAT_VERSION}; rebuild"
            )
        stored = IndexSettings(
            manifest["embedding_model"], manifest["dimension"], ChunkingSettings(**manifest["chunking"])
        )
        reason = stored.mismatch(settings)
        if reason:
            raise IndexUnavailable(f"{where} were {reason}; rebuild them (`qa index build`)")

    def _stored(self, document_ids: list[str]) -> dict[str, tuple[str, str]]:
        """(content hash, title) of those of these documents that are stored."""
        found: dict[str, tuple[str, str]] = {}
        for first in range(0, len(document_ids), BATCH_ROWS):
            batch = document_ids[first : first + BATCH_ROWS]
            rows = self._client().query(
                self._name(schema.DOCUMENTS),
                filter=f"part == 0 and document_id in [{', '.join(map(_literal, batch))}]",
                output_fields=["document_id", "content_hash", "title"],
            )
            found.update({row["document_id"]: (row["content_hash"], row["title"]) for row in rows})
        return found

    def _put(self, embedded: EmbeddedDocument, dimension: int) -> None:
        """Upsert a document's new chunks and text, then drop what its previous version left."""
        document = embedded.document
        _check_sizes(document)
        if len(embedded.chunks) and embedded.vectors.shape[1] != dimension:
            raise ValueError(f"{document.id}: vectors of dimension {embedded.vectors.shape[1]}, the index {dimension}")
        chunk_terms = terms([c.text for c in embedded.chunks]) if embedded.chunks else []
        chunks = [
            {
                "id": _chunk_id(document.id, document.content_hash, position),
                "document_id": document.id,
                "content_hash": document.content_hash,
                "start": chunk.start,
                "end": chunk.end,
                "text": chunk.text if _fits(chunk.text) else "",  # read from the document when too long
                "terms": _clip(" ".join(words)),
                "vector": vector.tolist(),
            }
            for position, (chunk, words, vector) in enumerate(
                zip(embedded.chunks, chunk_terms, embedded.vectors, strict=True)
            )
        ]
        text = document.text
        parts = [text[i : i + schema.TEXT_PART_CHARS] for i in range(0, len(text), schema.TEXT_PART_CHARS)] or [""]
        rows = [
            {
                "key": f"{document.id}/{part}",
                "document_id": document.id,
                "part": part,
                "parts": len(parts),
                "title": document.title,
                "source": document.source,
                "content_hash": document.content_hash,
                "characters": len(text),
                "chunks": len(chunks),
                "text": piece,
                "placeholder": schema.PLACEHOLDER,
            }
            for part, piece in enumerate(parts)
        ]
        self._upsert(schema.CHUNKS, chunks)
        self._upsert(schema.DOCUMENTS, rows)
        literal = _literal(document.id)
        self._delete(schema.DOCUMENTS, f"document_id == {literal} and part >= {len(parts)}")
        self._delete(schema.CHUNKS, f"document_id == {literal} and content_hash != {_literal(document.content_hash)}")

    def _upsert(self, collection: str, rows: list[dict]) -> None:
        for first in range(0, len(rows), BATCH_ROWS):
            self._client().upsert(self._name(collection), rows[first : first + BATCH_ROWS])

    def _delete(self, collection: str, where: str) -> None:
        self._client().delete(self._name(collection), filter=where)

    def documents(self) -> dict[str, StoredDocument]:
        if not self._ready():
            return {}
        client = self._client()
        fields = ["document_id", "title", "source", "content_hash", "characters", "chunks"]
        rows = client.query_iterator(
            self._name(schema.DOCUMENTS), batch_size=1000, filter="part == 0", output_fields=fields
        )
        found: dict[str, StoredDocument] = {}
        try:
            while batch := rows.next():
                for row in batch:
                    found[row["document_id"]] = StoredDocument(*(row[field] for field in fields))
        finally:
            rows.close()
        return dict(sorted(found.items()))

    def document(self, document_id: str) -> Document | None:
        if not self._ready():
            return None
        rows = self._client().query(
            self._name(schema.DOCUMENTS),
            filter=f"document_id == {_literal(document_id)}",
            output_fields=["part", "parts", "title", "source", "content_hash", "text"],
        )
        first = next((row for row in rows if row["part"] == 0), None)
        if first is None:
            return None
        # Parts of one version only: a replace by fewer parts removes the extra old ones after writing the new.
        parts = sorted((r for r in rows if r["content_hash"] == first["content_hash"]), key=lambda r: r["part"])
        return Document(document_id, first["title"], first["source"], "".join(row["text"] for row in parts))

    def search(self, queries: Sequence[str], vectors: np.ndarray, top_ks: Sequence[int]) -> list[list[Hit]]:
        if not len(queries):
            return []
        if not self._ready():
            return [[] for _ in queries]
        client = self._client()
        words = [" ".join(t) for t in terms(list(queries))]
        depth = max(self.candidates, *top_ks)
        vectors = np.asarray(vectors, dtype=np.float32)
        found = client.hybrid_search(
            self._name(schema.CHUNKS),
            [
                AnnSearchRequest(vectors.tolist(), "vector", {"metric_type": "COSINE"}, depth),
                AnnSearchRequest(words, "sparse", {"metric_type": "BM25"}, depth),
            ],
            ranker=RRFRanker(RRF_K),
            limit=max(top_ks),
            output_fields=["document_id", "start", "end", "text", "vector"],
        )
        ranked = [_in_order(hits)[:top_k] for hits, top_k in zip(found, top_ks, strict=True)]
        lexical = self._lexical_scores(words, [[hit["id"] for hit in hits] for hits in ranked])
        texts: dict[str, str] = {}
        return [
            [self._hit(hit, vector, scores, texts) for hit in hits]
            for hits, vector, scores in zip(ranked, vectors, lexical, strict=True)
        ]

    def _lexical_scores(self, words: list[str], ids: list[list[int]]) -> list[dict[int, float]]:
        """Each query's BM25 score for its hits: the fused search reports the fused score alone."""
        wanted = sorted({i for hits in ids for i in hits})
        if not wanted or not any(words):
            return [{} for _ in words]
        found = self._client().search(
            self._name(schema.CHUNKS),
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

    def _hit(self, hit: dict, vector: np.ndarray, lexical: dict[int, float], texts: dict[str, str]) -> Hit:
        entity = hit["entity"]
        document_id, start, end, text = entity["document_id"], entity["start"], entity["end"], entity["text"]
        if len(text) != end - start:  # a chunk too long for a VARCHAR: cut it from its document
            if document_id not in texts:
                document = self.document(document_id)
                texts[document_id] = document.text if document else ""
            text = texts[document_id][start:end]
        return Hit(
            chunk_id=int(hit["id"]),
            chunk=Chunk(document_id, start, end, text),
            score=float(hit["distance"]),
            dense_score=float(np.asarray(entity["vector"], dtype=np.float32) @ vector),
            lexical_score=lexical.get(hit["id"], 0.0),
            dense_rank=0,
            lexical_rank=0,
        )

    def close(self) -> None:
        with self._client_lock:
            if self._milvus is None:
                return
            self._milvus.close()
            self._milvus, self._loaded = None, False
            if self.local:
                _release_local(self.uri)


def _in_order(hits: Iterable[dict]) -> list[dict]:
    """The engine's RRF order, ties by document and position: the FAISS store's order after a build (its chunk ids
    follow the documents), and the same on every replica (the engine leaves ties in no particular order)."""
    return sorted(hits, key=lambda hit: (-hit["distance"], hit["entity"]["document_id"], hit["entity"]["start"]))


def _release_local(path: str) -> None:
    """Stop this process's Milvus Lite server for `path` once no store uses it (it holds the folder's lock)."""
    from milvus_lite.server_manager import server_manager_instance

    with _local_lock:
        _local_servers[path] -= 1
        if _local_servers[path] > 0:
            return
        del _local_servers[path]
    server_manager_instance.release_server(path)


def _chunk_id(document_id: str, content_hash: str, position: int) -> int:
    """A stable 63-bit id: the same chunk of the same text always gets the same row."""
    digest = hashlib.blake2b(f"{document_id}\0{content_hash}\0{position}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & (2**63 - 1)


def _literal(value: str) -> str:
    """A string as a Milvus filter literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return '"' + escaped.replace("\t", "\\t") + '"'


def _fits(text: str) -> bool:
    return len(text.encode("utf-8")) <= schema.MAX_VARCHAR_BYTES


def _clip(words: str) -> str:
    """The BM25 terms of an over-long chunk, cut at a word so they fit a VARCHAR (the rest go unindexed)."""
    return words if _fits(words) else words[: schema.TEXT_PART_CHARS].rsplit(" ", 1)[0]


def _check_sizes(document: Document) -> None:
    for name, value, limit in (
        ("id", document.id, schema.MAX_ID_BYTES),
        ("title", document.title, schema.MAX_VARCHAR_BYTES),
        ("source", document.source, schema.MAX_VARCHAR_BYTES),
    ):
        if len(value.encode("utf-8")) > limit:
            raise ValueError(f"document {document.id[:80]!r}: its {name} is over {limit} bytes, Milvus's limit")
