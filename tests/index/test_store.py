"""The on-disk index: whole generations, an atomic pointer, and clear errors when files are damaged."""

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from index import durable
from index.chunking import ChunkingSettings, chunk_document
from index.documents import Document, load_documents
from index.store import FORMAT_VERSION, POINTER, IndexBusy, IndexData, IndexStore, IndexUnavailable, Manifest
from index.vectors import VectorIndex
from tests.fakes import DIMENSION, FakeEmbedder

CHUNKING = ChunkingSettings(max_tokens=16, overlap_sentences=1)


def index_data(documents: list[Document], first_id: int = 0) -> IndexData:
    """What the builder would make of these documents, made by hand."""
    chunks = [chunk for document in documents for chunk in chunk_document(document, CHUNKING)]
    ids = list(range(first_id, first_id + len(chunks)))
    vectors = VectorIndex(DIMENSION)
    vectors.add(FakeEmbedder().encode([chunk.text for chunk in chunks]), np.array(ids))
    manifest = Manifest(
        "fake", DIMENSION, CHUNKING, {d.id: d.content_hash for d in documents}, next_chunk_id=first_id + len(chunks)
    )
    return IndexData(manifest, {d.id: d for d in documents}, dict(zip(ids, chunks, strict=True)), vectors)


def assert_same_index(loaded: IndexData, expected: IndexData) -> None:
    assert loaded.manifest == expected.manifest
    assert loaded.documents == expected.documents
    assert loaded.chunks == expected.chunks
    queries = FakeEmbedder().encode(["harbour cod", "comet years", "orchard apple"])
    for actual, wanted in zip(loaded.vectors.search(queries, 5), expected.vectors.search(queries, 5), strict=True):
        np.testing.assert_array_equal(actual, wanted)


@pytest.fixture
def documents(tiny_corpus: Path) -> list[Document]:
    return load_documents([tiny_corpus])


def generations(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("gen-"))


def test_save_then_load_round_trips(tmp_path: Path, documents: list[Document]) -> None:
    data = index_data(documents)
    store = IndexStore(tmp_path / "index")

    assert not store.exists()
    store.save(data)

    assert store.exists()
    assert_same_index(store.load(), data)
    assert store.read_manifest() == data.manifest
    assert generations(store.folder) == [(store.folder / POINTER).read_text().strip()]


def test_documents_keep_non_ascii_text_exactly(tmp_path: Path) -> None:
    document = Document("quotes", "“Quotes” — and ‘more’", "quotes.txt", "It’s “49%”, not 50 %.\u00a0Done… ✓")
    store = IndexStore(tmp_path)

    store.save(index_data([document]))

    assert store.load().documents == {"quotes": document}


def test_documents_keep_line_separators_that_json_leaves_raw(tmp_path: Path) -> None:
    # ensure_ascii=False writes these as they are, and str.splitlines() splits on every one of them.
    text = "One\u2028two\u2029three\x85four\x1cfive\x1dsix\x1eseven\x0beight\x0cnine\rten"
    document = Document("separators", "Line\u2028separators", "separators.txt", text)
    store = IndexStore(tmp_path)

    store.save(index_data([document]))

    assert store.load().documents == {"separators": document}


def test_a_second_save_replaces_the_first_generation(tmp_path: Path, documents: list[Document]) -> None:
    store = IndexStore(tmp_path)
    store.save(index_data(documents))
    first = generations(tmp_path)

    second = index_data(documents[:1], first_id=100)
    store.save(second)

    assert_same_index(store.load(), second)
    assert (tmp_path / POINTER).read_text().strip() not in first
    assert len(generations(tmp_path)) <= 2, "old generations are cleared away"


