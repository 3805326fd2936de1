"""The OpenAI Chat Completions shape around /chat, so the official `openai` client works against the service."""

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from service.api.chat_schemas import MAX_OTHER_CHARS, ChatResponse, check_content, check_conversation, read_window
from service.api.schemas import control_character
from service.chat.followup import Turn


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class CompletionMessage(BaseModel):
    role: Literal["system", "developer", "user", "assistant"] = Field(description="system/developer are ignored")
    content: str | list[TextPart] | None = None

    @field_validator("content", mode="before")
    @classmethod
    def text_parts_only(cls, content: object) -> object:
        """OpenAI's other parts (image_url, input_audio, file) in words, before the union's three-way schema error."""
        if isinstance(content, list):
            for number, part in enumerate(content):
                if isinstance(part, TextPart):
                    continue
                kind = part.get("type", "without a type") if isinstance(part, dict) else type(part).__name__
                if kind != "text":
                    raise ValueError(f"only text parts are read: part {number} is {kind!r}")
        return content

    @model_validator(mode="after")
    def check_text(self) -> "CompletionMessage":
        text = self.text
        if self.role == "user":
            check_content(text)
            refused = control_character("message", text)
            if refused:
                raise ValueError(refused)
        elif len(text) > MAX_OTHER_CHARS:
            raise ValueError(f"the {self.role} message is {len(text)} characters; keep it to {MAX_OTHER_CHARS}")
        return self

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(part.text.strip() for part in self.content).strip()  # parts are pieces of one message
        return (self.content or "").strip()


MODEL_ID = "cited-qa"
STARTED = int(time.time())


class ModelCard(BaseModel):
    """OpenAI's model object: what `client.models.list()` and `client.models.retrieve(id)` return."""

    id: str = MODEL_ID
    object: Literal["model"] = "model"
    created: int = Field(STARTED, description="When this service started, in Unix seconds")
    owned_by: str = "cited-qa"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class CompletionRequest(BaseModel):
    """Other OpenAI parameters (temperature, max_tokens, ...) are accepted and ignored."""

    model: str = Field(MODEL_ID, description="Echoed back; there is one model")
    messages: list[CompletionMessage]
    stream: bool = Field(False, description="Send the reply as server-sent events ending in `data: [DONE]`")
    n: int = Field(1, ge=1, le=1, description="Choices to return: one, since the answer is a span of the articles")

    @field_validator("messages")
    @classmethod
    def ends_with_user(cls, messages: list[CompletionMessage]) -> list[CompletionMessage]:
        if messages and not conversation(messages):  # system or developer messages alone: there is no question
            roles = " and ".join(sorted({m.role for m in messages}))
            raise ValueError(f"the conversation has no user message, only {roles}; send the question as a user message")
        check_conversation(conversation(messages))
        return messages

    def turns(self, limit: int) -> list[Turn]:
        """The last `limit` user and assistant messages."""
        return [turn for _, turn in read_window([(m.role, m.text) for m in self.messages], limit)]


def conversation(messages: list[CompletionMessage]) -> list[Turn]:
    """User and assistant turns; system prompts play no part in resolving follow-ups."""
    return [Turn(m.role, m.text) for m in messages if m.role in {"user", "assistant"}]


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class CompletionChoice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    qa: ChatResponse = Field(description="The structured answer: the /chat response")

    @classmethod
    def of(cls, response: ChatResponse, model: str) -> "ChatCompletion":
        return cls(
            id=f"chatcmpl-{uuid.uuid4().hex}",
            created=int(time.time()),
            model=model,
            choices=[CompletionChoice(message=AssistantMessage(content=reply_text(response)))],
            qa=response,
        )


def reply_text(response: ChatResponse) -> str:
    """The answer with its citation, 'answer — title [document, start–end]', or that the articles don't say."""
    answer = response.answer
    if answer is not None:
        text = f"{answer.text} — {answer.title} [{answer.document_id}, {answer.start}–{answer.end}]"
    else:
        text = "The articles don't say."
        reason = response.reason or ""
        if reason and not reason.lower().startswith("the articles don"):
            text += f" {reason}"
        closest = list(dict.fromkeys(f"{p.title} [{p.document_id}, {p.start}–{p.end}]" for p in response.passages))
        if closest:
            text += " Closest passages: " + "; ".join(closest[:2]) + "."
    if response.resolution:
        text += f"\n\n(Answered as: “{response.resolved_question}”)"
    return text


def stream_events(completion: ChatCompletion) -> Iterator[str]:
    """Server-sent `chat.completion.chunk` events: the role, the reply a word at a time, the stop with `qa`, [DONE]."""
    base = {"id": completion.id, "object": "chat.completion.chunk", "created": completion.created}
    base["model"] = completion.model

    def event(delta: dict, finish_reason: str | None = None, **extra: object) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        return f"data: {json.dumps(base | {'choices': [choice]} | extra, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    for piece in re.findall(r"\S+\s*", completion.choices[0].message.content):
        yield event({"content": piece})
    yield event({}, "stop", qa=completion.qa.model_dump(mode="json"))
    yield "data: [DONE]\n\n"
