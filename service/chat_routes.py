"""The chat routes: the page, POST /chat with follow-ups, and the OpenAI-compatible chat completions."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, StreamingResponse

from service.chat_schemas import ChatRequest, ChatResponse
from service.deps import PipelineDep, SettingsDep
from service.followup import Turn, resolve_followup
from service.openai_compat import ChatCompletion, CompletionRequest, stream_events
from service.pipeline import QAPipeline
from service.schemas import ErrorResponse

STATIC_DIR = Path(__file__).parent / "static"

router = APIRouter()


@router.get("/", include_in_schema=False)
def show_page() -> FileResponse:
    """The chat page."""
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


@router.post("/chat", responses={422: {"model": ErrorResponse}})
def answer_chat(request: ChatRequest, pipeline: PipelineDep, settings: SettingsDep) -> ChatResponse:
    """Answer the last user message; a follow-up is first rewritten to stand alone from the earlier turns."""
    check_lengths([(m.role, m.content) for m in request.messages], settings.max_question_chars)
    return chat(request.turns(settings.chat_history_messages), pipeline, request.top_k)


@router.post(
    "/v1/chat/completions",
    response_model=None,
    responses={
        200: {"model": ChatCompletion, "description": "A chat completion; with `stream: true`, server-sent chunks"},
        422: {"model": ErrorResponse},
    },
)
def complete_chat(
    request: CompletionRequest, pipeline: PipelineDep, settings: SettingsDep
) -> ChatCompletion | StreamingResponse:
    """OpenAI-compatible chat completions: the reply states the cited answer, and `qa` holds the /chat response."""
    check_lengths([(m.role, m.text) for m in request.messages], settings.max_question_chars)
    completion = ChatCompletion.of(chat(request.turns(settings.chat_history_messages), pipeline), request.model)
    if request.stream:
        return StreamingResponse(
            stream_events(completion), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )
    return completion


def check_lengths(messages: list[tuple[str, str]], limit: int) -> None:
    """User messages over the configured limit are refused like any other invalid input (422)."""
    errors = [
        {
            "type": "value_error",
            "loc": ("body", "messages", index, "content"),
            "msg": f"the message is {len(text)} characters; keep it to {limit}",
            "input": text,
        }
        for index, (role, text) in enumerate(messages)
        if role == "user" and len(text) > limit
    ]
    if errors:
        raise RequestValidationError(errors)


def chat(turns: list[Turn], pipeline: QAPipeline, top_k: int | None = None) -> ChatResponse:
    """Resolve the last user turn against the earlier ones, then answer the resolved question."""
    resolution = resolve_followup(turns)
    return ChatResponse.of_chat(pipeline.ask(resolution.question, top_k), resolution)
