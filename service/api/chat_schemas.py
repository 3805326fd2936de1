"""Pydantic models for POST /chat: a conversation in, the /ask response plus the resolved question out."""

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, field_validator, model_validator

from service.answering.pipeline import AskResult
from service.api.schemas import MAX_QUESTION_CHARS, AskResponse, control_character, words_required
from service.chat.followup import Resolution, Turn

check_content = words_required("message", capped=False)
MessageText = Annotated[str, AfterValidator(check_content)]
# Earlier replies (and, on /v1/chat/completions, system prompts) that clients send back can be long, but not unbounded:
# a follow-up completed from a reply carries its words into the question the models read.
MAX_OTHER_CHARS = 20_000


def check_conversation(turns: list[Turn]) -> None:
    """A conversation must have messages and end with the user's question."""
    if not turns:
        raise ValueError("the conversation has no messages; send at least one user message")
    if turns[-1].role != "user":
        raise ValueError(f"the last message is from the {turns[-1].role}; it must be the user's question")


def read_window(messages: list[tuple[str, str]], limit: int) -> list[tuple[int, Turn]]:
    """The last `limit` user and assistant messages of (role, text) pairs, with their places in the request: the
    turns a follow-up is resolved from, and the only user messages held to the question limit."""
    spoken = [(i, Turn(role, text)) for i, (role, text) in enumerate(messages) if role in ("user", "assistant")]
    return spoken[-limit:]


class ChatMessage(BaseModel):
    role: Literal["user", "assistant"] = Field(description="Who wrote the message")
    content: MessageText = Field(
        description=f"The message text; a user message that is read (one of the last QA_CHAT_HISTORY_MESSAGES) is"
        f" at most QA_MAX_QUESTION_CHARS ({MAX_QUESTION_CHARS} by default) characters, an assistant message at most"
        f" {MAX_OTHER_CHARS}"
    )

    @model_validator(mode="after")
    def check_reply(self) -> "ChatMessage":
        if self.role == "assistant" and len(self.content) > MAX_OTHER_CHARS:
            raise ValueError(f"the assistant message is {len(self.content)} characters; keep it to {MAX_OTHER_CHARS}")
        refused = control_character("message", self.content) if self.role == "user" else None
        if refused:  # a reply may quote a document's form feed back; a question never needs one
            raise ValueError(refused)
        return self


class ChatRequest(BaseModel):
    messages: list[ChatMessage] = Field(
        description="The conversation so far, oldest first; the last message is the user's question",
        examples=[
            [
                {"role": "user", "content": "Who founded Scale AI?"},
                {"role": "assistant", "content": "Alexandr Wang"},
                {"role": "user", "content": "Which unit did he join at Meta?"},
            ]
        ],
    )
    top_k: int | None = Field(
        None, ge=1, le=50, strict=True, description="Passages to retrieve (1-50); the server default"
    )

    @field_validator("messages")
    @classmethod
    def ends_with_user(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        check_conversation([Turn(m.role, m.content) for m in messages])
        return messages

    def turns(self, limit: int) -> list[Turn]:
        """The last `limit` messages: older ones are not used for resolving follow-ups."""
        return [turn for _, turn in read_window([(m.role, m.content) for m in self.messages], limit)]


class ChatResponse(AskResponse):
    resolved_question: str = Field(description="The last user message rewritten to stand alone; what was answered")
    resolution: str | None = Field(
        description="How a follow-up was resolved, e.g. \"'he' -> 'Alexandr Wang' (answer to turn 1)\"; null if not"
    )

    @classmethod
    def of_chat(cls, asked: AskResult, resolution: Resolution) -> "ChatResponse":
        fields = AskResponse.of(asked).model_dump() | {"question": resolution.original}
        return cls(**fields, resolved_question=resolution.question, resolution=resolution.note)
