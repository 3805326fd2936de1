"""Pydantic models at the HTTP edge; the core works with the frozen dataclasses in service.answering.answers."""

import unicodedata
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from service.answering.answers import Answer, Passage
from service.answering.pipeline import AskResult
from service.settings import MAX_QUESTION_CHARS, MAX_TOP_K


def too_long(noun: str, text: str, limit: int) -> str | None:
    """Why `text` is refused for its length (the sentence every interface gives), or None when it fits `limit`."""
    return f"the {noun} is {len(text)} characters; keep it to {limit}" if len(text) > limit else None


def control_character(noun: str, text: str) -> str | None:
    """Why a question holding a control character (NUL, an escape sequence's ESC, BEL; not tab or line breaks) is
    refused, or None: it reads as noise to the models and is never what was meant (a terminal's paste, say)."""
    at = next((i for i, c in enumerate(text) if unicodedata.category(c) == "Cc" and c not in "\t\n\r"), None)
    if at is None:
        return None
    return f"the {noun} holds a control character (U+{ord(text[at]):04X}, character {at + 1}); remove it"


def words_required(noun: str, capped: bool = True) -> Callable[[str], str]:
    """A validator for a question or message: stripped; empty or (`capped`) overlong text is refused with a sentence
    saying why. A chat's messages are not capped here: only those a follow-up is resolved from are read, and the route
    checks those (`refuse_overlong`)."""

    def check(text: str) -> str:
        text = text.strip()
        if not text:
            raise ValueError(f"the {noun} is empty; type a question such as 'Who is the founder of Scale?'")
        refused = too_long(noun, text, MAX_QUESTION_CHARS) if capped else None
        refused = refused or (control_character(noun, text) if capped else None)  # a chat checks its user messages
        if refused:
            raise ValueError(refused)
        return text

    return check


def refuse_overlong(texts: list[tuple[tuple[str | int, ...], str, str]], limit: int) -> None:
    """422, as for any invalid input, for each (location, noun, text) over the configured limit (QA_MAX_QUESTION_CHARS)."""
    errors = [
        {
            "type": "value_error",
            "loc": ("body", *location),
            "msg": refused,
            "input": text,
        }
        for location, noun, text in texts
        if (refused := too_long(noun, text, limit))
    ]
    if errors:
        # Imported here: `qa ask` prints these schemas, and a one-question process has no use for FastAPI's imports.
        from fastapi.exceptions import RequestValidationError

        raise RequestValidationError(errors)


class AskRequest(BaseModel):
    question: Annotated[str, AfterValidator(words_required("question"))] = Field(
        description="The question, in plain words", examples=["What stake did Meta take in Scale?"]
    )
    top_k: int | None = Field(
        None,
        ge=1,
        le=MAX_TOP_K,
        strict=True,
        description=f"Passages to retrieve (1-{MAX_TOP_K}); the server default if omitted",
    )


class ContextOut(BaseModel):
    text: str
    start: int
    end: int


class AnswerOut(BaseModel):
    text: str = Field(description="Exactly document_text[start:end]")
    document_id: str
    title: str
    start: int
    end: int
    score: float = Field(ge=0, le=1, description="Confidence in [0, 1]")
    context: ContextOut = Field(description="The sentence around the answer, with its own document offsets")

    @classmethod
    def of(cls, answer: Answer) -> "AnswerOut":
        context = ContextOut(text=answer.context.text, start=answer.context.start, end=answer.context.end)
        return cls(
            text=answer.text,
            document_id=answer.document_id,
            title=answer.title,
            start=answer.start,
            end=answer.end,
            score=round(min(1.0, max(0.0, answer.score)), 4),
            context=context,
        )


class PassageOut(BaseModel):
    document_id: str
    title: str
    start: int
    end: int
    text: str
    score: float = Field(description="Reciprocal-rank fusion of the dense and BM25 ranks")
    dense_score: float = Field(description="Cosine similarity to the question")
    lexical_score: float = Field(description="BM25 score")

    @classmethod
    def of(cls, passage: Passage) -> "PassageOut":
        return cls(
            document_id=passage.document_id,
            title=passage.title,
            start=passage.start,
            end=passage.end,
            text=passage.text,
            score=round(passage.score, 6),
            dense_score=round(passage.dense_score, 6),
            lexical_score=round(passage.lexical_score, 6),
        )


class AskResponse(BaseModel):
    question: str
    answer: AnswerOut | None = Field(description="null when the articles don't hold the answer")
    reason: str | None = Field(description="Why there is no answer (null when there is one)")
    alternatives: list[AnswerOut]
    passages: list[PassageOut]
    took_ms: float

    @classmethod
    def of(cls, asked: AskResult) -> "AskResponse":
        result = asked.result
        return cls(
            question=asked.question,
            answer=AnswerOut.of(result.answer) if result.answer else None,
            reason=None if result.answer else (result.reason or "The articles don't say."),
            alternatives=[AnswerOut.of(a) for a in result.alternatives],
            passages=[PassageOut.of(p) for p in asked.passages],
            took_ms=round(asked.took_ms, 1),
        )


class DocumentSummary(BaseModel):
    id: str
    title: str
    source: str
    length: int = Field(description="Characters of text")
    chunks: int


class DocumentDetail(DocumentSummary):
    text: str = Field(description="The full text that answer offsets index into")


class HealthResponse(BaseModel):
    ready: bool
    documents: int
    chunks: int
    embedding_model: str
    answerer: str


class ErrorResponse(BaseModel):
    detail: str


# Statuses every JSON route can answer, for its OpenAPI entry.
BODY_ERRORS: dict[int | str, dict] = {
    413: {"model": ErrorResponse, "description": "The body is over QA_MAX_JSON_BYTES (64 KiB by default)"},
    415: {
        "model": ErrorResponse,
        "description": "A body that says it is not JSON (Content-Type); send application/json",
    },
    422: {"model": ErrorResponse, "description": "Invalid input or malformed JSON; `detail` says what and where"},
}
# Statuses of every route that reads the index: it may be loading, or its store unreadable (a Milvus server stopped).
UNAVAILABLE: dict[int | str, dict] = {
    503: {
        "model": ErrorResponse,
        "description": "Still loading, too many questions waiting, or the index cannot be read (a Milvus server"
        " stopped); retry after `Retry-After` seconds when given",
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}},
    },
}
# Routes that answer questions: they queue for the model, and the queue is bounded (QA_MAX_QUEUED_QUESTIONS).
QUESTION_ERRORS: dict[int | str, dict] = {**BODY_ERRORS, **UNAVAILABLE}
