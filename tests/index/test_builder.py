"""Building and updating the index with the fake embedder: added, unchanged, replaced, rebuilt."""

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pydantic import SecretStr

from index.builder import DocumentConflict, IndexBuilder, UnknownDocument, UpdateReport
from index.chunking import ChunkingSettings, chunk_document
from index.documents import Document, DocumentError, load_documents
from index.faiss_store import FaissStore
from index.store import POINTER, IndexData, IndexStore, IndexUnavailable
from service.runtime import ensure_index
from service.settings import Settings
from tests.fakes import FakeEmbedder, write_files

CHUNKING = ChunkingSettings(max_tokens=16, overlap_sentences=1)
NEW_ARTICLE = "Glaciers retreated 12 metres last year. Researchers measured the ice every month."
CHANGED_ARTICLE = "Glaciers advanced 3 metres this winter. Snowfall was the heaviest in 40 years."


def assert_consistent(data: IndexData) -> None:
    """Chunks round-trip into their documents, and each chunk id has exactly its own vector."""
    assert len(data.vectors) == len(data.chunks)
    for chunk_id, chunk in data.chunks.items():
        assert data.documents[chunk.document_id].text[chunk.start : chunk.end] == chunk.text
        expected = FakeEmbedder().encode([chunk.text])[0]
        np.testing.assert_allclose(data.vectors.vector(chunk_id), expected, atol=1e-6)
    assert set(data.manifest.content_hashes) == set(data.documents)
    assert data.manifest.next_chunk_id > max(data.chunks, default=-1)


def pointer(store: IndexStore) -> str:
    return (store.folder / POINTER).read_text()


@pytest.fixture
def builder(tmp_path: Path, fake_embedder: FakeEmbedder) -> IndexBuilder:
    return IndexBuilder(IndexStore(tmp_path / "index"), fake_embedder, CHUNKING)


def test_build_indexes_every_document(builder: IndexBuilder, tiny_corpus: Path) -> None:
    report = builder.build([tiny_corpus])

    data = builder.store.load()
    documents = load_documents([tiny_corpus])
    expected_chunks = [chunk for document in documents for chunk in chunk_document(document, CHUNKING)]
    assert report == UpdateReport(added=["comet", "harbour", "orchard"], chunks=len(expected_chunks))
    assert list(data.chunks.values()) == expected_chunks
    assert data.documents == {document.id: document for document in documents}
    assert data.manifest.embedding_model == "fake"
    assert data.manifest.chunking == CHUNKING
    assert_consistent(data)


def test_build_refuses_bad_files_before_writing_anything(builder: IndexBuilder, tiny_corpus: Path) -> None:
    write_files(tiny_corpus, {"scan.pdf": b"%PDF"})

    with pytest.raises(DocumentError, match=r"scan\.pdf"):
        builder.build([tiny_corpus, tiny_corpus / "scan.pdf"])

    assert not builder.store.exists()


