"""The Milvus store: chunks, documents and the manifest in Milvus; dense and BM25 search fused by the engine (RRF).

`uri` is a local `*.db` path (Milvus Lite, embedded in this process: one process per path), a Milvus Lite server
(`milvus-lite server --data-dir DIR --port 19530`) or a Milvus server or cluster (`http://host:19530`, with `token`).
Every process pointed at one server sees the others' writes at once: nothing is loaded or cached here, and the
generation (a counter and a random token in the meta row) changes with every write.

Writes are idempotent: a document whose content hash and title are stored already is skipped, and chunk ids are
derived from the document id, its content hash and the chunk's position, so writing the same text again upserts the
same rows. Milvus has no transactions: a search passes over chunks of any version but the stored one (so one left by
a replace under way, or by a writer that died midway, is never cited; the next write deletes the latter), and writers
must take turns: `writing()` serialises the writers of one process, so several processes should send their writes
through one of them (Milvus Lite's server does not support concurrent writers to a collection either).

A rebuild (`fresh`, or the first build) fills three new collections beside those in use, named with a version
(`qa_chunks_<12 hex digits>`), then points the aliases everything reads and writes by (`qa_chunks`, `qa_documents`,
`qa_meta`) at them, chunks first and the meta row last, and drops the collections no alias points at any longer.
Readers answer from the previous index until the switch; a writer that dies before it leaves that index as it was, and
the next rebuild drops what it had built; one that dies between the alias moves leaves the switch for the next write to
finish (`_mend_switch`). A store built before aliases keeps its rows until its first rebuild's switch: its collections
are renamed aside, not dropped, and dropped only once the aliases name the new ones.
"""

import contextlib
import json
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from typing import TypeVar

import numpy as np
from pymilvus import MilvusClient
from pymilvus.exceptions import MilvusException

from index import milvus_schema as schema
from index.chunking import ChunkingSettings
from index.document_store import EmbeddedDocument, IndexSettings, StoredDocument
from index.documents import Document
from index.milvus_rows import check_sizes, chunk_rows, document_rows, literal, part_count
from index.milvus_search import hybrid_search
from index.search import Hit
from index.store import IndexBusy, IndexUnavailable


def _no_mvcc_notice(record: logging.LogRecord) -> bool:
    """pymilvus logs this through its own console handler on every query iterator against Milvus Lite, which keeps no
    MVCC timestamps: harmless there (the client's clock is used), and it would break `qa -q`'s quiet stderr. Against a
    server it means a read is not at one point in time, so it is dropped for Milvus Lite alone."""
    return "failed to get mvccTs" not in record.getMessage()


log = logging.getLogger(__name__)
Result = TypeVar("Result")

