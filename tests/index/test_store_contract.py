"""One contract, every store: the FAISS store, Milvus Lite embedded from a `*.db` folder, and a Milvus Lite server."""

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest

from index.builder import IndexBuilder, UpdateReport
from index.chunking import Chunk, ChunkingSettings, chunk_document
from index.document_store import (
    DocumentStore,
    EmbeddedDocument,
    IndexSettings,
    StoredDocument,
    StoreDocuments,
    StoreRetriever,
)
from index.documents import Document, load_documents
from index.embedding import SentenceEmbedder
from index.faiss_store import FaissStore
from index.store import IndexUnavailable
from tests.fakes import FakeEmbedder
from tests.milvus_server import milvus_server as run_milvus_server

CHUNKING = ChunkingSettings(max_tokens=16, overlap_sentences=1)
PIER = Document("pier", "Pier", "api", "The pier is 400 metres long. Ferries leave from its end at dawn.")
STORES = ["faiss", "milvus-lite", pytest.param("milvus-server", marks=pytest.mark.slow)]

Opener = Callable[[], DocumentStore]


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`milvus-lite server` on loopback, shared by the tests (each uses its own collections)."""
    pytest.importorskip("pymilvus")
    with run_milvus_server(tmp_path_factory.mktemp("milvus-server")) as uri:
        yield uri


@pytest.fixture(params=STORES)
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens a store on this test's location, as often as asked (a second one is another process's view)."""
    opened: list[DocumentStore] = []

    def open_store() -> DocumentStore:
        if request.param == "faiss":
            store: DocumentStore = FaissStore(tmp_path / "index")
        else:
            from index.milvus_store import MilvusStore

            if request.param == "milvus-lite":
                store = MilvusStore(str(tmp_path / "milvus.db"), collection="contract")
            else:
                uri = request.getfixturevalue("milvus_server")
                store = MilvusStore(uri, collection=f"t{abs(hash(request.node.nodeid))}")
        opened.append(store)
        return store

    if request.param != "faiss":
        pytest.importorskip("pymilvus")
    yield open_store
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Opener) -> DocumentStore:
    return open_store()


@pytest.fixture
def documents(tiny_corpus: Path) -> list[Document]:
    return load_documents([tiny_corpus])


def build(store: DocumentStore, documents: list[Document], embedder: FakeEmbedder | None = None) -> UpdateReport:
    return IndexBuilder(store, embedder or FakeEmbedder(), CHUNKING).build_documents(documents)


def embed(documents: list[Document]) -> list[EmbeddedDocument]:
    """What the builder hands a store, made by hand."""
    embedded = []
    for document in documents:
        chunks = chunk_document(document, CHUNKING)
        embedded.append(EmbeddedDocument(document, chunks, FakeEmbedder().encode([c.text for c in chunks])))
    return embedded


def search(store: DocumentStore, query: str, top_k: int = 5) -> list:
    return StoreRetriever(store, FakeEmbedder()).search(query, top_k)


def assert_exact_offsets(store: DocumentStore, hits: list) -> None:
    for hit in hits:
        document = store.document(hit.chunk.document_id)
        assert document is not None, hit
        assert document.text[hit.chunk.start : hit.chunk.end] == hit.chunk.text


def test_an_empty_store_holds_nothing(store: DocumentStore) -> None:
    assert store.settings() is None
    assert store.generation() == ""
    assert store.documents() == {}
    assert store.document("harbour") is None
    assert search(store, "harbour") == []


def test_added_documents_are_listed_and_read_back_exactly(store: DocumentStore, documents: list[Document]) -> None:
    report = build(store, documents)

    assert report.added == ["comet", "harbour", "orchard"]
    assert store.settings() == IndexSettings("fake", 64, CHUNKING)
    listed = store.documents()
    assert sorted(listed) == ["comet", "harbour", "orchard"]
    for document in documents:
        assert store.document(document.id) == document
        assert listed[document.id] == StoredDocument(
            document.id,
            document.title,
            document.source,
            document.content_hash,
            len(document.text),
            listed[document.id].chunks,
        )
    assert sum(entry.chunks for entry in listed.values()) == report.chunks
    assert store.document("nowhere") is None


