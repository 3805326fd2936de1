"""The HTTP API over the bundled articles, with the fake embedder and fake answerer handed in."""

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from index.builder import IndexBuilder
from index.chunking import ChunkingSettings
from index.documents import BUNDLED_CORPUS
from index.search import HybridRetriever
from index.store import IndexData, IndexStore
from service.answering.pipeline import QAPipeline
from service.api.schemas import AskResponse
from service.app import create_app
from service.settings import Settings
from tests.fakes import NO_SHARED_WORDS, FakeAnswerer, FakeEmbedder, assert_exact_spans

FIRST = "000_5391de805404b0fb"
SECOND = "003_44882e964004ca2e"
TITLES = {
    FIRST: "OpenAI phases out work with Scale AI after Meta takes a 49% stake",
    SECOND: "Meta in talks to invest up to $10 billion in Scale AI",
}


def make_pipeline(data: IndexData, top_k: int = 5) -> QAPipeline:
    chunk_counts = Counter(chunk.document_id for chunk in data.chunks.values())
    return QAPipeline(HybridRetriever(data, FakeEmbedder()), FakeAnswerer(), data.documents, top_k, chunk_counts)


@pytest.fixture(scope="module")
def data(bundled_index_dir: Path) -> IndexData:
    return IndexStore(bundled_index_dir).load()


@pytest.fixture(scope="module")
def pipeline(data: IndexData) -> QAPipeline:
    return make_pipeline(data)


@pytest.fixture(scope="module")
def settings(bundled_index_dir: Path) -> Settings:
    return Settings(index_dir=bundled_index_dir, embedding_model="fake")


@pytest.fixture(scope="module")
def client(settings: Settings, pipeline: QAPipeline) -> Iterator[TestClient]:
    with TestClient(create_app(settings, pipeline=pipeline)) as client:
        yield client


def expected_body(pipeline: QAPipeline, question: str, top_k: int | None = None) -> dict:
    """What /ask should return: the pipeline's own result through the response model, minus the timing."""
    body = AskResponse.of(pipeline.ask(question, top_k)).model_dump(mode="json")
    del body["took_ms"]
    return body


def test_ask_returns_an_exactly_cited_answer(client: TestClient, pipeline: QAPipeline) -> None:
    question = "How much of Scale did Meta buy?"

    response = client.post("/ask", json={"question": question})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body.pop("took_ms") >= 0
    assert body == expected_body(pipeline, question)
    assert body["question"] == question
    assert body["answer"] is not None
    assert body["reason"] is None
    assert body["alternatives"]
    assert len(body["passages"]) == 5
    assert_exact_spans(client, body)


def test_ask_strips_the_question_and_honours_top_k(client: TestClient, pipeline: QAPipeline) -> None:
    response = client.post("/ask", json={"question": "  How many H100 chips does Meta have?\n", "top_k": 2})

    assert response.status_code == 200, response.text
    body = response.json()
    del body["took_ms"]
    assert body == expected_body(pipeline, "How many H100 chips does Meta have?", top_k=2)
    assert body["question"] == "How many H100 chips does Meta have?"
    assert len(body["passages"]) == 2
    assert_exact_spans(client, body)


def test_ask_takes_a_question_of_exactly_1000_characters(client: TestClient) -> None:
    response = client.post("/ask", json={"question": ("Meta Scale " * 100)[:1000]})

    assert response.status_code == 200, response.text


def test_abstention_is_a_normal_answer_with_a_reason(client: TestClient) -> None:
    response = client.post("/ask", json={"question": "Zyzzyva quux?"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["answer"] is None
    assert body["reason"] == NO_SHARED_WORDS
    assert body["alternatives"] == []
    assert len(body["passages"]) == 5
    assert_exact_spans(client, body)


def _invalid(field: str, message: str) -> dict:
    return {"detail": f"{field}: {message}", "errors": [{"field": field, "message": message}]}


EMPTY = "the question is empty; type a question such as 'Who is the founder of Scale?'"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"question": ""}, _invalid("question", EMPTY)),
        ({"question": "  \n\t "}, _invalid("question", EMPTY)),
        ({"question": "x" * 1001}, _invalid("question", "the question is 1001 characters; keep it to 1000")),
        ({"question": "Who?", "top_k": 0}, _invalid("top_k", "Input should be greater than or equal to 1")),
        ({"question": "Who?", "top_k": 51}, _invalid("top_k", "Input should be less than or equal to 50")),
        ({"top_k": 3}, _invalid("question", "Field required")),
        ({"question": 42}, _invalid("question", "Input should be a valid string")),
        (
            {"question": "Who is the \x1b[31mfounder\x07 of Scale?"},
            _invalid("question", "the question holds a control character (U+001B, character 12); remove it"),
        ),
    ],
    ids=[
        "empty",
        "whitespace",
        "1001-characters",
        "top_k-0",
        "top_k-51",
        "missing-question",
        "not-a-string",
        "control-character",
    ],
)
def test_invalid_requests_get_422_with_a_readable_detail(client: TestClient, payload: dict, expected: dict) -> None:
    response = client.post("/ask", json=payload)

    assert response.status_code == 422, response.text
    assert response.json() == expected