def test_add_then_re_add_then_change(
    builder: IndexBuilder, tiny_corpus: Path, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    builder.build([tiny_corpus])
    before = builder.store.load()
    article = write_files(tmp_path / "new", {"glacier.txt": NEW_ARTICLE}) / "glacier.txt"

    added = builder.add([article])

    data = builder.store.load()
    new_ids = [i for i, chunk in data.chunks.items() if chunk.document_id == "glacier"]
    assert added == UpdateReport(added=["glacier"], chunks=len(new_ids))
    assert min(new_ids) >= before.manifest.next_chunk_id, "chunk ids are never reused"
    assert {i: c for i, c in data.chunks.items() if c.document_id != "glacier"} == before.chunks
    assert_consistent(data)

    fake_embedder.encoded.clear()
    generation = pointer(builder.store)
    unchanged = builder.add([article])

    assert unchanged == UpdateReport(unchanged=["glacier"], chunks=0)
    assert fake_embedder.encoded == [], "an unchanged file is not embedded again"
    assert pointer(builder.store) == generation, "nor is the index rewritten"

    article.write_text(CHANGED_ARTICLE, encoding="utf-8")
    replaced = builder.add([article])

    after = builder.store.load()
    fresh_ids = [i for i, chunk in after.chunks.items() if chunk.document_id == "glacier"]
    assert replaced == UpdateReport(replaced=["glacier"], chunks=len(fresh_ids))
    assert not set(new_ids) & set(after.chunks), "the old chunks are gone"
    assert min(fresh_ids) >= data.manifest.next_chunk_id
    assert after.documents["glacier"].text == CHANGED_ARTICLE
    assert "retreated" not in " ".join(after.chunks[i].text for i in fresh_ids)
    assert_consistent(after)
    _, found = after.vectors.search(FakeEmbedder().encode([NEW_ARTICLE]), len(after.vectors))
    assert not set(found[0].tolist()) & set(new_ids), "the old vectors are gone too"


def test_a_new_title_alone_replaces_the_document(builder: IndexBuilder, tiny_corpus: Path) -> None:
    builder.build([tiny_corpus])
    write_files(tiny_corpus, {"titles.json": '{"harbour.txt": "Harbour history"}'})

    report = builder.add([tiny_corpus])

    assert report.replaced == ["harbour"]
    assert report.unchanged == ["comet", "orchard"]
    assert builder.store.load().documents["harbour"].title == "Harbour history"


def test_add_without_an_index_builds_one(builder: IndexBuilder, tiny_corpus: Path) -> None:
    report = builder.add([tiny_corpus / "harbour.txt"])

    assert report.added == ["harbour"]
    assert_consistent(builder.store.load())


def test_rebuild_applies_new_chunking_to_the_stored_documents(
    builder: IndexBuilder, tiny_corpus: Path, fake_embedder: FakeEmbedder
) -> None:
    builder.build([tiny_corpus])
    documents = builder.store.load().documents
    shutil.rmtree(tiny_corpus)  # the stored text is enough
    chunking = ChunkingSettings(max_tokens=40, overlap_sentences=0)

    report = IndexBuilder(builder.store, fake_embedder, chunking).rebuild()

    data = builder.store.load()
    expected = [chunk for document in documents.values() for chunk in chunk_document(document, chunking)]
    assert sorted(report.added) == sorted(documents)
    assert data.manifest.chunking == chunking
    assert data.documents == documents
    assert list(data.chunks.values()) == expected
    assert_consistent(data)


def test_ensure_index_builds_then_keeps_then_rebuilds(tmp_path: Path, tiny_corpus: Path) -> None:
    settings = Settings(index_dir=tmp_path / "index", corpus=[tiny_corpus], embedding_model="fake")

    store = ensure_index(settings, FakeEmbedder()).index  # the FaissStore's folder
    built = store.load()
    generation = pointer(store)

    ensure_index(settings, FakeEmbedder())
    assert pointer(store) == generation, "matching settings keep the index as it is"

    shutil.rmtree(tiny_corpus)
    rechunked = settings.model_copy(update={"chunk_max_tokens": 40, "chunk_overlap_sentences": 0})
    ensure_index(rechunked, FakeEmbedder())

    data = store.load()
    assert pointer(store) != generation
    assert data.manifest.chunking == ChunkingSettings(40, 0)
    assert data.documents == built.documents
    assert_consistent(data)


def test_ensure_index_rebuilds_for_another_embedding_model(tmp_path: Path, tiny_corpus: Path) -> None:
    old = Settings(index_dir=tmp_path / "index", corpus=[tiny_corpus], embedding_model="fake-old")
    ensure_index(old, FakeEmbedder("fake-old"))
    new = Settings(index_dir=tmp_path / "index", corpus=[tiny_corpus], embedding_model="fake")
    embedder = FakeEmbedder("fake")

    store = ensure_index(new, embedder).index

    data = store.load()
    assert data.manifest.embedding_model == "fake"
    assert sorted(data.documents) == ["comet", "harbour", "orchard"]
    assert set(embedder.encoded) >= {chunk.text for chunk in data.chunks.values()}
    assert_consistent(data)


def test_a_read_only_replica_of_a_shared_store_never_builds_or_rebuilds_it(tmp_path: Path, tiny_corpus: Path) -> None:
    # A Milvus server's settings without QA_ADMIN_TOKEN; the store handed in is a FAISS folder standing in for it.
    shared = Settings(
        store="milvus", milvus_uri="http://milvus.internal:19530", corpus=[tiny_corpus], embedding_model="fake"
    )
    folder = IndexStore(tmp_path / "index")

    with pytest.raises(
        IndexUnavailable, match=r"no index in .* yet: build it with `qa index build`, or start the writer"
    ):
        ensure_index(shared, FakeEmbedder(), store=FaissStore(folder))
    assert not folder.exists()

    blank = shared.model_copy(update={"admin_token": SecretStr("")})  # QA_ADMIN_TOKEN= switches writes off too
    with pytest.raises(IndexUnavailable, match="no index in"):
        ensure_index(blank, FakeEmbedder(), store=FaissStore(folder))
    writer = shared.model_copy(update={"admin_token": SecretStr("t")})
    ensure_index(writer, FakeEmbedder(), store=FaissStore(folder))
    generation = pointer(folder)
    ensure_index(shared, FakeEmbedder(), store=FaissStore(folder))  # the replica finds it
    rechunked = shared.model_copy(update={"chunk_max_tokens": 40})
    with pytest.raises(
        IndexUnavailable, match=r"start this process with the index's QA_EMBEDDING_MODEL and QA_CHUNK_\* settings"
    ):
        ensure_index(rechunked, FakeEmbedder(), store=FaissStore(folder))
    asking = rechunked.model_copy(update={"admin_token": SecretStr("t")})  # `qa ask` in a shell exporting the token
    with pytest.raises(IndexUnavailable, match=r"start this process with the index's QA_EMBEDDING_MODEL"):
        ensure_index(asking, FakeEmbedder(), store=FaissStore(folder), writer=False)
    assert pointer(folder) == generation


def test_change_adds_replaces_and_removes_in_one_generation(builder: IndexBuilder, tiny_corpus: Path) -> None:
    builder.build([tiny_corpus])
    before = builder.store.generation()
    pier = Document("pier", "Pier", "api", "The pier is 400 metres long.")
    harbour = builder.store.load().documents["harbour"]

    report = builder.change(upsert=[pier, replace(harbour, text="The harbour closed in 1990.")], remove=["comet"])

    assert (report.added, report.replaced, report.removed) == (["pier"], ["harbour"], ["comet"])
    assert report.generation == builder.store.generation() != before
    data = builder.store.load()
    assert sorted(data.documents) == ["harbour", "orchard", "pier"]
    assert sorted(data.manifest.content_hashes) == ["harbour", "orchard", "pier"]
    assert {chunk.document_id for chunk in data.chunks.values()} == {"harbour", "orchard", "pier"}
    assert len(data.vectors) == len(data.chunks)


def test_change_refuses_a_taken_id_or_an_unknown_one_and_writes_nothing(
    builder: IndexBuilder, tiny_corpus: Path
) -> None:
    builder.build([tiny_corpus])
    before = builder.store.generation()

    with pytest.raises(DocumentConflict, match="'harbour' exists already"):
        builder.change(upsert=[Document("harbour", "H", "api", "New text.")], new_only=True)
    with pytest.raises(UnknownDocument, match="no document with id 'pier'"):
        builder.change(remove=["pier"])

    assert builder.store.generation() == before