def test_hits_cite_exact_offsets_and_carry_both_scores(store: DocumentStore, documents: list[Document]) -> None:
    build(store, documents)
    embedder = FakeEmbedder()

    hits = search(store, "When did the lighthouse keeper retire?")

    assert hits, "a query sharing words with the corpus finds chunks"
    assert hits[0].chunk.document_id == "harbour" and "lighthouse keeper" in hits[0].chunk.text
    assert_exact_offsets(store, hits)
    query = embedder.encode(["When did the lighthouse keeper retire?"])[0]
    for hit in hits:
        assert hit.dense_score == pytest.approx(float(embedder.encode([hit.chunk.text])[0] @ query), abs=1e-5)
    assert hits[0].lexical_score > 0
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert len({hit.chunk_id for hit in hits}) == len(hits)


def test_an_exact_term_finds_its_document(store: DocumentStore, documents: list[Document]) -> None:
    build(store, documents)

    assert search(store, "cider", 1)[0].chunk.document_id == "orchard"
    assert search(store, "astronomers", 1)[0].chunk.document_id == "comet"


def test_many_queries_at_once_rank_as_one_at_a_time(store: DocumentStore, documents: list[Document]) -> None:
    build(store, documents)
    queries = ["harbour cod", "comet sun", "apple cider"]
    retriever = StoreRetriever(store, FakeEmbedder())

    together = retriever.search_many(queries, [3, 2, 1])

    alone = [retriever.search(query, top_k) for query, top_k in zip(queries, [3, 2, 1], strict=True)]
    assert [[h.chunk for h in hits] for hits in together] == [[h.chunk for h in hits] for hits in alone]
    assert [len(hits) for hits in together] == [3, 2, 1]


def test_adding_the_same_documents_again_changes_nothing(store: DocumentStore, documents: list[Document]) -> None:
    build(store, documents)
    generation = store.generation()
    embedder = FakeEmbedder()

    report = IndexBuilder(store, embedder, CHUNKING).change(documents)

    assert report == UpdateReport(unchanged=["comet", "harbour", "orchard"])
    assert embedder.encoded == [], "nothing was embedded again"
    assert store.generation() == generation
    # The store itself skips what it holds, for writers that don't ask first.
    assert store.write(IndexSettings("fake", 64, CHUNKING), embed(documents)) == generation


def test_a_replaced_document_leaves_nothing_of_its_old_text(store: DocumentStore, documents: list[Document]) -> None:
    build(store, documents)
    harbour = next(d for d in documents if d.id == "harbour")
    changed = replace(harbour, text="The harbour closed in 1990. Yachts moor there now.")

    report = IndexBuilder(store, FakeEmbedder(), CHUNKING).change([changed])

    assert report.replaced == ["harbour"]
    assert store.document("harbour") == changed
    assert store.documents()["harbour"].content_hash == changed.content_hash
    hits = search(store, "lighthouse keeper retired cod harbour", 10)
    assert_exact_offsets(store, hits)
    assert all(hit.chunk.text in changed.text for hit in hits if hit.chunk.document_id == "harbour")
    assert any(hit.chunk.document_id == "harbour" for hit in hits)


def test_a_new_title_alone_replaces_the_document(store: DocumentStore, documents: list[Document]) -> None:
    build(store, documents)
    comet = next(d for d in documents if d.id == "comet")

    report = IndexBuilder(store, FakeEmbedder(), CHUNKING).change([replace(comet, title="The comet")])

    assert report.replaced == ["comet"]
    assert store.documents()["comet"].title == "The comet"


def test_a_removed_document_is_gone_everywhere(store: DocumentStore, documents: list[Document]) -> None:
    build(store, documents)

    report = IndexBuilder(store, FakeEmbedder(), CHUNKING).change(remove=["comet"])

    assert report.removed == ["comet"]
    assert sorted(store.documents()) == ["harbour", "orchard"]
    assert store.document("comet") is None
    assert all(hit.chunk.document_id != "comet" for hit in search(store, "comet sun years astronomers", 10))


def test_the_generation_changes_with_every_write_and_only_then(store: DocumentStore, documents: list[Document]) -> None:
    builder = IndexBuilder(store, FakeEmbedder(), CHUNKING)
    seen = [store.generation()]

    seen.append(builder.build_documents(documents).generation)
    assert store.generation() == seen[-1]
    assert builder.change(documents).generation == seen[-1], "unchanged documents are no write"
    seen.append(builder.change([PIER]).generation)
    seen.append(builder.change(remove=["pier"]).generation)
    seen.append(builder.rebuild().generation)

    assert store.generation() == seen[-1]
    assert len(set(seen)) == len(seen) == 5


