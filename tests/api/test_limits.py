"""Request limits and malformed input: 413 before a large body is read, 422 naming a JSON error's position."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from index.search import HybridRetriever
from index.store import IndexStore
from service.answering.pipeline import QAPipeline
from service.api.errors import TOO_DEEP
from service.api.json_route import UNPAIRED
from service.app import create_app
from service.settings import Settings
from tests.fakes import FakeAnswerer, FakeEmbedder

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def client(bundled_index_dir: Path) -> Iterator[TestClient]:
    data = IndexStore(bundled_index_dir).load()
    pipeline = QAPipeline(HybridRetriever(data, FakeEmbedder()), FakeAnswerer(), data.documents, 5)
    settings = Settings(
        index_dir=bundled_index_dir,
        embedding_model="fake",
        max_json_bytes=4096,
        max_upload_bytes=8192,
        admin_token=TOKEN,
    )
    with TestClient(create_app(settings, pipeline=pipeline)) as client:
        yield client


def test_malformed_json_is_422_giving_the_position_as_a_position(client: TestClient) -> None:
    response = client.post("/ask", content=b'{"question":\n  "Who?",, }', headers={"Content-Type": "application/json"})

    assert response.status_code == 422, response.text
    message = "the body is not valid JSON: Expecting property name enclosed in double quotes at line 2, column 10"
    assert response.json() == {
        "detail": f"body: {message} (character 22)",
        "errors": [{"field": "body", "message": f"{message} (character 22)"}],
    }


def test_a_json_body_over_the_limit_is_413_before_it_is_read(client: TestClient) -> None:
    response = client.post("/ask", json={"question": "x" * 5000})

    assert response.status_code == 413, response.text
    assert response.json() == {
        "detail": "the request body is over 4,096 bytes, the most a JSON body may be; send a smaller one"
    }


def test_a_body_without_a_length_is_counted_as_it_streams(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    response = client.post("/chat", content=chunks(), headers={"Content-Type": "application/json"})

    assert response.status_code == 413, response.text
    assert "over 4,096 bytes" in response.json()["detail"]


def test_uploads_have_their_own_larger_limit(client: TestClient) -> None:
    small = client.post("/documents", files={"file": ("a.txt", b"x" * 6000)}, headers=AUTH)
    large = client.post("/documents", files={"file": ("a.txt", b"x" * 9000)}, headers=AUTH)

    assert small.status_code == 403, small.text  # past the limit check: this fixed pipeline refuses writes
    assert large.status_code == 413, large.text
    assert "over 8,192 bytes, the most an upload may be" in large.json()["detail"]


def test_a_document_over_the_json_limit_is_told_that_it_fits_as_an_upload(client: TestClient) -> None:
    response = client.post("/documents", json={"text": "x" * 5000}, headers=AUTH)

    assert response.status_code == 413, response.text
    assert response.json()["detail"].endswith(
        "the most a JSON body may be; send a smaller one, or upload the document as a .txt file (multipart field"
        " 'file', up to 8,192 bytes)"
    )


def test_a_question_route_keeps_the_json_limit_whatever_content_type_it_is_sent_with(client: TestClient) -> None:
    response = client.post("/ask", files={"file": ("a.txt", b"x" * 6000)})

    assert response.status_code == 413, response.text
    assert "over 4,096 bytes, the most a JSON body may be" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/ask", "/chat", "/v1/chat/completions", "/documents"])
def test_json_nested_too_deeply_to_parse_is_422_saying_so(client: TestClient, path: str) -> None:
    body = b'{"question": ' + b"[" * 2000 + b"]" * 2000 + b"}"

    response = client.post(path, content=body, headers={**AUTH, "Content-Type": "application/json"})

    assert response.status_code == 422, response.text
    assert response.json()["detail"] == f"body: {TOO_DEEP}"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/ask", b'{"question": "Who \\ud800 founded Scale?"}'),
        ("/chat", b'{"messages": [{"role": "user", "content": "Who founded \\udc00 Scale?"}]}'),
        ("/v1/chat/completions", b'{"model": "\\ud800", "messages": [{"role": "user", "content": "Who?"}]}'),
        ("/documents", b'{"text": "The pier \\ud83d opened in 1901."}'),
    ],
)
def test_an_unpaired_surrogate_escape_is_422_not_a_failure_to_write_the_response(
    client: TestClient, path: str, body: bytes
) -> None:
    response = client.post(path, content=body, headers={**AUTH, "Content-Type": "application/json"})

    assert response.status_code == 422, response.text
    assert response.json()["detail"] == f"body: {UNPAIRED}"


def test_a_surrogate_pair_escape_is_text_like_any_other(client: TestClient) -> None:
    response = client.post("/ask", content=b'{"question": "Who founded Scale? \\ud83d\\ude00"}', headers=JSON)

    assert response.status_code == 200, response.text
    assert response.json()["question"] == "Who founded Scale? \U0001f600"


def test_a_json_body_that_is_not_utf8_is_422_naming_the_byte(client: TestClient) -> None:
    response = client.post("/ask", content=b'{"question": "caf\xe9"}', headers={"Content-Type": "application/json"})

    assert response.status_code == 422, response.text
    message = "the body is not valid JSON: not UTF-8 text (byte 17)"
    assert response.json() == {"detail": f"body: {message}", "errors": [{"field": "body", "message": message}]}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/ask", b'{"question": "Who founded Scale?"}'),
        ("/chat", b'{"messages": [{"role": "user", "content": "Who founded Scale?"}]}'),
        ("/v1/chat/completions", b'{"model": "qa", "messages": [{"role": "user", "content": "Who founded Scale?"}]}'),
    ],
)
@pytest.mark.parametrize("media", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_sent_as_another_media_type_is_415_saying_which_to_send(
    client: TestClient, path: str, body: bytes, media: str
) -> None:
    refused = client.post(path, content=body, headers={"Content-Type": media})
    untyped = client.post(path, content=body)
    accepted = client.post(path, content=body, headers={"Content-Type": "application/json; charset=utf-8"})

    assert refused.status_code == 415, refused.text
    assert refused.json()["detail"] == f"the body is sent as {media}; send JSON with Content-Type: application/json"
    if path.startswith("/v1/"):
        assert refused.json()["error"]["message"] == refused.json()["detail"]
    assert untyped.status_code == 415, untyped.text
    assert untyped.json()["detail"].startswith("the body is sent without a Content-Type; send JSON")
    assert accepted.status_code == 200, accepted.text


@pytest.mark.parametrize("top_k", [True, 5.0, "5"])
def test_top_k_is_a_whole_number_not_a_boolean_float_or_string(client: TestClient, top_k: object) -> None:
    asked = client.post("/ask", json={"question": "Who founded Scale?", "top_k": top_k})
    chatted = client.post("/chat", json={"messages": [{"role": "user", "content": "Who?"}], "top_k": top_k})

    assert (asked.status_code, chatted.status_code) == (422, 422), (asked.text, chatted.text)
    assert asked.json()["errors"][0]["field"] == "top_k"
