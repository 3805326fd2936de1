"""The index on disk: documents, chunks, vectors and a manifest, written as whole generations.

Each save writes a new `gen-N/` folder completely and fsyncs its files and the folder, then atomically replaces the
`CURRENT` pointer (temp file, fsync, rename, fsync of the index folder). A process killed at any moment, or a power cut
after `save` returns, leaves `CURRENT` naming a complete generation: the new one once `save` has returned, else the
previous one. Writers take `IndexStore.writing()`, an exclusive lock on the index folder shared across processes.
"""

import contextlib
import fcntl
import json
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from index import durable
from index.chunking import Chunk, ChunkingSettings
from index.documents import Document
from index.vectors import VectorIndex

FORMAT_VERSION = 1
POINTER = "CURRENT"
LOCK = ".write.lock"


# A damaged index is built again from files: documents that exist only in it (posted over HTTP) are lost with it.
REBUILD = "rebuild it from your files with `qa index build --replace PATH ...` (documents only in the index are lost)"
DENIED = "permission denied: run as the user that owns the index, or give this one read access (nothing is damaged)"


class IndexUnavailable(RuntimeError):
    """The index on disk is missing, damaged or was built with other settings; the message says how to fix it."""


class IndexMismatch(IndexUnavailable):
    """The index was built (or rebuilt since) with another embedding model or chunking than this process's."""


class IndexBusy(RuntimeError):
    """Another writer held the index for longer than this one would wait."""


@dataclass(frozen=True)
class Manifest:
    embedding_model: str
    dimension: int
    chunking: ChunkingSettings
    content_hashes: dict[str, str] = field(default_factory=dict)
    next_chunk_id: int = 0
    format_version: int = FORMAT_VERSION

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Manifest":
        return cls(
            embedding_model=data["embedding_model"],
            dimension=data["dimension"],
            chunking=ChunkingSettings(**data["chunking"]),
            content_hashes=data.get("content_hashes", {}),
            next_chunk_id=data.get("next_chunk_id", 0),
            format_version=data.get("format_version", 0),
        )

    def mismatch(self, embedding_model: str, chunking: ChunkingSettings) -> str | None:
        """Why an index built under this manifest can't serve these settings, or None when it can."""
        if self.format_version != FORMAT_VERSION:
            return f"index format {self.format_version}, this version reads {FORMAT_VERSION}"
        if self.embedding_model != embedding_model:
            return f"built with embedding model {self.embedding_model!r}, settings ask for {embedding_model!r}"
        if self.chunking != chunking:
            return f"built with chunking {self.chunking}, settings ask for {chunking}"
        return None


@dataclass
class IndexData:
    """Everything one generation holds; chunk ids are the FAISS ids."""

    manifest: Manifest
    documents: dict[str, Document]
    chunks: dict[int, Chunk]
    vectors: VectorIndex
    generation: str = ""  # the folder it was loaded from; empty for one built in memory

    def chunk_counts(self) -> Counter[str]:
        """How many chunks each document has."""
        return Counter(chunk.document_id for chunk in self.chunks.values())


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line]


def _atomic_write_text(path: Path, text: str) -> None:
    durable.atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


class IndexStore:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def exists(self) -> bool:
        return (self.folder / POINTER).is_file()

    def generation(self) -> str:
        """The name of the generation `CURRENT` names now (it changes with every save)."""
        try:
            return (self.folder / POINTER).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise IndexUnavailable(f"no index in {self.folder}; build one with `qa index build`") from None

    def _current(self) -> Path:
        return self.folder / self.generation()

    @contextlib.contextmanager
    def writing(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the index's write lock (an flock, so `qa index add` and the service exclude each other).

        Waits up to `timeout` seconds (None: as long as it takes), then raises IndexBusy.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / LOCK, "a+b") as handle:
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if deadline is None else fcntl.LOCK_NB))
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise IndexBusy(f"another write to {self.folder} took longer than {timeout:g}s") from None
                    time.sleep(0.02)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def read_manifest(self) -> Manifest:
        return self._read_manifest(self._current())

    def _read_manifest(self, generation: Path) -> Manifest:
        path = generation / "manifest.json"
        try:
            return Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))
        except PermissionError:
            raise IndexUnavailable(f"{path}: {DENIED}") from None
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise IndexUnavailable(f"{path}: unreadable manifest ({error}); {REBUILD}") from None

    def load(self) -> IndexData:
        generation = self._current()  # once: a save may switch CURRENT while this reads
        manifest = self._read_manifest(generation)
        try:
            documents = {}
            # Split on "\n" alone: splitlines() also splits on U+2028, U+0085, \x1c-\x1e, which JSON leaves raw in text.
            for line in _lines(generation / "documents.jsonl"):
                record = json.loads(line)
                documents[record["id"]] = Document(record["id"], record["title"], record["source"], record["text"])
            chunks = {}
            for line in _lines(generation / "chunks.jsonl"):
                record = json.loads(line)
                text = documents[record["document_id"]].text[record["start"] : record["end"]]
                chunks[record["id"]] = Chunk(record["document_id"], record["start"], record["end"], text)
            vectors = VectorIndex.read(str(generation / "vectors.faiss"))
        except PermissionError as error:
            raise IndexUnavailable(f"{error.filename or generation}: {DENIED}") from None
        except (OSError, ValueError, KeyError, RuntimeError) as error:
            raise IndexUnavailable(f"index in {generation} is damaged ({error}); {REBUILD}") from None
        if len(vectors) != len(chunks):
            raise IndexUnavailable(
                f"index in {generation} has {len(vectors)} vectors for {len(chunks)} chunks; rebuild it"
            )
        return IndexData(manifest, documents, chunks, vectors, generation.name)

    def save(self, data: IndexData) -> str:
        """Write a new generation durably, switch `CURRENT` to it, remove older generations; returns its name."""
        self.folder.mkdir(parents=True, exist_ok=True)
        previous = self._current() if self.exists() else None
        generation = Path(tempfile.mkdtemp(dir=self.folder, prefix="gen-"))
        documents = "".join(
            json.dumps({"id": d.id, "title": d.title, "source": d.source, "text": d.text}, ensure_ascii=False) + "\n"
            for d in data.documents.values()
        )
        chunks = "".join(
            json.dumps({"id": i, "document_id": c.document_id, "start": c.start, "end": c.end}) + "\n"
            for i, c in sorted(data.chunks.items())
        )
        (generation / "documents.jsonl").write_text(documents, encoding="utf-8")
        (generation / "chunks.jsonl").write_text(chunks, encoding="utf-8")
        data.vectors.write(str(generation / "vectors.faiss"))
        (generation / "manifest.json").write_text(json.dumps(data.manifest.to_json(), indent=2), encoding="utf-8")
        for path in generation.iterdir():
            durable.fsync_path(path)
        durable.fsync_path(generation)
        durable.fsync_path(self.folder)  # the new folder's own name, before CURRENT may point at it
        _atomic_write_text(self.folder / POINTER, generation.name + "\n")
        for old in self.folder.glob("gen-*"):
            if old not in (generation, previous) and old.is_dir():  # a reader may still be in `previous`
                shutil.rmtree(old, ignore_errors=True)
        return generation.name