@pytest.mark.parametrize(
    ("embedder", "chunking", "reason"),
    [
        (FakeEmbedder("other-model"), CHUNKING, "embedding model 'fake', settings ask for 'other-model'"),
        (FakeEmbedder(), ChunkingSettings(max_tokens=40, overlap_sentences=0), "chunking"),
    ],
)
def test_a_write_under_other_settings_is_refused(
    store: DocumentStore, documents: list[Document], embedder: FakeEmbedder, chunking: ChunkingSettings, reason: str
) -> None:
    build(store, documents)
    generation = store.generation()

    with pytest.raises(IndexUnavailable, match=reason) as refused:
        IndexBuilder(store, embedder, chunking).change([PIER])

    assert "`qa index add` or `qa serve` re-embeds" in str(refused.value)  # not a build, which drops added documents
    assert store.generation() == generation
    # A rebuild under the new settings is how to move on.
    IndexBuilder(store, embedder, chunking).rebuild()
    assert store.settings() == IndexSettings(embedder.model_id, 64, chunking)
    assert sorted(store.documents()) == ["comet", "harbour", "orchard"]


def test_vectors_of_another_dimension_are_refused(store: DocumentStore, documents: list[Document]) -> None:
    build(store, documents)
    chunk = Chunk("pier", 0, len(PIER.text), PIER.text)

    with pytest.raises(IndexUnavailable, match="64-dimensional"):
        store.write(IndexSettings("fake", 8, CHUNKING), [EmbeddedDocument(PIER, [chunk], np.ones((1, 8)))])


def test_a_reopened_store_holds_the_same_index(open_store: Opener, documents: list[Document]) -> None:
    first = open_store()
    build(first, documents)
    generation, listed, hits = first.generation(), first.documents(), search(first, "harbour cod")
    first.close()

    reopened = open_store()

    assert reopened.generation() == generation
    assert reopened.documents() == listed
    assert [h.chunk for h in search(reopened, "harbour cod")] == [h.chunk for h in hits]


def test_a_second_store_on_the_same_index_sees_writes_without_reopening(
    open_store: Opener, documents: list[Document]
) -> None:
    writer, reader = open_store(), open_store()
    build(writer, documents)
    assert sorted(reader.documents()) == ["comet", "harbour", "orchard"]

    IndexBuilder(writer, FakeEmbedder(), CHUNKING).change([PIER], remove=["comet"])

    assert reader.generation() == writer.generation()
    assert sorted(reader.documents()) == ["harbour", "orchard", "pier"]
    assert search(reader, "ferries pier dawn", 1)[0].chunk.document_id == "pier"


def test_a_snapshot_reads_what_the_store_holds(store: DocumentStore, documents: list[Document]) -> None:
    build(store, documents)

    snapshot = store.snapshot()

    assert snapshot.generation() == store.generation()
    assert snapshot.settings() == store.settings()
    assert snapshot.documents() == store.documents()
    assert snapshot.document("comet") == store.document("comet")
    assert [h.chunk for h in search(snapshot, "harbour cod")] == [h.chunk for h in search(store, "harbour cod")]


def test_a_faiss_snapshot_keeps_its_generation_and_a_milvus_one_reads_live(
    store: DocumentStore, documents: list[Document]
) -> None:
    build(store, documents)
    snapshot = store.snapshot()
    before = snapshot.generation()

    IndexBuilder(store, FakeEmbedder(), CHUNKING).change([PIER], remove=["comet"])

    pinned = isinstance(store, FaissStore)
    assert (snapshot.generation() == before) is pinned
    assert ("comet" in snapshot.documents()) is pinned
    assert (snapshot.document("pier") is None) is pinned
    if pinned:
        with pytest.raises(RuntimeError, match="read-only"):
            IndexBuilder(snapshot, FakeEmbedder(), CHUNKING).change([PIER])


def test_store_documents_list_once_and_read_texts_from_the_store(
    store: DocumentStore, documents: list[Document]
) -> None:
    build(store, documents)

    mapping = StoreDocuments(store, store.documents())

    assert list(mapping) == sorted(d.id for d in documents) == sorted(store.documents())
    assert len(mapping) == 3
    assert mapping["harbour"] == store.document("harbour")
    assert mapping.get("nowhere") is None
    assert "comet" in mapping and "nowhere" not in mapping


