"""POST /chat and the OpenAI-compatible /v1/chat/completions, through the app with a fake answerer."""

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from fastapi.testclient import TestClient

from index.search import HybridRetriever
from index.store import IndexStore
from service.answering.answers import AnswerResult, Passage, cite
from service.answering.pipeline import QAPipeline
from service.app import create_app
from service.settings import Settings
from tests.fakes import FakeEmbedder, OneAtATime

SCALE = "000_5391de805404b0fb"
SCALE_TITLE = "OpenAI phases out work with Scale AI after Meta takes a 49% stake"
NOT_SAID = "The articles don't say: no passage answers this question."
# The fake answerer knows only these questions, so a wrongly resolved follow-up abstains.
KNOWN = {
    "How much of Scale did Meta buy?": "a 49% stake",
    "Who founded Scale AI?": "Alexandr Wang",
    "Which unit did Alexandr Wang join at Meta?": "superintelligence",
    "How many H100 chips does Meta have?": "around 350,000",
    "How many H100 chips does OpenAI have?": "approximately 300,000",
    "When was Scale founded?": "2016",
    "Who invested $1 billion in Scale?": "Meta",
}


class TableAnswerer(OneAtATime):
    """Cites the first passage holding the known answer to exactly this question; abstains otherwise."""

    name = "table"
    top_k = 10

    def __init__(self) -> None:
        self.asked: list[str] = []

    def answer(self, question: str, passages: list[Passage]) -> AnswerResult:
        self.asked.append(question)
        wanted = KNOWN.get(question)
        for passage in passages:
            if wanted and wanted in passage.text:
                start = passage.text.index(wanted)
                return AnswerResult(cite(passage, start, start + len(wanted), 0.9), [], None)
        return AnswerResult(None, [], NOT_SAID)


@pytest.fixture
def answerer() -> TableAnswerer:
    return TableAnswerer()


@pytest.fixture
def client(bundled_index_dir: Path, answerer: TableAnswerer) -> Iterator[TestClient]:
    data = IndexStore(bundled_index_dir).load()
    pipeline = QAPipeline(HybridRetriever(data, FakeEmbedder()), answerer, data.documents, top_k=50)
    settings = Settings(index_dir=bundled_index_dir, chat_history_messages=6)
    with TestClient(create_app(settings, pipeline=pipeline)) as test_client:
        yield test_client


def chat(client: TestClient, *contents: str) -> dict:
    """POST /chat with alternating user and assistant messages, the last one the user's."""
    roles = ["user", "assistant"] * len(contents)
    messages = [{"role": role, "content": content} for role, content in zip(roles, contents, strict=False)]
    response = client.post("/chat", json={"messages": messages})
    assert response.status_code == 200, response.text
    return response.json()


def test_chat_answers_a_first_question_like_ask(client: TestClient) -> None:
    body = chat(client, "How much of Scale did Meta buy?")
    asked = client.post("/ask", json={"question": "How much of Scale did Meta buy?"}).json()
    assert {k: v for k, v in body.items() if k != "took_ms"} == {
        **{k: v for k, v in asked.items() if k != "took_ms"},
        "resolved_question": "How much of Scale did Meta buy?",
        "resolution": None,
    }
    assert body["answer"]["text"] == "a 49% stake"


def test_chat_resolves_a_pronoun_from_the_previous_answer(client: TestClient, answerer: TableAnswerer) -> None:
    body = chat(client, "Who founded Scale AI?", "Alexandr Wang", "Which unit did he join at Meta?")
    assert body["question"] == "Which unit did he join at Meta?"
    assert body["resolved_question"] == "Which unit did Alexandr Wang join at Meta?"
    assert body["resolution"] == "'he' read as 'Alexandr Wang', the answer to question 1"
    assert body["answer"]["text"] == "superintelligence"
    assert answerer.asked == ["Which unit did Alexandr Wang join at Meta?"]


