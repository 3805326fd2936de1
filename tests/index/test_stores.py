"""Opening the configured store: the FAISS folder by default, Milvus by URI, and what a bad choice says."""

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from eval.processes import free_port
from index.faiss_store import FaissStore
from index.store import IndexUnavailable
from index.stores import describe, open_store


def test_faiss_is_a_folder_and_opening_it_writes_nothing(tmp_path: Path) -> None:
    store = open_store("faiss", tmp_path / "index")

    assert isinstance(store, FaissStore)
    assert store.generation() == ""
    assert not (tmp_path / "index").exists()
    assert describe("faiss", tmp_path / "index") == str(tmp_path / "index")


def test_milvus_without_pymilvus_says_which_extra_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pymilvus", None)  # import pymilvus raises ImportError, as when not installed
    monkeypatch.delitem(sys.modules, "pymilvus.exceptions", raising=False)
    monkeypatch.delitem(sys.modules, "index.milvus_store", raising=False)

    with pytest.raises(IndexUnavailable) as refused:
        open_store("milvus", tmp_path / "index", str(tmp_path / "milvus.db"))

    assert str(refused.value) == (
        "QA_STORE=milvus needs the Milvus extra (pymilvus is not installed): pip install -e '.[milvus]'"
    )


def test_an_unreachable_milvus_server_is_named_with_the_settings_to_check(tmp_path: Path) -> None:
    pytest.importorskip("pymilvus")
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    with pytest.raises(IndexUnavailable) as refused:
        open_store("milvus", tmp_path / "index", uri)

    message = str(refused.value)
    assert message.startswith(f"cannot use Milvus at {uri} (Fail connecting to server")
    assert message.endswith("start it, or check QA_MILVUS_URI and QA_MILVUS_TOKEN")


def test_milvus_lite_gets_its_folder_made_and_starts_empty(tmp_path: Path) -> None:
    pytest.importorskip("pymilvus")
    uri = str(tmp_path / "var" / "milvus.db")

    store = open_store("milvus", tmp_path / "index", uri, milvus_collection="stores")
    try:
        assert store.generation() == ""
        assert store.documents() == {}
    finally:
        store.close()
    assert (tmp_path / "var").is_dir()


def test_a_reader_of_a_milvus_lite_path_that_does_not_exist_is_refused_and_nothing_is_made(tmp_path: Path) -> None:
    pytest.importorskip("pymilvus")
    uri = str(tmp_path / "typo" / "milvus.db")

    with pytest.raises(IndexUnavailable) as refused:
        open_store("milvus", tmp_path / "index", uri, create=False)

    assert str(refused.value) == (
        f"no Milvus Lite database at {uri}: check QA_MILVUS_URI, or build one with `qa index build`"
    )
    assert not (tmp_path / "typo").exists()
    assert describe("milvus", tmp_path / "index", uri, "stores") == f"Milvus collections stores_* at {uri}"


def test_a_milvus_lite_path_that_is_a_file_or_under_one_is_named(tmp_path: Path) -> None:
    """Milvus Lite would log a FileExistsError traceback; one line says it instead."""
    pytest.importorskip("pymilvus")
    file = tmp_path / "afile.db"
    file.write_text("hi")

    with pytest.raises(IndexUnavailable) as refused:
        open_store("milvus", tmp_path / "index", str(file))
    assert str(refused.value) == f"{file} is a file, not a Milvus Lite database (a folder): check QA_MILVUS_URI"

    with pytest.raises(IndexUnavailable) as refused:
        open_store("milvus", tmp_path / "index", str(file / "z.db"))
    assert str(refused.value) == f"{file} is a file, so {file / 'z.db'} cannot be made there: check QA_MILVUS_URI"


def test_a_milvus_lite_folder_held_by_another_process_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("pymilvus")
    uri = str(tmp_path / "milvus.db")
    with subprocess.Popen(
        [sys.executable, "-c", HOLD, uri], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as holder:  # closes its pipe and waits for it on the way out
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "open\n"

            with caplog.at_level(logging.DEBUG), pytest.raises(IndexUnavailable) as refused:
                open_store("milvus", tmp_path / "index", uri)

            assert not caplog.records, "one line says it: no traceback of Milvus Lite's lock before it"

            assert str(refused.value) == (
                f"cannot use Milvus at {uri} (Open local milvus failed);"
                " another process holds it: Milvus Lite opens a *.db folder in one process at a time"
            )
        finally:
            holder.kill()


HOLD = """
import sys, time
from pymilvus import MilvusClient
client = MilvusClient(uri=sys.argv[1])
print("open", flush=True)
time.sleep(120)
"""