def test_crash_while_writing_vectors_keeps_the_previous_generation(
    tmp_path: Path, documents: list[Document], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = IndexStore(tmp_path)
    before = index_data(documents)
    store.save(before)
    pointer = (tmp_path / POINTER).read_text()

    def disk_full(self: VectorIndex, path: str) -> None:
        Path(path).write_bytes(b"\x00" * 10)  # a torn write, then the failure
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(VectorIndex, "write", disk_full)
    with pytest.raises(OSError, match="No space left"):
        store.save(index_data(documents[:1], first_id=100))

    assert (tmp_path / POINTER).read_text() == pointer
    assert_same_index(IndexStore(tmp_path).load(), before)


def test_crash_while_switching_the_pointer_keeps_the_previous_generation(
    tmp_path: Path, documents: list[Document], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = IndexStore(tmp_path)
    before = index_data(documents)
    store.save(before)
    pointer = (tmp_path / POINTER).read_text()

    def killed(source: str, destination: str) -> None:
        raise KeyboardInterrupt  # the process stopped between writing the new pointer and renaming it

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        store.save(index_data(documents[:1], first_id=100))
    monkeypatch.undo()

    assert (tmp_path / POINTER).read_text() == pointer
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(f".{POINTER}")], "temporary pointer left"
    assert_same_index(IndexStore(tmp_path).load(), before)


def test_save_after_a_crash_clears_the_partial_generation(
    tmp_path: Path, documents: list[Document], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = IndexStore(tmp_path)
    store.save(index_data(documents))
    with monkeypatch.context() as patch:
        patch.setattr(VectorIndex, "write", lambda self, path: (_ for _ in ()).throw(OSError("disk full")))
        with pytest.raises(OSError):
            store.save(index_data(documents[:1], first_id=100))
    partial = set(generations(tmp_path)) - {(tmp_path / POINTER).read_text().strip()}

    after = index_data(documents[1:], first_id=200)
    store.save(after)

    assert partial, "the crash left a partial generation behind"
    assert not partial & set(generations(tmp_path))
    assert_same_index(store.load(), after)


def test_load_reads_a_single_generation_while_another_save_lands(
    tmp_path: Path, documents: list[Document], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader (the service starting) and a writer (`qa index add`) can overlap; the reader sees one generation."""
    store = IndexStore(tmp_path)
    first = index_data(documents)
    store.save(first)
    second = index_data(documents[:1], first_id=100)
    read_manifest = IndexStore.read_manifest

    def manifest_then_concurrent_save(self: IndexStore) -> Manifest:
        manifest = read_manifest(self)
        monkeypatch.setattr(IndexStore, "read_manifest", read_manifest)
        IndexStore(tmp_path).save(second)
        return manifest

    monkeypatch.setattr(IndexStore, "read_manifest", manifest_then_concurrent_save)
    loaded = store.load()

    # Either generation is fine; a manifest of one with the chunks of the other is not (its next_chunk_id would
    # hand out ids already in use).
    expected = first if loaded.manifest == first.manifest else second
    assert_same_index(loaded, expected)


def test_manifest_json_round_trips() -> None:
    manifest = Manifest("fake", 64, ChunkingSettings(40, 2), {"a": "hash"}, next_chunk_id=7)

    assert Manifest.from_json(json.loads(json.dumps(manifest.to_json()))) == manifest
    assert manifest.format_version == FORMAT_VERSION


def test_manifest_mismatch_names_what_differs() -> None:
    manifest = Manifest("all-MiniLM-L6-v2", 384, ChunkingSettings(96, 1))

    assert manifest.mismatch("all-MiniLM-L6-v2", ChunkingSettings(96, 1)) is None
    assert manifest.mismatch("other-model", ChunkingSettings(96, 1)) == (
        "built with embedding model 'all-MiniLM-L6-v2', settings ask for 'other-model'"
    )
    assert manifest.mismatch("all-MiniLM-L6-v2", ChunkingSettings(64, 1)) == (
        "built with chunking max_tokens 96, overlap_sentences 1, paragraph_tokens 0,"
        " settings ask for max_tokens 64, overlap_sentences 1, paragraph_tokens 0"
    )
    assert replace(manifest, format_version=0).mismatch("all-MiniLM-L6-v2", ChunkingSettings(96, 1)) == (
        f"index format 0, this version reads {FORMAT_VERSION}"
    )


def test_missing_index_says_how_to_build_one(tmp_path: Path) -> None:
    with pytest.raises(IndexUnavailable) as raised:
        IndexStore(tmp_path / "nothing").load()

    assert str(raised.value) == f"no index in {tmp_path / 'nothing'}; build one with `qa index build`"


def _rewrite(name: str, change: Callable[[str], str]) -> Callable[[Path], None]:
    def damage(generation: Path) -> None:
        path = generation / name
        path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")

    return damage


def _truncate_vectors(generation: Path) -> None:
    path = generation / "vectors.faiss"
    path.write_bytes(path.read_bytes()[:100])


DAMAGE = {
    "manifest-not-json": _rewrite("manifest.json", lambda text: text[: len(text) // 2]),
    "manifest-missing-field": _rewrite("manifest.json", lambda text: text.replace('"dimension"', '"dimensions"')),
    "manifest-deleted": lambda generation: (generation / "manifest.json").unlink(),
    "documents-not-json": _rewrite("documents.jsonl", lambda text: "{" + text),
    "documents-deleted": lambda generation: (generation / "documents.jsonl").unlink(),
    "chunk-of-unknown-document": _rewrite("chunks.jsonl", lambda text: text.replace('"harbour"', '"elsewhere"')),
    "chunk-lost": _rewrite("chunks.jsonl", lambda text: "".join(text.splitlines(keepends=True)[1:])),
    "vectors-truncated": _truncate_vectors,
    "vectors-deleted": lambda generation: (generation / "vectors.faiss").unlink(),
    "generation-deleted": shutil.rmtree,
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_damaged_index_is_unavailable_with_a_fix(
    tmp_path: Path, documents: list[Document], damage: Callable[[Path], None]
) -> None:
    store = IndexStore(tmp_path)
    store.save(index_data(documents))
    damage(tmp_path / (tmp_path / POINTER).read_text().strip())

    with pytest.raises(IndexUnavailable) as raised:
        store.load()

    message = str(raised.value)
    assert str(tmp_path) in message
    assert "rebuild" in message


@pytest.mark.parametrize("name", ["manifest.json", "documents.jsonl"])
def test_an_index_this_user_cannot_read_is_said_to_be_so_not_damaged(
    tmp_path: Path, documents: list[Document], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """A rebuild would drop what only the index holds; the fix is the file's permissions (root ignores them, so the
    refusal a user other than root gets is played here)."""
    store = IndexStore(tmp_path)
    store.save(index_data(documents))
    opened = Path.open

    def denied(path: Path, *args, **kwargs):
        if path.name == name:
            raise PermissionError(13, "Permission denied", str(path))
        return opened(path, *args, **kwargs)

    monkeypatch.setattr(Path, "open", denied)

    with pytest.raises(IndexUnavailable) as raised:
        store.load()

    assert str(raised.value).endswith(
        "permission denied: run as the user that owns the index, or give this one read access (nothing is damaged)"
    )
    assert name in str(raised.value)


def test_save_makes_files_and_folders_durable_before_switching(
    tmp_path: Path, documents: list[Document], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = IndexStore(tmp_path / "index")
    store.save(index_data(documents))
    events: list[str] = []
    real_fsync_path, real_replace = durable.fsync_path, os.replace

    def record_fsync(path: Path) -> None:
        events.append(f"fsync {Path(path).relative_to(tmp_path)}")
        real_fsync_path(path)

    def record_replace(source: str, target: str | Path) -> None:
        events.append(f"replace {Path(target).name}")
        real_replace(source, target)

    monkeypatch.setattr(durable, "fsync_path", record_fsync)
    monkeypatch.setattr(durable.os, "replace", record_replace)

    name = store.save(index_data(documents))

    switch = events.index(f"replace {POINTER}")
    before = set(events[:switch])
    for file in ("documents.jsonl", "chunks.jsonl", "vectors.faiss", "manifest.json"):
        assert f"fsync index/{name}/{file}" in before, events
    assert {f"fsync index/{name}", "fsync index"} <= before, events
    assert events[switch + 1 :] == ["fsync index"], events  # the rename itself made durable
    assert store.generation() == name


def test_a_second_writer_waits_then_gives_up(tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "index")
    other = IndexStore(tmp_path / "index")  # as another process would: its own open of the lock file

    with store.writing():
        started = time.monotonic()
        with pytest.raises(IndexBusy, match=r"took longer than 0.2s"), other.writing(timeout=0.2):
            pass
        assert time.monotonic() - started >= 0.2
    with other.writing(timeout=0.2):  # free again once released
        pass
