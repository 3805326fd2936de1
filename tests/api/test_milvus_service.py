"""The service over the Milvus store (Milvus Lite embedded), loaded through the real wiring with the fake models: the
write routes, reads with their generation, and two apps on one Milvus seeing each other's writes without a restart."""

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import service.runtime
from service.api.deps import GENERATION_HEADER
from service.app import create_app
from service.settings import Settings
from tests.fakes import FakeAnswerer, FakeEmbedder, assert_exact_spans

pytest.importorskip("pymilvus")

TOKEN = "correct horse battery staple"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PIER = {"id": "pier", "title": "The pier", "text": "The pier opened in 1901. It is 400 metres long."}


@pytest.fixture
def settings(tmp_path: Path, tiny_corpus: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr(service.runtime, "SentenceEmbedder", FakeEmbedder)
    monkeypatch.setattr(service.runtime, "load_answerer", lambda settings: FakeAnswerer())
    return Settings(
        store="milvus",
        milvus_uri=str(tmp_path / "milvus.db"),
        milvus_collection="service",
        index_dir=tmp_path / "unused-faiss-index",
        corpus=[tiny_corpus],
        embedding_model="fake",
        admin_token=TOKEN,
    )


@pytest.fixture
def replicas(settings: Settings) -> Iterator[tuple[TestClient, TestClient]]:
    """Two apps on one Milvus: the writer (with the admin token) and a read-only one."""
    with ExitStack() as stack:
        writer = stack.enter_context(TestClient(create_app(settings)))
        reader = stack.enter_context(TestClient(create_app(settings.model_copy(update={"admin_token": None}))))
        yield writer, reader


def test_the_index_is_built_in_milvus_from_the_corpus_and_served(
    replicas: tuple[TestClient, TestClient], settings: Settings
) -> None:
    writer, _ = replicas

    listed = writer.get("/documents")

    assert listed.status_code == 200, listed.text
    assert [d["id"] for d in listed.json()] == ["comet", "harbour", "orchard"]
    assert listed.headers[GENERATION_HEADER].startswith("1-")
    assert writer.get("/health").json()["documents"] == 3
    assert not settings.index_dir.exists(), "the FAISS folder is not used"


def test_a_write_through_one_app_is_read_through_the_other_with_exact_offsets(
    replicas: tuple[TestClient, TestClient],
) -> None:
    writer, reader = replicas
    before = reader.get("/health").headers[GENERATION_HEADER]

    written = writer.post("/documents", json=PIER, headers=AUTH)

    assert written.status_code == 201, written.text
    generation = written.json()["generation"]
    assert generation != before
    assert written.json() | {"generation": ""} == {
        "id": "pier",
        "title": "The pier",
        "status": "added",
        "chunks": 1,
        "generation": "",
    }
    asked = reader.post("/ask", json={"question": "How long is the pier?"})
    assert asked.status_code == 200, asked.text
    assert asked.headers[GENERATION_HEADER] == generation
    assert asked.json()["answer"]["document_id"] == "pier"
    assert asked.json()["answer"]["text"] == "1901"  # the fake answerer's pick: the passage's first number
    assert_exact_spans(reader, asked.json())
    assert reader.get("/documents/pier").json()["text"] == PIER["text"]


def test_replace_and_delete_reach_the_other_app(replicas: tuple[TestClient, TestClient]) -> None:
    writer, reader = replicas
    assert writer.post("/documents", json=PIER, headers=AUTH).status_code == 201
    changed = {"title": "The pier", "text": "The pier opened in 1901. It is 500 metres long."}

    replaced = writer.put("/documents/pier", json=changed, headers=AUTH)

    assert (replaced.status_code, replaced.json()["status"]) == (200, "replaced")
    assert reader.get("/documents/pier").json()["text"] == changed["text"]
    removed = writer.delete("/documents/harbour", headers=AUTH)
    assert (removed.status_code, removed.json()["status"]) == (200, "removed")
    assert reader.get("/documents/harbour").status_code == 404
    assert "harbour" not in {d["id"] for d in reader.get("/documents").json()}
    asked = reader.post("/ask", json={"question": "How many tonnes of cod do fishing boats land?", "top_k": 10})
    assert "harbour" not in {p["document_id"] for p in asked.json()["passages"]}


def test_the_app_without_the_token_refuses_writes(replicas: tuple[TestClient, TestClient]) -> None:
    _, reader = replicas

    response = reader.post("/documents", json=PIER, headers=AUTH)

    assert response.status_code == 403, response.text
    assert reader.get("/documents/pier").status_code == 404