FORMAT_VERSION = 1
MANIFEST = "manifest"
PENDING = "pending"  # in the manifest while a write puts rows (absent once it finished): the next write tidies
BATCH_ROWS = 256
# pymilvus waits 10 s for its first round trip; Milvus Lite answers from Python threads in this process, which a
# process loading models on busy cores can starve for longer. A refused connection still fails at once.
CONNECT_SECONDS = 60
COLLECTION_NOT_FOUND = 100  # Milvus's error code when a collection or alias does not exist (dropped by a rebuild, say)
COLLECTION_NOT_LOADED = 101  # and when it is released: a restarted Milvus holds every collection released
# The Milvus Lite servers this process runs, by path, with how many stores use each: stopped with the last.
_local_servers: Counter[str] = Counter()
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
                self._milvus = MilvusClient(uri=self.uri, token=self.token, timeout=CONNECT_SECONDS)
                if self.local:
                    logging.getLogger("pymilvus.client.iterator.query_iterator").addFilter(_no_mvcc_notice)
                    with _local_lock:
                        _local_servers[self.uri] += 1
            return self._milvus

    def _name(self, collection: str) -> str:
        """The alias of one of the three collections (in a store built before aliases, the collection itself)."""
        return schema.collection_name(self.prefix, collection)

    def _names(self) -> dict[str, str]:
        return {collection: self._name(collection) for collection in schema.COLLECTIONS}

    def connect(self) -> None:
        """Connect now (a local path starts its Milvus Lite) and load the collections there are: a failure raises
        Milvus's own error, which the caller words (`index.stores.open_store`)."""
        self._ready()

    def _ready(self) -> bool:
        """Whether the collections exist; loaded on first sight (a restarted Milvus holds them released). A rebuild
        loads its collections before it points the aliases at them, so a switch needs no new look."""
        client = self._client()
        if not client.has_collection(self._name(schema.META)):
            return False
        if not self._loaded:
            for collection in schema.COLLECTIONS:
                client.load_collection(self._name(collection))
            self._loaded = True
        return True

    def _read(self, read: Callable[[], Result], missing: Result) -> Result:
        """`read()`, or `missing` when there is no index. Once the collections are known, `read()` goes first, without
        asking whether they exist (a round trip on every request of a replica). Tried a second time, after that
        question, when a collection it read is gone: a rebuild drops the collections it switched the aliases away
        from, and a read under way may still have reached one; the aliases name the new ones by then."""
        for _ in range(2):
            try:
                return read() if self._loaded or self._ready() else missing
            except MilvusException as error:
                if error.code not in (COLLECTION_NOT_FOUND, COLLECTION_NOT_LOADED):
                    raise self._unavailable(error) from None
                self._loaded = False  # dropped under us, or released by a restart: look again, and load
        return missing

    def _unavailable(self, error: MilvusException) -> IndexUnavailable:
        """What a request is told when Milvus fails it (stopped, unreachable): the service answers 503, not 500."""
        return IndexUnavailable(
            f"cannot use Milvus at {self.uri} ({error.message}); start it, or check QA_MILVUS_URI and QA_MILVUS_TOKEN"
        )

    def _manifest(self) -> dict | None:
        def manifest() -> dict | None:
            rows = self._client().get(self._name(schema.META), ids=[MANIFEST], output_fields=["value"])
            return json.loads(rows[0]["value"]) if rows else None

        return self._read(manifest, None)

    def settings(self) -> IndexSettings | None:
        manifest = self._manifest()
        if manifest is None:
            return None
        return IndexSettings(
            manifest["embedding_model"], manifest["dimension"], ChunkingSettings(**manifest["chunking"])
        )

    def generation(self) -> str:
        # Polled by every request of a replica: once the collections are known, one read of the meta row (see _read).
        manifest = self._manifest()
        return _generation(manifest) if manifest else ""

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
            try:
                self._mend_switch()
                manifest = self._manifest()
                if fresh or manifest is None:
                    return self._rebuild(settings, upsert, manifest)
                return self._change(settings, upsert, remove, manifest)
            except MilvusException as error:  # the write stops where it failed; the next one tidies (see above)
                raise self._unavailable(error) from None

    def _rebuild(self, settings: IndexSettings, upsert: Sequence[EmbeddedDocument], previous: dict | None) -> str:
        """Build the index in collections of a new version, then switch the aliases to them: until then readers
        answer from the previous index, which a writer that dies before the switch leaves as it was (one that dies
        between the three alias moves leaves them split until the next write finishes the switch)."""
        latest = list({e.document.id: e for e in upsert}.values())  # an id given twice: the last one stands
        _check_documents(latest, settings.dimension)
        self._drop_unaliased()  # what a rebuild that died left
        built = schema.create_collections(self._client(), self.prefix, settings.dimension, schema.new_version())
        self._put(built, latest, replaced=set())
        counted = previous.get("generation", 0) if previous else 0  # a rebuild counts on
        manifest = {"format_version": FORMAT_VERSION, **asdict(settings), "generation": counted}
        generation = self._seal(built, manifest)
        self._switch(built)
        self._drop_unaliased()
        return generation

    def _change(
        self, settings: IndexSettings, upsert: Sequence[EmbeddedDocument], remove: Sequence[str], manifest: dict
    ) -> str:
        """Upsert and remove documents in the collections in use, through their aliases."""
        self._check(manifest, settings)
        names = self._names()
        tidied = bool(manifest.pop(PENDING, False))
        if tidied:
            self._tidy()
        stored = self._stored([e.document.id for e in upsert] + list(remove))
        latest = {e.document.id: e for e in upsert}  # an id given twice: the last one stands
        new = [e for i, e in latest.items() if stored.get(i) != (e.document.content_hash, e.document.title)]
        _check_documents(new, settings.dimension)
        if new:
            # Marked before the rows are written, so that the write after a crash tidies what this one left.
            self._put_manifest(names[schema.META], {**manifest, PENDING: True})
        self._put(names, new, {e.document.id for e in new} & stored.keys())
        changed = bool(new)
        for document_id in remove:
            if stored.pop(document_id, None) is not None:
                self._delete(names[schema.CHUNKS], f"document_id == {literal(document_id)}")
                self._delete(names[schema.DOCUMENTS], f"document_id == {literal(document_id)}")
                changed = True
        if not changed:
            if tidied:
                self._put_manifest(names[schema.META], manifest)  # no longer pending; what readers see is unchanged
            return _generation(manifest)
        return self._seal(names, manifest)

    def _seal(self, names: dict[str, str], manifest: dict) -> str:
        """Flush the rows, then move the generation: the write is done once the meta row says so."""
        # Sealed and indexed before the generation moves: Milvus Lite searches rows it has not flushed one by one
        # (5,000 chunks: 3.7 s a question unflushed, 75 ms flushed), and a server keeps them on disk.
        for collection in (schema.CHUNKS, schema.DOCUMENTS):
            self._client().flush(names[collection])
        manifest = {**manifest, "generation": manifest["generation"] + 1, "token": uuid.uuid4().hex[:12]}
        self._put_manifest(names[schema.META], manifest)
        return _generation(manifest)

    def _switch(self, built: dict[str, str]) -> None:
        """Point the aliases at the rebuilt collections, loaded and flushed already: chunks first, so that a switch
        that died midway can be told from one never begun (`_mend_switch`), and the meta row's last, so that a reader
        that sees the new generation finds the new chunks and texts behind the other two."""
        aliases = set(self._client().list_aliases()["aliases"])
        for collection in (schema.CHUNKS, schema.DOCUMENTS, schema.META):
            self._point(collection, built[collection], aliases)

    def _point(self, collection: str, target: str, aliases: set[str]) -> None:
        """Point `collection`'s alias at `target`. Where there is no alias yet (the first build, or a store built
        before aliases, whose collection bears the alias's name) it is made; Milvus refuses an alias named like a
        collection, so such a collection is first renamed to the version `BEFORE_ALIASES`, rows and all: for that
        one round trip a reader finds no such collection and answers as from no index (searches ask once more), and a
        writer that dies in between leaves it to `_mend_switch`, which renames it back or makes the alias."""
        client, alias = self._client(), self._name(collection)
        if alias in aliases:
            client.alter_alias(target, alias)
            return
        if client.has_collection(alias):
            client.rename_collection(alias, schema.collection_name(self.prefix, collection, schema.BEFORE_ALIASES))
        client.create_alias(target, alias)

    def _mend_switch(self) -> None:
        """Finish what a rebuild that died while switching the aliases left half done, before anything else writes.
        Its collections were sealed before the first alias moved, and the chunks' alias moves first: when that one
        names a version, the other two are pointed at the same; when it names none, no switch began, except that a
        store built before aliases may have had its chunks collection renamed aside, which is renamed back. Until
        then readers answer from what the aliases name; a chunk whose document is stored at another version is passed
        over, so no citation is ever wrong, and documents or the generation may lag the chunks."""
        client = self._client()
        aliases = set(client.list_aliases()["aliases"])
        chunks = self._name(schema.CHUNKS)
        if chunks not in aliases:
            aside = schema.collection_name(self.prefix, schema.CHUNKS, schema.BEFORE_ALIASES)
            if not client.has_collection(chunks) and client.has_collection(aside):
                client.rename_collection(aside, chunks)
                self._loaded = False  # a renamed collection is released: loaded again on the next read
                log.warning("renamed Milvus collection %s back to %s: a rebuild died before switching", aside, chunks)
            return
        version = schema.version_of(client.describe_alias(chunks)["collection_name"])
        mended = False
        for collection in (schema.DOCUMENTS, schema.META):
            target = schema.collection_name(self.prefix, collection, version)
            alias = self._name(collection)
            if alias in aliases and client.describe_alias(alias)["collection_name"] == target:
                continue
            if not client.has_collection(target):
                raise IndexUnavailable(
                    f"Milvus collection {target} at {self.uri}, which a rebuild that died was switching to, is gone;"
                    " rebuild the index (`qa index build --replace PATH ...`)"
                )
            client.load_collection(target)
            self._point(collection, target, aliases)
            mended = True
        if mended:
            log.warning("finished switching Milvus aliases to version %s: a rebuild died midway", version)
            self._loaded = False
            self._drop_unaliased()

    def _drop_unaliased(self) -> None:
        """Drop this store's versioned collections that no alias points at: those a rebuild switched away from, or
        left half built when it died. Another prefix's are never matched (`schema.is_version`)."""
        client = self._client()
        for name in client.list_collections():
            if schema.is_version(self.prefix, name) and not client.list_aliases(name)["aliases"]:
                client.drop_collection(name)
                log.info("dropped Milvus collection %s, which no alias points at", name)

    def _put_manifest(self, meta: str, manifest: dict) -> None:
        client = self._client()
        client.upsert(meta, [{"key": MANIFEST, "value": json.dumps(manifest), "placeholder": schema.PLACEHOLDER}])
        client.flush(meta)

    def _tidy(self) -> None:
        """Delete what a write that died midway left: chunk and text-part rows of a version other than their
        document's stored one, or of a document never stored. Searches pass such chunks over already; this keeps
        them from piling up. One pass over the ids and hashes of every row, only after a write was interrupted
        (the manifest's pending mark)."""
        stored = {document_id: entry.content_hash for document_id, entry in self.documents().items()}
        removed = 0
        for collection, key in ((schema.CHUNKS, "id"), (schema.DOCUMENTS, "key")):
            rows = self._client().query_iterator(
                self._name(collection), batch_size=1000, output_fields=[key, "document_id", "content_hash"]
            )
            stale = []
            try:
                while batch := rows.next():
                    stale += [row[key] for row in batch if stored.get(row["document_id"]) != row["content_hash"]]
            finally:
                rows.close()
            for first in range(0, len(stale), BATCH_ROWS):
                self._client().delete(self._name(collection), ids=stale[first : first + BATCH_ROWS])
            removed += len(stale)
        log.info("tidied %d rows an interrupted write left", removed)

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
            raise IndexUnavailable(f"{where} were {reason}; `qa index add` or `qa serve` re-embeds their documents")

    def _hashes(self, document_ids: set[str]) -> dict[str, str]:
        """The content hash each of these documents is stored with (those stored)."""
        return {document_id: stored[0] for document_id, stored in self._stored(sorted(document_ids)).items()}

    def _stored(self, document_ids: list[str]) -> dict[str, tuple[str, str]]:
        """(content hash, title) of those of these documents that are stored."""
        found: dict[str, tuple[str, str]] = {}
        for first in range(0, len(document_ids), BATCH_ROWS):
            batch = document_ids[first : first + BATCH_ROWS]
            rows = self._client().query(
                self._name(schema.DOCUMENTS),
                filter=f"part == 0 and document_id in [{', '.join(map(literal, batch))}]",
                output_fields=["document_id", "content_hash", "title"],
            )
            found.update({row["document_id"]: (row["content_hash"], row["title"]) for row in rows})
        return found

    def _put(self, names: dict[str, str], documents: Sequence[EmbeddedDocument], replaced: set[str]) -> None:
        """Upsert the documents' chunks and text in full batches into the collections `names` gives, then drop what
        replaced ones' old versions left."""
        chunks: list[dict] = []
        parts: list[dict] = []
        for embedded in documents:  # rows made a batch at a time: as lists of Python floats, vectors take 8x their size
            chunks += chunk_rows(embedded)
            parts += document_rows(embedded.document, len(embedded.chunks))
            if len(chunks) >= BATCH_ROWS or len(parts) >= BATCH_ROWS:
                self._upsert(names[schema.CHUNKS], chunks)
                self._upsert(names[schema.DOCUMENTS], parts)
                chunks, parts = [], []
        self._upsert(names[schema.CHUNKS], chunks)
        self._upsert(names[schema.DOCUMENTS], parts)
        for embedded in documents:
            if embedded.document.id in replaced:
                document, quoted = embedded.document, literal(embedded.document.id)
                where = f"document_id == {quoted} and part >= {part_count(document.text)}"
                self._delete(names[schema.DOCUMENTS], where)
                stale = f"document_id == {quoted} and content_hash != {literal(document.content_hash)}"
                self._delete(names[schema.CHUNKS], stale)

    def _upsert(self, collection: str, rows: list[dict]) -> None:
        """Into `collection`, by its full name."""
        for first in range(0, len(rows), BATCH_ROWS):
            self._client().upsert(collection, rows[first : first + BATCH_ROWS])

    def _delete(self, collection: str, where: str) -> None:
        """From `collection`, by its full name."""
        self._client().delete(collection, filter=where)

    def documents(self) -> dict[str, StoredDocument]:
        return self._read(self._list_documents, {})

    def _list_documents(self) -> dict[str, StoredDocument]:
        fields = ["document_id", "title", "source", "content_hash", "characters", "chunks"]
        rows = self._client().query_iterator(
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
        return self._read(lambda: self._read_document(document_id), None)

    def _read_document(self, document_id: str) -> Document | None:
        rows = self._client().query(
            self._name(schema.DOCUMENTS),
            filter=f"document_id == {literal(document_id)}",
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

        def document_text(document_id: str) -> str:
            document = self.document(document_id)
            return document.text if document else ""

        def search() -> list[list[Hit]]:
            chunks = self._name(schema.CHUNKS)
            return hybrid_search(
                self._client(), chunks, queries, vectors, top_ks, self.candidates, document_text, self._hashes
            )

        return self._read(search, [[] for _ in queries])

    def snapshot(self) -> "MilvusStore":
        """This store itself: Milvus has no snapshots, so a reader sees each write as soon as it lands."""
        return self

    def close(self) -> None:
        with self._client_lock:
            if self._milvus is None:
                return
            self._milvus.close()
            self._milvus, self._loaded = None, False
            if self.local:
                _release_local(self.uri)


def _generation(manifest: dict) -> str:
    """What `generation()` reports for this manifest: its counter and token."""
    return f"{manifest['generation']}-{manifest['token']}"


def _check_documents(documents: Sequence[EmbeddedDocument], dimension: int) -> None:
    """Refuse, before anything is written, a document whose fields are too long for Milvus or whose vectors are not of
    the index's dimension."""
    for embedded in documents:
        check_sizes(embedded.document)
        if len(embedded.chunks) and embedded.vectors.shape[1] != dimension:
            raise ValueError(
                f"{embedded.document.id}: vectors of dimension {embedded.vectors.shape[1]}, the index {dimension}"
            )


def _release_local(path: str) -> None:
    """Stop this process's Milvus Lite server for `path` once no store uses it (it holds the folder's lock)."""
    from milvus_lite.server_manager import server_manager_instance

    with _local_lock:
        _local_servers[path] -= 1
        if _local_servers[path] > 0:
            return
        del _local_servers[path]
    server_manager_instance.release_server(path)