def test_a_reader_whose_milvus_collections_were_dropped_sees_no_index(
    open_store: Opener, documents: list[Document]
) -> None:
    writer, reader = open_store(), open_store()
    if isinstance(writer, FaissStore):
        pytest.skip("Milvus only: a reader polls the meta row directly once it has seen the collections")
    build(writer, documents)
    assert reader.generation() == writer.generation() != ""

    for name in ("chunks", "documents", "meta"):
        drop(writer, name)

    assert reader.generation() == ""
    assert reader.documents() == {}
    build(writer, documents)
    assert reader.generation() == writer.generation() != ""


def test_a_reader_searching_when_the_chunks_are_gone_gets_no_hits_not_an_error(
    open_store: Opener, documents: list[Document]
) -> None:
    writer, reader = open_store(), open_store()
    if isinstance(writer, FaissStore):
        pytest.skip("Milvus only: its collections can be dropped under a reader")
    build(writer, documents)
    assert search(reader, "cod harbour")

    drop(writer, "chunks")

    assert search(reader, "cod harbour") == []


def test_a_reader_whose_milvus_collections_were_released_loads_them_again(
    open_store: Opener, documents: list[Document]
) -> None:
    """A restarted Milvus holds every collection released: a running replica's next read loads them (it answered 500
    until another process happened to load them)."""
    writer, reader = open_store(), open_store()
    if isinstance(writer, FaissStore):
        pytest.skip("Milvus only: collections are loaded and released")
    build(writer, documents)
    assert search(reader, "cod harbour")
    client = writer._client()  # type: ignore[attr-defined]
    for name in ("chunks", "documents", "meta"):
        client.release_collection(client.describe_alias(f"{writer.prefix}_{name}")["collection_name"])  # type: ignore[attr-defined]

    assert reader.generation() == writer.generation() != ""
    assert search(reader, "cod harbour")
    assert sorted(reader.documents()) == sorted(d.id for d in documents)


def test_a_milvus_that_fails_a_read_is_index_unavailable_saying_what_to_check(
    open_store: Opener, documents: list[Document]
) -> None:
    """Stopped or unreachable: the service answers 503 with this, not a bare 500."""
    from pymilvus.exceptions import MilvusException

    store = open_store()
    if isinstance(store, FaissStore):
        pytest.skip("Milvus only: a server that stops")
    build(store, documents)

    def unreachable() -> None:
        raise MilvusException(code=2, message="Fail connecting to server")

    with pytest.raises(IndexUnavailable) as refused:
        store._read(unreachable, None)  # type: ignore[attr-defined]

    assert str(refused.value) == (
        f"cannot use Milvus at {store.uri} (Fail connecting to server); start it, or check QA_MILVUS_URI and"  # type: ignore[attr-defined]
        " QA_MILVUS_TOKEN"
    )


def drop(store: DocumentStore, name: str) -> None:
    """Drop one of a Milvus store's collections, and the alias that names it."""
    client, alias = store._client(), f"{store.prefix}_{name}"  # type: ignore[attr-defined]
    collection = client.describe_alias(alias)["collection_name"]
    client.drop_alias(alias)  # Milvus refuses to drop a collection an alias points at; Milvus Lite drops both
    client.drop_collection(collection)


class WriterDied(Exception):
    """What a writer killed between putting a document's rows and deleting its old ones would leave."""


def chunk_hashes(store: DocumentStore, document_id: str) -> list[str]:
    """The content hash of every chunk row of a document in a Milvus store."""
    rows = store._client().query(  # type: ignore[attr-defined]
        f"{store.prefix}_chunks",  # type: ignore[attr-defined]
        filter=f'document_id == "{document_id}"',
        output_fields=["content_hash"],
    )
    return sorted(row["content_hash"] for row in rows)