def test_chat_resolves_an_elliptical_follow_up(client: TestClient) -> None:
    body = chat(client, "How many H100 chips does Meta have?", "around 350,000", "And OpenAI?")
    assert body["resolved_question"] == "How many H100 chips does OpenAI have?"
    assert body["answer"]["text"] == "approximately 300,000"


def test_chat_resolves_it_to_the_company_asked_about(client: TestClient) -> None:
    body = chat(client, "When was Scale founded?", "2016", "Who invested $1 billion in it?")
    assert (body["resolved_question"], body["answer"]["text"]) == ("Who invested $1 billion in Scale?", "Meta")


def test_chat_uses_only_the_last_messages_of_history(client: TestClient) -> None:
    # chat_history_messages is 6 here: with four exchanges between, the founder question is out of reach.
    filler = ["How much of Scale did Meta buy?", "a 49% stake"] * 3
    body = chat(client, "Who founded Scale AI?", "Alexandr Wang", *filler, "Which unit did he join at Meta?")
    assert body["resolved_question"] == "Which unit did he join at Meta?"
    assert (body["answer"], body["reason"]) == (None, NOT_SAID)


@pytest.mark.parametrize(
    ("messages", "detail"),
    [
        ([], "messages: the conversation has no messages; send at least one user message"),
        (
            [{"role": "user", "content": "Who founded Scale AI?"}, {"role": "assistant", "content": "Alexandr Wang"}],
            "messages: the last message is from the assistant; it must be the user's question",
        ),
        (
            [{"role": "user", "content": "   "}],
            "messages.0.content: the message is empty; type a question such as 'Who is the founder of Scale?'",
        ),
        (
            [{"role": "user", "content": "why " * 300}],
            "messages.0.content: the message is 1199 characters; keep it to 1000",
        ),
        ([{"role": "robot", "content": "Hello"}], "messages.0.role: Input should be 'user' or 'assistant'"),
        (
            [
                {"role": "user", "content": "Who founded Scale AI?"},
                {"role": "assistant", "content": "Alexandr Wang. " * 1500},
                {"role": "user", "content": "Why?"},
            ],
            "messages.1: the assistant message is 22499 characters; keep it to 20000",
        ),
        (
            [{"role": "user", "content": "Who\x00 founded Scale AI?"}],
            "messages.0: the message holds a control character (U+0000, character 4); remove it",
        ),
    ],
    ids=["empty", "last-not-user", "empty-content", "too-long", "unknown-role", "reply-too-long", "control-character"],
)
def test_chat_refuses_bad_conversations(client: TestClient, messages: list, detail: str) -> None:
    response = client.post("/chat", json={"messages": messages})
    assert response.status_code == 422, response.text
    field, message = detail.split(": ", 1)
    assert response.json() == {"detail": detail, "errors": [{"field": field, "message": message}]}


@pytest.mark.parametrize("route", ["/chat", "/v1/chat/completions"])
def test_only_the_messages_read_are_held_to_the_question_limit(client: TestClient, route: str) -> None:
    """The client fixture reads the last 6 messages: a long one before them is never read, so never refused."""
    old = [{"role": "user", "content": "why " * 300}, {"role": "assistant", "content": "Alexandr Wang"}]
    recent = [{"role": role, "content": "Who founded Scale AI?"} for role in ["user", "assistant"] * 3][:5]

    answered = client.post(route, json={"messages": [*old, *recent]})
    refused = client.post(route, json={"messages": [old[0], *recent]})  # now the long one is the 6th from last

    assert answered.status_code == 200, answered.text
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"] == "messages.0.content: the message is 1199 characters; keep it to 1000"