def test_several_problems_are_all_named(client: TestClient) -> None:
    response = client.post("/ask", json={"question": "", "top_k": 0})

    assert response.status_code == 422, response.text
    assert response.json()["detail"] == (f"question: {EMPTY}; top_k: Input should be greater than or equal to 1")


def test_configured_question_limit_is_enforced(data: IndexData, bundled_index_dir: Path) -> None:
    settings = Settings(index_dir=bundled_index_dir, embedding_model="fake", max_question_chars=20)

    with TestClient(create_app(settings, pipeline=make_pipeline(data))) as client:
        response = client.post("/ask", json={"question": "How much of Scale did Meta buy?"})

    assert response.status_code == 422, response.text


def test_list_documents(client: TestClient, data: IndexData) -> None:
    response = client.get("/documents")

    assert response.status_code == 200, response.text
    counts = Counter(chunk.document_id for chunk in data.chunks.values())
    assert response.json() == [
        {
            "id": document_id,
            "title": TITLES[document_id],
            "source": f"{document_id}.txt",
            "length": len((BUNDLED_CORPUS / f"{document_id}.txt").read_text(encoding="utf-8")),
            "chunks": counts[document_id],
        }
        for document_id in (FIRST, SECOND)
    ]
    assert all(counts[document_id] > 1 for document_id in (FIRST, SECOND))


def test_get_document_with_its_text(client: TestClient, data: IndexData) -> None:
    response = client.get(f"/documents/{SECOND}")

    assert response.status_code == 200, response.text
    text = (BUNDLED_CORPUS / f"{SECOND}.txt").read_text(encoding="utf-8")
    assert response.json() == {
        "id": SECOND,
        "title": TITLES[SECOND],
        "source": f"{SECOND}.txt",
        "length": len(text),
        "chunks": sum(1 for chunk in data.chunks.values() if chunk.document_id == SECOND),
        "text": text,
    }


def test_unknown_document_is_404_with_a_detail(client: TestClient) -> None:
    response = client.get("/documents/nope")

    assert response.status_code == 404, response.text
    assert response.json() == {"detail": "no document with id 'nope'; GET /documents lists them"}


def test_health(client: TestClient, data: IndexData) -> None:
    response = client.get("/health")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "ready": True,
        "documents": 2,
        "chunks": len(data.chunks),
        "embedding_model": "fake",
        "answerer": "fake",
    }


def test_docs_and_openapi_are_served(client: TestClient) -> None:
    docs = client.get("/docs")
    schema = client.get("/openapi.json")

    assert docs.status_code == 200, docs.text
    assert "swagger" in docs.text.lower()
    assert schema.status_code == 200, schema.text
    paths = schema.json()["paths"]
    assert set(paths) >= {"/ask", "/documents", "/documents/{document_id}", "/health"}
    assert paths["/ask"]["post"]["description"].startswith("Answer a question with an exact, cited span")


def test_requests_before_loading_get_503(settings: Settings, pipeline: QAPipeline) -> None:
    client = TestClient(create_app(settings, pipeline=pipeline))  # no `with`: the lifespan has not run

    response = client.get("/health")

    assert response.status_code == 503, response.text
    assert response.json() == {
        "detail": "the service is still loading its index and models; try again in a few seconds"
    }


def test_empty_index_answers_with_a_reason(tmp_path: Path) -> None:
    store = IndexStore(tmp_path)
    IndexBuilder(store, FakeEmbedder(), ChunkingSettings()).build_documents([])
    settings = Settings(index_dir=tmp_path, embedding_model="fake")

    with TestClient(create_app(settings, pipeline=make_pipeline(store.load()))) as client:
        asked = client.post("/ask", json={"question": "Who founded Scale?"})
        listed = client.get("/documents")

    assert asked.status_code == 200, asked.text
    body = asked.json()
    del body["took_ms"]
    assert body == {
        "question": "Who founded Scale?",
        "answer": None,
        "reason": "The index holds no documents; add some with `qa index add PATH` or POST /documents.",
        "alternatives": [],
        "passages": [],
    }
    assert listed.status_code == 200, listed.text
    assert listed.json() == []
