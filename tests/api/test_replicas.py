"""Two `qa serve` replicas on one Milvus (a Milvus Lite server on loopback): a document written through one is answered
through the other, with exact offsets, without a restart. The real command, server and store code; the fake models."""

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from service.api.deps import GENERATION_HEADER
from tests.fakes import TINY_CORPUS, assert_exact_spans, write_files
from tests.live_service import LiveService, report_figure, start_service
from tests.milvus_server import milvus_server

pytestmark = pytest.mark.slow
pytest.importorskip("pymilvus")

TOKEN = "replica-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PIER = {"id": "pier", "title": "The pier", "text": "The pier opened in 1901. It is 400 metres long."}


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[tuple[LiveService, LiveService]]:
    """The writer (with the admin token) and a read-only replica, both with QA_STORE=milvus on one Milvus server."""
    corpus = write_files(tmp_path / "corpus", TINY_CORPUS)
    with ExitStack() as stack:
        uri = stack.enter_context(milvus_server(tmp_path / "milvus"))
        env = {
            "QA_STORE": "milvus",
            "QA_MILVUS_URI": uri,
            "QA_MILVUS_COLLECTION": "replicas",
            "QA_CORPUS": json.dumps([str(corpus)]),
        }
        # The writer first: it builds the index from the corpus, which the reader then finds.
        writer = start_service(tmp_path / "writer", env | {"QA_ADMIN_TOKEN": TOKEN}, fast=True)
        stack.callback(writer.stop)
        reader = start_service(tmp_path / "reader", env, fast=True)
        stack.callback(reader.stop)
        yield writer, reader


def test_a_document_written_through_one_replica_is_answered_by_the_other(
    replicas: tuple[LiveService, LiveService],
) -> None:
    writer, reader = replicas
    with (
        httpx.Client(base_url=writer.url, timeout=60) as to_writer,
        httpx.Client(base_url=reader.url, timeout=60) as to_reader,
    ):
        before = to_reader.get("/documents")
        assert sorted(d["id"] for d in before.json()) == ["comet", "harbour", "orchard"]

        started = time.perf_counter()
        written = to_writer.post("/documents", json=PIER, headers=AUTH)
        write_ms = (time.perf_counter() - started) * 1000

        assert written.status_code == 201, written.text
        generation = written.json()["generation"]
        assert generation != before.headers[GENERATION_HEADER]
        started = time.perf_counter()
        asked = to_reader.post("/ask", json={"question": "How long is the pier?"})
        first_ask_ms = (time.perf_counter() - started) * 1000
        assert asked.status_code == 200, asked.text
        assert asked.headers[GENERATION_HEADER] == generation, "the reader serves the writer's generation at once"
        answer = asked.json()["answer"]
        assert (answer["document_id"], answer["text"]) == ("pier", "1901")  # the fake answerer: the first number
        document = to_reader.get("/documents/pier").json()
        assert document["text"][answer["start"] : answer["end"]] == answer["text"]
        assert_exact_spans(to_reader, asked.json())  # type: ignore[arg-type]  # httpx.Client reads like TestClient

        removed = to_writer.delete("/documents/pier", headers=AUTH)
        assert removed.status_code == 200, removed.text
        assert to_reader.get("/documents/pier").status_code == 404
        refused = to_reader.post("/documents", json=PIER, headers=AUTH)
        assert refused.status_code == 403, "the replica without QA_ADMIN_TOKEN takes no writes"
    report_figure(
        f"replicas on one Milvus Lite server: write through one {write_ms:.0f} ms, the other's first /ask after it"
        f" {first_ask_ms:.0f} ms (fake models)"
    )