def test_chat_honours_the_configured_question_limit(bundled_index_dir: Path, answerer: TableAnswerer) -> None:
    data = IndexStore(bundled_index_dir).load()
    pipeline = QAPipeline(HybridRetriever(data, FakeEmbedder()), answerer, data.documents, top_k=5)
    settings = Settings(index_dir=bundled_index_dir, max_question_chars=20)
    with TestClient(create_app(settings, pipeline=pipeline)) as limited:
        response = limited.post(
            "/chat", json={"messages": [{"role": "user", "content": "How much of Scale did Meta buy?"}]}
        )
    assert response.status_code == 422, response.text
    message = "the message is 31 characters; keep it to 20"
    assert response.json() == {
        "detail": f"messages.0.content: {message}",
        "errors": [{"field": "messages.0.content", "message": message}],
    }


def openai_client(client: TestClient) -> openai.OpenAI:
    return openai.OpenAI(base_url="http://testserver/v1", api_key="x", http_client=client, max_retries=0)


FOLLOW_UP = [
    {"role": "system", "content": "You are a helpful assistant. Answer briefly."},
    {"role": "user", "content": "Who founded Scale AI?"},
    {"role": "assistant", "content": f"Alexandr Wang — {SCALE_TITLE} [{SCALE}, 545–558]"},
    {"role": "user", "content": "Which unit did he join at Meta?"},
]


def test_openai_client_gets_a_cited_answer(client: TestClient) -> None:
    completion = openai_client(client).chat.completions.create(
        model="anything", messages=[{"role": "user", "content": "How much of Scale did Meta buy?"}], temperature=0.2
    )
    assert completion.object == "chat.completion"
    assert completion.model == "anything"
    choice = completion.choices[0]
    assert (choice.message.role, choice.finish_reason) == ("assistant", "stop")
    assert choice.message.content == f"a 49% stake — {SCALE_TITLE} [{SCALE}, 501–512]"
    qa = completion.model_extra["qa"]
    assert (qa["answer"]["text"], qa["answer"]["start"], qa["answer"]["end"]) == ("a 49% stake", 501, 512)
    assert qa["resolved_question"] == "How much of Scale did Meta buy?"


def test_openai_client_lists_and_retrieves_the_one_model(client: TestClient) -> None:
    models = openai_client(client).models

    assert [model.id for model in models.list()] == ["cited-qa"]
    assert models.retrieve("cited-qa").object == "model"
    with pytest.raises(openai.NotFoundError, match="the one model is 'cited-qa'"):
        models.retrieve("gpt-4o")


def test_openai_client_follow_up_ignores_the_system_message(client: TestClient) -> None:
    completion = openai_client(client).chat.completions.create(model="cited-qa", messages=FOLLOW_UP)
    qa = completion.model_extra["qa"]
    assert qa["resolved_question"] == "Which unit did Alexandr Wang join at Meta?"
    assert completion.choices[0].message.content.startswith("superintelligence — ")
    assert completion.choices[0].message.content.endswith("(Answered as: “Which unit did Alexandr Wang join at Meta?”)")


def test_openai_client_hears_that_the_articles_do_not_say(client: TestClient) -> None:
    completion = openai_client(client).chat.completions.create(
        model="cited-qa", messages=[{"role": "user", "content": "What is the capital of France?"}]
    )
    content = completion.choices[0].message.content
    assert content.startswith("The articles don't say. Closest passages: ")
    assert completion.model_extra["qa"]["answer"] is None