def die_before_deleting(store: DocumentStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def deleting(collection: str, where: str) -> None:
        raise WriterDied(where)

    monkeypatch.setattr(store, "_delete", deleting)


def before_document_rows(store: DocumentStore, monkeypatch: pytest.MonkeyPatch, then: Callable[[str], None]) -> None:
    """`then(collection)` each time the store is about to write document (text-part) rows, its chunk rows written."""
    put = store._upsert  # type: ignore[attr-defined]

    def watched(collection: str, rows: list[dict]) -> None:
        if "documents" in collection and rows:  # qa_documents, or a rebuild's qa_documents_<version>
            then(collection)
        put(collection, rows)

    monkeypatch.setattr(store, "_upsert", watched)


def die_before_document_rows(store: DocumentStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store writes chunk rows, then dies at its first document (text-part) rows."""

    def die(collection: str) -> None:
        raise WriterDied(collection)

    before_document_rows(store, monkeypatch, die)


def test_a_writer_that_died_mid_replace_leaves_no_chunk_a_search_returns_and_the_next_write_tidies_it(
    open_store: Opener, documents: list[Document], monkeypatch: pytest.MonkeyPatch
) -> None:
    writer, reader = open_store(), open_store()
    if isinstance(writer, FaissStore):
        pytest.skip("Milvus only: a FAISS generation is switched whole, or not at all")
    build(writer, documents)
    harbour = next(d for d in documents if d.id == "harbour")
    changed = replace(harbour, text="The harbour closed in 1990. Yachts moor there now.")
    die_before_deleting(writer, monkeypatch)

    with pytest.raises(WriterDied):
        writer.write(IndexSettings("fake", 64, CHUNKING), embed([changed]))

    assert harbour.content_hash in chunk_hashes(reader, "harbour"), "the old chunks are still stored"
    hits = search(reader, "lighthouse keeper retired cod harbour", 10)
    assert any(hit.chunk.document_id == "harbour" for hit in hits)
    assert_exact_offsets(reader, hits)
    assert all(hit.chunk.text in changed.text for hit in hits if hit.chunk.document_id == "harbour")

    monkeypatch.undo()
    comet = next(d for d in documents if d.id == "comet")
    writer.write(IndexSettings("fake", 64, CHUNKING), embed([replace(comet, title="Comets")]))

    assert set(chunk_hashes(reader, "harbour")) == {changed.content_hash}
    assert reader.document("harbour") == changed


def test_a_document_whose_first_write_died_is_tidied_away_and_never_found(
    open_store: Opener, documents: list[Document], monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = open_store()
    if isinstance(writer, FaissStore):
        pytest.skip("Milvus only: a FAISS generation is switched whole, or not at all")
    build(writer, documents)
    die_before_document_rows(writer, monkeypatch)
    with pytest.raises(WriterDied):
        writer.write(IndexSettings("fake", 64, CHUNKING), embed([PIER]))

    assert chunk_hashes(writer, "pier"), "its chunks were stored before it died"
    assert all(hit.chunk.document_id != "pier" for hit in search(writer, "pier ferries dawn", 10))
    monkeypatch.undo()
    writer.write(IndexSettings("fake", 64, CHUNKING), remove=["comet"])

    assert chunk_hashes(writer, "pier") == []
    assert writer.document("pier") is None


def test_a_first_build_that_died_leaves_no_index_to_serve(
    open_store: Opener, documents: list[Document], monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = open_store()
    if isinstance(writer, FaissStore):
        pytest.skip("Milvus only: a FAISS generation is switched whole, or not at all")
    die_before_document_rows(writer, monkeypatch)
    with pytest.raises(WriterDied):
        build(writer, documents)

    assert writer.settings() is None and writer.generation() == "", "the next start builds the index anew"


def aliased(store: DocumentStore) -> dict[str, str]:
    """The collection each of a Milvus store's aliases points at."""
    client = store._client()  # type: ignore[attr-defined]
    names = (f"{store.prefix}_{name}" for name in ("chunks", "documents", "meta"))  # type: ignore[attr-defined]
    return {alias: client.describe_alias(alias)["collection_name"] for alias in names}


def collections(store: DocumentStore) -> set[str]:
    """The collections of a Milvus store's prefix (and any other prefix that begins with it)."""
    listed = store._client().list_collections()  # type: ignore[attr-defined]
    return {name for name in listed if name.startswith(f"{store.prefix}_")}  # type: ignore[attr-defined]


def build_before_aliases(store: DocumentStore, documents: list[Document]) -> None:
    """A Milvus store as built before rebuilds switched aliases: collections bearing the names the store reads by."""
    from index import milvus_schema as schema
    from index.milvus_store import FORMAT_VERSION

    settings = IndexSettings("fake", 64, CHUNKING)
    client, prefix = store._client(), store.prefix  # type: ignore[attr-defined]
    schema.create_collections(client, prefix, settings.dimension)
    manifest = {"format_version": FORMAT_VERSION, **asdict(settings), "generation": 1, "token": "before"}
    row = {"key": "manifest", "value": json.dumps(manifest), "placeholder": schema.PLACEHOLDER}
    client.upsert(f"{prefix}_meta", [row])
    store.write(settings, embed(documents))  # an update, written in place as before


@pytest.mark.parametrize("layout", ["aliases", "collections"])
def test_readers_see_the_whole_old_index_until_a_rebuild_switches_to_the_new_one(
    open_store: Opener, documents: list[Document], monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    """`collections`: a store built before rebuilds switched aliases, whose first rebuild moves it to them."""
    writer, reader = open_store(), open_store()
    if isinstance(writer, FaissStore):
        pytest.skip("Milvus only: a FAISS generation is switched whole, or not at all")
    if layout == "aliases":
        build(writer, documents)
    else:
        build_before_aliases(writer, documents)
    generation, listed = reader.generation(), reader.documents()
    assert sorted(listed) == ["comet", "harbour", "orchard"]
    seen = []

    def looking(_: str) -> None:  # the new chunks are written, their texts not yet
        hits = search(reader, "lighthouse keeper cod harbour", 1)
        seen.append((reader.generation(), reader.documents(), [hit.chunk.document_id for hit in hits]))

    before_document_rows(writer, monkeypatch, looking)
    writer.write(IndexSettings("fake", 64, CHUNKING), embed([PIER]), fresh=True)

    assert seen == [(generation, listed, ["harbour"])]
    assert reader.generation() == writer.generation() != generation
    assert sorted(reader.documents()) == ["pier"]
    assert search(reader, "ferries pier dawn", 1)[0].chunk.document_id == "pier"
    assert collections(writer) == set(aliased(writer).values()), "the old collections were dropped"


def test_a_rebuild_that_died_leaves_the_old_index_and_the_next_drops_what_it_built(
    open_store: Opener, documents: list[Document], monkeypatch: pytest.MonkeyPatch
) -> None:
    writer, reader = open_store(), open_store()
    if isinstance(writer, FaissStore):
        pytest.skip("Milvus only: a FAISS generation is switched whole, or not at all")
    build(writer, documents)
    generation, listed = reader.generation(), reader.documents()
    die_before_document_rows(writer, monkeypatch)

    with pytest.raises(WriterDied):
        writer.write(IndexSettings("fake", 64, CHUNKING), embed([PIER]), fresh=True)

    assert reader.generation() == writer.generation() == generation
    assert reader.documents() == listed
    assert reader.document("harbour") == next(d for d in documents if d.id == "harbour")
    assert search(reader, "cider", 1)[0].chunk.document_id == "orchard"
    assert len(collections(writer)) == 6, "the three in use and the three it was filling"
    monkeypatch.undo()
    writer.write(IndexSettings("fake", 64, CHUNKING), embed([PIER]), fresh=True)

    assert sorted(reader.documents()) == ["pier"]
    assert collections(writer) == set(aliased(writer).values()), "nothing of either earlier build is left"


def dying_when(client: object, method: str, monkeypatch: pytest.MonkeyPatch, alias_suffix: str) -> None:
    """Make `client.<method>(collection, alias)` die for the alias that ends in `alias_suffix`, as a writer killed there."""
    original = getattr(client, method)

    def dying(collection: str, alias: str, **kwargs: object) -> None:
        if alias.endswith(alias_suffix):
            raise WriterDied(alias)
        original(collection, alias, **kwargs)

    monkeypatch.setattr(client, method, dying)


def rebuild_killed_switching(
    writer: DocumentStore, method: str, alias_suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild to PIER alone whose writer is killed at `client.<method>` for the alias ending in `alias_suffix`."""
    dying_when(writer._client(), method, monkeypatch, alias_suffix)  # type: ignore[attr-defined]
    with pytest.raises(WriterDied):
        writer.write(IndexSettings("fake", 64, CHUNKING), embed([PIER]), fresh=True)
    monkeypatch.undo()


def versions(store: DocumentStore) -> set[str]:
    """The versions a Milvus store's aliases name: one once a switch is done."""
    from index.milvus_schema import version_of

    return {version_of(name) for name in aliased(store).values()}


@pytest.mark.parametrize("died_at", ["_documents", "_meta"])
@pytest.mark.parametrize("next_write", ["rebuild", "change"])
def test_a_rebuild_that_died_between_switching_aliases_is_finished_by_the_next_write(
    open_store: Opener, documents: list[Document], monkeypatch: pytest.MonkeyPatch, died_at: str, next_write: str
) -> None:
    writer = open_store()
    if isinstance(writer, FaissStore):
        pytest.skip("Milvus only: a FAISS generation is switched whole, or not at all")
    settings = IndexSettings("fake", 64, CHUNKING)
    build(writer, documents)
    rebuild_killed_switching(writer, "alter_alias", died_at, monkeypatch)
    assert len(versions(writer)) == 2, "the chunks' alias names the rebuilt version, another does not"
    for hit in search(writer, "ferries pier dawn cider", 5):  # half switched, a search still cites only what it reads
        cited = writer.document(hit.chunk.document_id)
        assert cited is not None and cited.text[hit.chunk.start : hit.chunk.end] == hit.chunk.text

    if next_write == "rebuild":
        writer.write(settings, embed(documents), fresh=True)
        expected = ["comet", "harbour", "orchard"]
    else:
        comet = next(d for d in documents if d.id == "comet")
        writer.write(settings, embed([comet]))
        expected = ["comet", "pier"]

    assert sorted(writer.documents()) == expected
    question, answer = ("ferries pier dawn", "pier") if next_write == "change" else ("cider", "orchard")
    assert search(writer, question, 1)[0].chunk.document_id == answer
    assert len(versions(writer)) == 1, "all three aliases name one version"
    assert collections(writer) == set(aliased(writer).values()), "nothing else is left"


@pytest.mark.parametrize("died_at", ["_chunks", "_documents"])
def test_a_store_built_before_aliases_loses_nothing_when_its_first_rebuild_dies_while_switching(
    open_store: Opener, documents: list[Document], monkeypatch: pytest.MonkeyPatch, died_at: str
) -> None:
    """The rebuild renames each old collection aside before it makes the alias that takes its name; killed between the
    two, the next write renames the chunks back (nothing was switched yet) or finishes the switch."""
    writer = open_store()
    if isinstance(writer, FaissStore):
        pytest.skip("Milvus only: collections and aliases")
    settings = IndexSettings("fake", 64, CHUNKING)
    build_before_aliases(writer, documents)
    rebuild_killed_switching(writer, "create_alias", died_at, monkeypatch)

    orchard = next(d for d in documents if d.id == "orchard")
    writer.write(settings, embed([replace(orchard, title="Orchards")]))

    if died_at == "_chunks":  # the old index, as it was, with the change
        assert sorted(writer.documents()) == ["comet", "harbour", "orchard"]
        assert writer.documents()["orchard"].title == "Orchards"
        assert search(writer, "cider", 1)[0].chunk.document_id == "orchard"
        assert writer.document("harbour") == next(d for d in documents if d.id == "harbour")
    else:  # the rebuilt index, with the change
        assert sorted(writer.documents()) == ["orchard", "pier"]
        assert search(writer, "ferries pier dawn", 1)[0].chunk.document_id == "pier"
        assert len(versions(writer)) == 1, "all three aliases name the rebuilt version"
        assert collections(writer) == set(aliased(writer).values()), "the old collections went once switched"


def test_a_search_that_reached_a_collection_a_rebuild_then_dropped_asks_again(
    open_store: Opener, documents: list[Document], monkeypatch: pytest.MonkeyPatch
) -> None:
    writer, reader = open_store(), open_store()
    if isinstance(writer, FaissStore):
        pytest.skip("Milvus only: a FAISS snapshot keeps its files")
    from index import milvus_store

    build(writer, documents)
    before = aliased(writer)[f"{writer.prefix}_chunks"]  # type: ignore[attr-defined]
    searched = milvus_store.hybrid_search
    asked: list[str] = []

    def rebuilt_meanwhile(client: object, collection: str, *rest: object) -> list:
        asked.append(collection)
        if len(asked) == 1:  # as if Milvus had found the alias's collection just before the switch
            writer.write(IndexSettings("fake", 64, CHUNKING), embed([PIER]), fresh=True)
            collection = before
        return searched(client, collection, *rest)

    monkeypatch.setattr(milvus_store, "hybrid_search", rebuilt_meanwhile)

    assert search(reader, "ferries pier dawn", 1)[0].chunk.document_id == "pier"
    assert len(asked) == 2


def test_a_rebuild_drops_no_collection_of_a_store_whose_prefix_begins_with_its_own(
    open_store: Opener, documents: list[Document], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store()
    if isinstance(store, FaissStore):
        pytest.skip("Milvus only: collections under a prefix")
    from index.milvus_store import MilvusStore

    assert isinstance(store, MilvusStore)
    other = MilvusStore(store.uri, collection=f"{store.prefix}_chunks", token=store.token)
    try:
        build(other, documents)
        die_before_document_rows(other, monkeypatch)
        with pytest.raises(WriterDied):
            other.write(IndexSettings("fake", 64, CHUNKING), embed([PIER]), fresh=True)
        monkeypatch.undo()
        left = collections(other)
        assert len(left) == 6, "its index and a half-built rebuild"

        build(store, documents)
        store.write(IndexSettings("fake", 64, CHUNKING), embed([PIER]), fresh=True)

        assert left <= collections(store), "the other store's collections are all there"
        assert collections(store) - left == set(aliased(store).values())
        assert sorted(other.documents()) == ["comet", "harbour", "orchard"]
    finally:
        other.close()


def test_only_a_prefix_own_versioned_collections_are_its_versions() -> None:
    pytest.importorskip("pymilvus")
    from index.milvus_schema import is_version

    version = "0123456789ab"
    assert is_version("qa", f"qa_chunks_{version}")
    assert is_version("qa", f"qa_meta_{version}")
    for name in [
        "qa_chunks",  # an alias, or a collection of a store built before aliases
        f"qa_test_chunks_{version}",
        f"qa_chunks_meta_{version}",  # prefix qa_chunks
        f"qa_meta_chunks_{version}",
        f"qa_chunks_{version}0",
        f"qa_chunks_{version.upper()}",
        f"qa.chunks_{version}",
    ]:
        assert not is_version("qa", name), name


def test_a_long_document_round_trips_in_parts(store: DocumentStore) -> None:
    """Longer than one Milvus VARCHAR (65,535 bytes) in UTF-8, with a single chunk just as long."""
    text = "Überschall " * 7000 + "and a final word."
    document = Document("long", "Long", "api", text)
    vector = FakeEmbedder().encode([text])
    settings = IndexSettings("fake", 64, CHUNKING)

    store.write(settings, [EmbeddedDocument(document, [Chunk("long", 0, len(text), text)], vector)], fresh=True)

    assert len(text.encode("utf-8")) > 65_535
    assert store.document("long") == document
    [hit] = store.search(["final word"], vector, [1])[0]
    assert hit.chunk == Chunk("long", 0, len(text), text)


@pytest.fixture(scope="module")
def real_embedder() -> SentenceEmbedder:
    return SentenceEmbedder().load()


@pytest.mark.model
@pytest.mark.parametrize(
    ("question", "document_id"),
    [
        ("Who stopped working at the beacon tower?", "harbour"),
        ("How often does the celestial visitor return?", "comet"),
    ],
)
def test_a_paraphrase_finds_its_document_with_the_real_model(
    store: DocumentStore, documents: list[Document], real_embedder: SentenceEmbedder, question: str, document_id: str
) -> None:
    IndexBuilder(store, real_embedder, CHUNKING).build_documents(documents)

    hits = StoreRetriever(store, real_embedder).search(question, 1)

    assert hits[0].chunk.document_id == document_id
    assert hits[0].lexical_score == 0, "no word in common: the meaning alone found it"


def test_a_store_of_documents_without_a_word_bm25_counts_is_searched_by_meaning(store: DocumentStore) -> None:
    """'To be, or not to be.' is all stop words, emoji are no words: an index of only such chunks (a first upload to an
    empty index, say) is still served, BM25 adding nothing; bm25s alone cannot index it."""
    hamlet = Document("hamlet", "Hamlet", "api", "To be, or not to be.")
    smiles = Document("smiles", "Smiles", "api", "🙂🙂 🙂")

    build(store, [hamlet, smiles])

    hits = search(store, "to be or not to be")
    assert {hit.chunk.document_id for hit in hits} == {"hamlet", "smiles"}
    assert_exact_offsets(store, hits)
