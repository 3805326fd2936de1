"""The document write routes over a real index folder, with the fake embedder and answerer."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from index.builder import IndexBuilder
from index.chunking import ChunkingSettings
from index.documents import Document
from index.store import IndexStore
from service.answering.pipeline import QAPipeline
from service.api.deps import GENERATION_HEADER
from service.api.live_index import LiveIndex
from service.app import create_app
from service.runtime import pipeline_opener
from service.settings import Settings
from tests.fakes import FakeAnswerer, FakeEmbedder

TOKEN = "correct horse battery staple"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PIER = {"id": "pier", "title": "The pier", "text": "The pier opened in 1901. It is 400 metres long."}


def live_index(index_dir: Path, settings: Settings) -> LiveIndex:
    store = IndexStore(index_dir)
    opener = pipeline_opener(FakeEmbedder(), FakeAnswerer(), settings)
    return LiveIndex(store, opener, IndexBuilder(store, FakeEmbedder(), ChunkingSettings())).load()


def make_client(tmp_path: Path, tiny_corpus: Path, **overrides: object) -> TestClient:
    index_dir = tmp_path / "index"
    if not IndexStore(index_dir).exists():
        IndexBuilder(IndexStore(index_dir), FakeEmbedder(), ChunkingSettings()).build([tiny_corpus])
    settings = Settings(index_dir=index_dir, embedding_model="fake", **{"admin_token": TOKEN, **overrides})
    return TestClient(create_app(settings, live_index=live_index(index_dir, settings)))


@pytest.fixture
def client(tmp_path: Path, tiny_corpus: Path) -> Iterator[TestClient]:
    with make_client(tmp_path, tiny_corpus) as client:
        yield client


def test_without_a_token_configured_writes_are_403_and_say_how_to_enable_them(
    tmp_path: Path, tiny_corpus: Path
) -> None:
    with make_client(tmp_path, tiny_corpus, admin_token=None) as client:
        for response in (
            client.post("/documents", json=PIER, headers=AUTH),
            client.put("/documents/pier", json=PIER, headers=AUTH),
            client.delete("/documents/harbour", headers=AUTH),
        ):
            assert response.status_code == 403, response.text
            assert "QA_ADMIN_TOKEN" in response.json()["detail"]
        assert client.get("/documents").status_code == 200


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}])
def test_a_missing_or_wrong_token_is_401(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post("/documents", json=PIER, headers=headers)

    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == {
        "detail": "missing or wrong token: send 'Authorization: Bearer <the server's QA_ADMIN_TOKEN>'"
    }
    assert client.get("/documents/pier").status_code == 404


def test_a_posted_document_is_served_and_answered_from_at_once(client: TestClient) -> None:
    before = client.get("/health").headers[GENERATION_HEADER]

    response = client.post("/documents", json=PIER, headers=AUTH)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body.pop("generation") != before
    assert body == {"id": "pier", "title": "The pier", "status": "added", "chunks": 1}
    document = client.get("/documents/pier")
    assert document.json()["text"] == PIER["text"]
    asked = client.post("/ask", json={"question": "How long is the pier?"})
    assert asked.headers[GENERATION_HEADER] == response.json()["generation"]
    assert asked.json()["answer"]["document_id"] == "pier"
    assert asked.json()["answer"]["text"] == "1901"  # the fake answerer's pick: the passage's first number
    streamed = client.post(
        "/v1/chat/completions",
        json={"stream": True, "messages": [{"role": "user", "content": "How long is the pier?"}]},
    )
    assert streamed.headers[GENERATION_HEADER] == response.json()["generation"]


def test_json_without_id_or_title_gets_them_from_the_text(client: TestClient) -> None:
    response = client.post("/documents", json={"text": "# Ferry times\n\nThe ferry leaves at 9."}, headers=AUTH)

    assert response.status_code == 201, response.text
    assert response.json()["id"].startswith("doc-")
    assert response.json()["title"] == "Ferry times"


def test_an_upload_is_read_like_a_file_on_disk(client: TestClient) -> None:
    files = {"file": ("ferry-times.md", b"# Ferry times\n\nThe ferry leaves at 9 and carries 120 cars.")}

    response = client.post("/documents", files=files, headers=AUTH)

    assert response.status_code == 201, response.text
    assert response.json()["id"] == "ferry-times"
    assert response.json()["title"] == "Ferry times"
    assert client.get("/documents/ferry-times").json()["source"] == "ferry-times.md"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("report.pdf", b"%PDF", "file: report.pdf: unsupported file type '.pdf'; supported: .htm, .html, .markdown"),
        ("notes.txt", b"caf\xe9", "file: notes.txt: not valid UTF-8 (byte 3); save it as UTF-8 text"),
        ("empty.html", b"<html><script>x()</script></html>", "file: empty.html: the file holds no text"),
        ("nul.txt", b"The dock\x00 has 14 cranes.", "file: nul.txt: holds a NUL byte (character 8), so it is not text"),
        ("n" * 130 + ".txt", b"words", "file: " + "n" * 40 + "…: its name makes an id of 130 characters, over the 128"),
        ("n" * 252 + ".txt", b"words", "file: " + "n" * 40 + "…: a file name is at most 255 characters; rename"),
    ],
)
def test_an_unreadable_upload_is_422_with_the_cli_message(
    client: TestClient, name: str, content: bytes, message: str
) -> None:
    response = client.post("/documents", files={"file": (name, content)}, headers=AUTH)

    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(message)


def test_json_text_holding_a_nul_is_refused_as_a_file_holding_one_is(client: TestClient) -> None:
    response = client.post("/documents", json={"id": "dock", "text": "The dock\u0000 has 14 cranes."}, headers=AUTH)

    assert response.status_code == 422, response.text
    assert response.json()["detail"] == "text: the text holds a NUL character (character 8); send plain text"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32"])
def test_json_in_any_encoding_json_allows_is_read_as_on_the_question_routes(client: TestClient, encoding: str) -> None:
    body = json.dumps({"id": "dock", "text": "The dock has 14 cranes."}).encode(encoding)

    response = client.post("/documents", content=body, headers={**AUTH, "Content-Type": "application/json"})

    assert response.status_code == 201, response.text
    assert client.get("/documents/dock").json()["text"] == "The dock has 14 cranes."


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"text": "The dock has 14 cranes.", "titel": "Dock"}, "titel", "Extra inputs are not permitted"),
        (
            ["The dock has 14 cranes."],
            "body",
            'send the document as a JSON object, {"text": ..., "id": ..., "title": ...}',
        ),
        (
            {"text": "The dock has 14 cranes.", "title": "Dock\u001b[2J\u0007"},
            "title",
            "the title holds a control character (U+001B); give it as one line of text",
        ),
    ],
    ids=["misspelt-field", "array", "control-character-in-title"],
)
def test_json_that_is_not_a_document_is_told_what_is_wrong(
    client: TestClient, body: object, field: str, message: str
) -> None:
    response = client.post("/documents", json=body, headers=AUTH)

    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [{"field": field, "message": message}]


def test_a_form_title_with_a_control_character_is_refused_as_a_json_one_is(client: TestClient) -> None:
    response = client.post(
        "/documents", files={"file": ("dock.txt", b"The dock has 14 cranes.")}, data={"title": "Dock\x07"}, headers=AUTH
    )

    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"field": "title", "message": "the title holds a control character (U+0007); give it as one line of text"}
    ]


def test_json_text_and_an_uploaded_file_of_it_are_one_document(client: TestClient) -> None:
    """Windows line ends: an upload's are read as '\n', and so are JSON text's, so its offsets and hash are the same."""
    text = "Ferry times.\r\nThe ferry leaves at 9."
    posted = client.post("/documents", json={"id": "ferry", "title": "Ferry", "text": text}, headers=AUTH)
    assert posted.status_code == 201, posted.text

    replaced = client.put(
        "/documents/ferry", files={"file": ("ferry.txt", text.encode())}, data={"title": "Ferry"}, headers=AUTH
    )

    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["status"] == "unchanged"
    assert client.get("/documents/ferry").json()["text"] == "Ferry times.\nThe ferry leaves at 9."


def test_a_long_file_name_is_kept_as_the_source_when_the_form_gives_an_id(client: TestClient) -> None:
    name = "n" * 200 + ".txt"

    response = client.post(
        "/documents", files={"file": (name, b"The ferry carries 120 cars.")}, data={"id": "ferry"}, headers=AUTH
    )

    assert response.status_code == 201, response.text
    assert client.get("/documents/ferry").json()["source"] == name


def test_post_of_a_taken_id_is_409_and_put_replaces_it(client: TestClient) -> None:
    assert client.post("/documents", json=PIER, headers=AUTH).status_code == 201

    taken = client.post("/documents", json=PIER, headers=AUTH)
    assert taken.status_code == 409, taken.text
    assert taken.json() == {
        "detail": "a document with id 'pier' exists already; PUT /documents/{id} replaces a document"
    }

    changed = {"title": "The pier", "text": "The pier opened in 1901. It is 500 metres long."}
    replaced = client.put("/documents/pier", json=changed, headers=AUTH)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["status"] == "replaced"
    assert client.get("/documents/pier").json()["text"] == changed["text"]
    again = client.put("/documents/pier", json=changed, headers=AUTH)
    assert (again.status_code, again.json()["status"]) == (200, "unchanged")
    created = client.put("/documents/quay", json={"text": "The quay is 80 metres long."}, headers=AUTH)
    assert (created.status_code, created.json()["status"]) == (201, "added")


@pytest.mark.parametrize("document_id", [".", "..", "a b", "x" * 129, "pier/notes"])
def test_an_id_the_rules_refuse_is_refused_in_words_as_json_and_as_a_form(client: TestClient, document_id: str) -> None:
    as_json = client.post("/documents", json={**PIER, "id": document_id}, headers=AUTH)
    as_form = client.post(
        "/documents", files={"file": ("pier.txt", b"The pier.")}, data={"id": document_id}, headers=AUTH
    )

    rule = "id: an id is 1-128 ASCII letters, digits, '.', '_' or '-', and not '.' or '..'"
    assert as_json.status_code == 422, as_json.text
    assert as_json.json()["errors"][0]["field"] == "id"
    assert as_json.json()["detail"] == rule, "the rule in words, not its regular expression"
    assert as_form.status_code == 422, as_form.text
    assert as_form.json()["detail"] == rule


def test_put_refuses_an_id_that_differs_from_the_path(client: TestClient) -> None:
    response = client.put("/documents/pier", json={**PIER, "id": "quay"}, headers=AUTH)

    assert response.status_code == 422, response.text
    assert response.json()["detail"] == "id: the body's id 'quay' differs from the path's 'pier'"


def test_delete_removes_a_document_and_its_answers(client: TestClient) -> None:
    response = client.delete("/documents/harbour", headers=AUTH)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "removed"
    assert client.get("/documents/harbour").status_code == 404
    asked = client.post("/ask", json={"question": "How many tonnes of cod do fishing boats land?", "top_k": 10})
    assert "harbour" not in {p["document_id"] for p in asked.json()["passages"]}
    missing = client.delete("/documents/harbour", headers=AUTH)
    assert missing.status_code == 404, missing.text
    assert missing.json() == {"detail": "no document with id 'harbour'; GET /documents lists them"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"text":\n  "The ferry",, }',
            "the body is not valid JSON: Expecting property name enclosed in double quotes at line 2, column 15"
            " (character 23)",
        ),
        (b'{"text": "caf\xe9"}', "the body is not valid JSON: not UTF-8 text (byte 13)"),
    ],
)
def test_malformed_json_is_422_as_on_the_question_routes(client: TestClient, body: bytes, message: str) -> None:
    response = client.post("/documents", content=body, headers={**AUTH, "Content-Type": "application/json"})

    assert response.status_code == 422, response.text
    assert response.json() == {"detail": f"body: {message}", "errors": [{"field": "body", "message": message}]}


def test_an_unknown_id_of_any_length_is_404_naming_it_cut_short(client: TestClient) -> None:
    long = "a" * 20_000

    read = client.get(f"/documents/{long}")
    removed = client.delete(f"/documents/{long}", headers=AUTH)

    for response in (read, removed):
        assert response.status_code == 404, response.text
        assert response.json() == {"detail": f"no document with id '{'a' * 80}…'; GET /documents lists them"}


def test_other_media_types_are_415(client: TestClient) -> None:
    response = client.post("/documents", content=b"text", headers={**AUTH, "Content-Type": "text/plain"})

    assert response.status_code == 415, response.text


def test_a_write_waits_for_another_writer_then_is_503_with_retry_after(tmp_path: Path, tiny_corpus: Path) -> None:
    with make_client(tmp_path, tiny_corpus, write_wait_seconds=0.2) as client:
        with IndexStore(tmp_path / "index").writing():  # `qa index add` in another process, say
            response = client.post("/documents", json=PIER, headers=AUTH)

        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "2"
        assert "took longer than 0.2s" in response.json()["detail"]
        assert client.post("/documents", json=PIER, headers=AUTH).status_code == 201


def test_a_write_waits_for_another_in_this_process_then_is_503(tmp_path: Path, tiny_corpus: Path) -> None:
    with make_client(tmp_path, tiny_corpus, write_wait_seconds=0.2) as client:
        live = client.app.state.live_index  # type: ignore[attr-defined]
        with live.writing:  # a slow upload being indexed, say
            response = client.post("/documents", json=PIER, headers=AUTH)

        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "2"
        assert client.post("/documents", json=PIER, headers=AUTH).status_code == 201


def test_a_generation_written_by_another_process_is_served_without_a_restart(
    client: TestClient, tmp_path: Path
) -> None:
    other = IndexBuilder(IndexStore(tmp_path / "index"), FakeEmbedder(), ChunkingSettings())

    report = other.change(upsert=[Document("pier", PIER["title"], "pier.txt", PIER["text"])])

    listed = client.get("/documents")
    assert listed.headers[GENERATION_HEADER] == report.generation
    assert "pier" in {d["id"] for d in listed.json()}


def test_a_read_of_an_unknown_id_names_the_generation_that_lacks_it(client: TestClient) -> None:
    generation = client.get("/health").headers[GENERATION_HEADER]

    missing = client.get("/documents/nope")

    assert missing.status_code == 404
    assert missing.headers[GENERATION_HEADER] == generation


def test_a_fixed_pipeline_refuses_writes(tmp_path: Path, tiny_corpus: Path, bundled_index_dir: Path) -> None:
    data = IndexStore(bundled_index_dir).load()
    pipeline = QAPipeline(None, FakeAnswerer(), data.documents, 5)  # type: ignore[arg-type]
    settings = Settings(index_dir=bundled_index_dir, embedding_model="fake", admin_token=TOKEN)
    with TestClient(create_app(settings, pipeline=pipeline)) as client:
        response = client.post("/documents", json=PIER, headers=AUTH)

    assert response.status_code == 403, response.text


def test_a_generation_that_vanished_under_the_service_leaves_it_answering(tmp_path: Path, tiny_corpus: Path) -> None:
    with make_client(tmp_path, tiny_corpus) as client:
        before = client.get("/documents").headers[GENERATION_HEADER]
        (tmp_path / "index" / "CURRENT").write_text("gen-gone\n")  # as if removed between the switch and the load

        response = client.get("/documents")

        assert response.status_code == 200, response.text
        assert response.headers[GENERATION_HEADER] == before


def test_an_index_rebuilt_under_other_settings_by_another_process_is_a_503_saying_so(
    tmp_path: Path, tiny_corpus: Path
) -> None:
    """A replica must not answer with question vectors of one model (or chunks of one size) from an index of another:
    it says what to do, as JSON with Retry-After, not a bare 500."""
    with make_client(tmp_path, tiny_corpus) as client:
        assert client.post("/ask", json={"question": "What does the harbour land?"}).status_code == 200
        rechunked = ChunkingSettings(max_tokens=40)
        IndexBuilder(IndexStore(tmp_path / "index"), FakeEmbedder(), rechunked).build([tiny_corpus])  # elsewhere

        response = client.post("/ask", json={"question": "What does the harbour land?"})

        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "5"
        assert response.json()["detail"] == (
            f"the index in {tmp_path / 'index'} is now built with chunking max_tokens 40, overlap_sentences 1,"
            " paragraph_tokens 0, settings ask for max_tokens 96, overlap_sentences 1, paragraph_tokens 0: restart this"
            " process with the index's QA_EMBEDDING_MODEL and QA_CHUNK_* settings"
        )
        assert client.get("/documents").status_code == 503
        assert client.get("/health").status_code == 503


def test_a_read_only_replica_of_a_shared_index_says_where_writes_go() -> None:
    from service.api.auth import require_admin
    from service.api.errors import Forbidden

    shared = Settings(store="milvus", milvus_uri="http://milvus.internal:19530", embedding_model="fake")

    with pytest.raises(Forbidden) as refused:
        require_admin(shared, None)

    assert refused.value.detail == (
        "this replica is read-only: the index is shared on a Milvus server, and its documents are changed through the"
        " one writer (the replica started with QA_ADMIN_TOKEN) or `qa index add`"
    )
