"""Opening the configured store: the FAISS store in a folder, or the Milvus store at a URI (QA_STORE picks one)."""

import logging
from pathlib import Path
from typing import Literal

from index.document_store import DocumentStore
from index.faiss_store import FaissStore
from index.store import IndexUnavailable

StoreKind = Literal["faiss", "milvus"]
MILVUS_EXTRA = "pip install -e '.[milvus]'"


def open_store(
    kind: StoreKind,
    index_dir: Path,
    milvus_uri: str = "",
    milvus_token: str = "",
    milvus_collection: str = "qa",
    create: bool = True,
) -> DocumentStore:
    """The store `kind` names; a Milvus store is connected to before it is returned, so a bad URI fails here. With
    `create` false (a command that only reads) a Milvus Lite path that does not exist is refused, not made."""
    if kind == "faiss":
        return FaissStore(index_dir)
    if kind != "milvus":
        raise ValueError(f"unknown store {kind!r}: 'faiss' or 'milvus'")
    try:
        from pymilvus.exceptions import MilvusException

        from index.milvus_store import MilvusStore
    except ImportError as error:
        missing = (error.name or "pymilvus").split(".")[0]
        raise IndexUnavailable(
            f"QA_STORE=milvus needs the Milvus extra ({missing} is not installed): {MILVUS_EXTRA}"
        ) from None
    store = MilvusStore(milvus_uri, collection=milvus_collection, token=milvus_token)
    if store.local:
        _check_local_path(Path(milvus_uri))
    if store.local and not create and not Path(milvus_uri).exists():  # a mistyped path, say: leave nothing there
        raise IndexUnavailable(
            f"no Milvus Lite database at {milvus_uri}: check QA_MILVUS_URI, or build one with `qa index build`"
        )
    if store.local:
        Path(milvus_uri).parent.mkdir(parents=True, exist_ok=True)
    locked = _LockedFolder()
    server_manager = logging.getLogger("milvus_lite.server_manager")
    server_manager.addFilter(locked)
    try:
        store.connect()
    except MilvusException as error:
        store.close()
        if locked.seen:  # Milvus Lite runs in the process that opens the folder, and one process at a time
            hint = "another process holds it: Milvus Lite opens a *.db folder in one process at a time"
        elif store.local:
            hint = "Milvus Lite could not open the folder: the log line above says why"
        else:
            hint = "start it, or check QA_MILVUS_URI and QA_MILVUS_TOKEN"
        raise IndexUnavailable(f"cannot use Milvus at {milvus_uri} ({error.message}); {hint}") from None
    finally:
        server_manager.removeFilter(locked)
    return store


def _check_local_path(path: Path) -> None:
    """A Milvus Lite database is a folder: a file there, or a file where a folder above it should be, is named (Milvus
    Lite would log a traceback of FileExistsError)."""
    if path.exists() and not path.is_dir():
        raise IndexUnavailable(f"{path} is a file, not a Milvus Lite database (a folder): check QA_MILVUS_URI")
    above = next((parent for parent in path.parents if parent.exists()), None)
    if above is not None and not above.is_dir():
        raise IndexUnavailable(f"{above} is a file, so {path} cannot be made there: check QA_MILVUS_URI")


class _LockedFolder(logging.Filter):
    """Drops Milvus Lite's traceback of a folder another process holds, which the error raised then says in one line,
    and notes that it saw one; every other record of its start passes."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = False

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        while error is not None:
            if type(error).__name__ == "DataDirLockedError":
                self.seen = True
                return False
            error = error.__cause__ or error.__context__
        return True


def describe(kind: StoreKind, index_dir: Path, milvus_uri: str = "", milvus_collection: str = "qa") -> str:
    """Where the store keeps the index, for messages: the folder, or the collections and the URI."""
    return str(index_dir) if kind == "faiss" else f"Milvus collections {milvus_collection}_* at {milvus_uri}"