def test_openai_client_streams_the_same_reply(client: TestClient) -> None:
    oai = openai_client(client)
    whole = oai.chat.completions.create(model="cited-qa", messages=FOLLOW_UP).choices[0].message.content
    chunks = list(oai.chat.completions.create(model="cited-qa", messages=FOLLOW_UP, stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == whole
    assert [chunk.choices[0].finish_reason for chunk in chunks][-1] == "stop"
    assert chunks[-1].model_extra["qa"]["answer"]["text"] == "superintelligence"
    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}


def test_stream_is_server_sent_events_ending_in_done(client: TestClient) -> None:
    payload = {"model": "cited-qa", "stream": True, "messages": [{"role": "user", "content": "Who founded Scale AI?"}]}
    with client.stream("POST", "/v1/chat/completions", json=payload) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    assert json.loads(lines[-2][6:])["qa"]["answer"]["text"] == "Alexandr Wang"


def test_openai_client_sees_validation_errors(client: TestClient) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as raised:
        openai_client(client).chat.completions.create(
            model="cited-qa", messages=[{"role": "assistant", "content": "Hello"}]
        )
    message = "messages: the last message is from the assistant; it must be the user's question"
    # The client reads OpenAI's `error` object: its message is what str() of the exception shows.
    assert raised.value.body == {"message": message, "type": "invalid_request_error", "param": "messages", "code": None}
    assert message in str(raised.value)
    raw = client.post("/v1/chat/completions", json={"messages": [{"role": "assistant", "content": "Hello"}]})
    assert raw.json()["detail"] == message  # the service's own shape stays beside it


def test_openai_client_is_told_that_one_choice_is_all_there_is(client: TestClient) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as raised:
        openai_client(client).chat.completions.create(
            model="cited-qa", messages=[{"role": "user", "content": "Who founded Scale AI?"}], n=2
        )
    assert raised.value.body["param"] == "n"


def test_text_parts_of_a_message_are_read_as_one_text(client: TestClient) -> None:
    parts = [{"type": "text", "text": "Who founded"}, {"type": "text", "text": "Scale AI?"}]
    response = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": parts}]})

    assert response.status_code == 200, response.text
    assert response.json()["qa"]["question"] == "Who founded Scale AI?"


def test_a_part_that_is_not_text_is_refused_in_words(client: TestClient) -> None:
    parts = [{"type": "text", "text": "Who founded Scale AI?"}, {"type": "image_url", "image_url": {"url": "data:,"}}]
    response = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": parts}]})

    assert response.status_code == 422, response.text
    assert response.json()["detail"] == "messages.0.content: only text parts are read: part 1 is 'image_url'"


def test_text_parts_built_in_code_are_read_as_parts_sent_as_json() -> None:
    from service.api.openai_compat import CompletionMessage, TextPart

    message = CompletionMessage(role="user", content=[TextPart(type="text", text="Who founded Scale AI?")])
    assert message.text == "Who founded Scale AI?"
    with pytest.raises(ValueError, match="only text parts are read: part 0 is 'without a type'"):
        CompletionMessage(role="user", content=[{"text": "Who?"}])


def test_a_conversation_of_a_system_message_alone_is_told_it_lacks_the_question(client: TestClient) -> None:
    body = {"messages": [{"role": "system", "content": "Who founded Scale AI?"}]}
    response = client.post("/v1/chat/completions", json=body)

    assert response.status_code == 422, response.text
    assert response.json()["detail"] == (
        "messages: the conversation has no user message, only system; send the question as a user message"
    )


def test_page_is_served_with_a_strict_content_security_policy(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert '<script src="/static/app.js" defer></script>' in page.text
    assert "<script>" not in page.text and " on" + "click=" not in page.text
    script = client.get("/static/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "innerHTML" not in script.text and "http" + "s://" not in script.text
    assert client.get("/static/style.css").headers["x-content-type-options"] == "nosniff"


@pytest.mark.model
def test_real_service_resolves_follow_ups(tmp_path: Path) -> None:
    """The real index, embedder and default answerer; the follow-up must resolve whatever the first answer was."""
    with TestClient(create_app(Settings(index_dir=tmp_path / "index"))) as real:
        first = chat(real, "Who founded Scale AI?")
        said = first["answer"]["text"] if first["answer"] else "The articles don't say."
        follow = chat(real, "Who founded Scale AI?", said, "Which unit did he join at Meta?")
        founder = "Alexandr Wang" if "Alexandr Wang" in said else "the person who founded Scale AI"
        assert follow["resolved_question"] == f"Which unit did {founder} join at Meta?"
        chips = chat(real, "How many H100 chips does Meta have?", "around 350,000", "And OpenAI?")
        assert chips["resolved_question"] == "How many H100 chips does OpenAI have?"
