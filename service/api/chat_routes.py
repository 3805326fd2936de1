"""The chat routes: the page, POST /chat with follow-ups, and the OpenAI-compatible chat completions."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, StreamingResponse

from service.answering.pipeline import QAPipeline
from service.api.batching import QuestionBatcher
from service.api.chat_schemas import ChatRequest, ChatResponse, read_window
from service.api.deps import GENERATION_HEADER, BatcherDep, PipelineDep, SettingsDep
from service.api.errors import NotFound
from service.api.json_route import JsonTextRoute
from service.api.openai_compat import MODEL_ID, ChatCompletion, CompletionRequest, ModelCard, ModelList, stream_events
from service.api.schemas import QUESTION_ERRORS, ErrorResponse, refuse_overlong
from service.chat.followup import Turn, resolve_followup

STATIC_DIR = Path(__file__).parent / "static"

router = APIRouter(route_class=JsonTextRoute)
SSE_EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {"data": {"type": "string"}, "event": {"type": "string"}, "id": {"type": "string"}},
}


@router.get("/", include_in_schema=False)
def show_page() -> FileResponse:
    """The chat page."""
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


@router.post("/chat", responses=QUESTION_ERRORS)
async def answer_chat(
    request: ChatRequest, pipeline: PipelineDep, settings: SettingsDep, batcher: BatcherDep
) -> ChatResponse:
    """Answer the last user message; a follow-up is first rewritten to stand alone from the earlier turns."""
    read = read_user_texts([(m.role, m.content) for m in request.messages], settings.chat_history_messages)
    refuse_overlong(read, settings.max_question_chars)
    return await chat(request.turns(settings.chat_history_messages), pipeline, batcher, request.top_k)


@router.post(
    "/v1/chat/completions",
    response_model=None,
    responses={
        200: {
            "model": ChatCompletion,
            "description": "A chat completion; with `stream: true`, server-sent chunks",
            # On OpenAPI 3.1 a text/event-stream schema describes one event (as schemathesis reads it): `data` holds a
            # JSON chat.completion.chunk, and the last event's `data` is `[DONE]`.
            "content": {"text/event-stream": {"schema": SSE_EVENT}},
        },
        **QUESTION_ERRORS,
    },
)
async def complete_chat(
    request: CompletionRequest, pipeline: PipelineDep, settings: SettingsDep, batcher: BatcherDep
) -> ChatCompletion | StreamingResponse:
    """OpenAI-compatible chat completions: the reply states the cited answer, and `qa` holds the /chat response."""
    read = read_user_texts([(m.role, m.text) for m in request.messages], settings.chat_history_messages)
    refuse_overlong(read, settings.max_question_chars)
    answered = await chat(request.turns(settings.chat_history_messages), pipeline, batcher)
    completion = ChatCompletion.of(answered, request.model)
    if request.stream:
        # A response returned directly skips the headers the dependencies set: name the generation here too.
        headers = {"Cache-Control": "no-cache"} | (
            {GENERATION_HEADER: pipeline.generation} if pipeline.generation else {}
        )
        return StreamingResponse(stream_events(completion), media_type="text/event-stream", headers=headers)
    return completion


@router.get("/v1/models")
def list_models() -> ModelList:
    """OpenAI's model listing: the one model, whose id a client may pass as `model` (any name is accepted)."""
    return ModelList(data=[ModelCard()])


@router.get("/v1/models/{model_id}", responses={404: {"model": ErrorResponse, "description": "No such model"}})
def retrieve_model(model_id: str) -> ModelCard:
    if model_id != MODEL_ID:
        raise NotFound(f"no model {model_id!r}; the one model is {MODEL_ID!r} (GET /v1/models)")
    return ModelCard()


async def chat(
    turns: list[Turn], pipeline: QAPipeline, batcher: QuestionBatcher, top_k: int | None = None
) -> ChatResponse:
    """Resolve the last user turn against the earlier ones, then answer the resolved question."""
    resolution = resolve_followup(turns)
    return ChatResponse.of_chat(await batcher.ask(pipeline, resolution.question, top_k), resolution)


def read_user_texts(messages: list[tuple[str, str]], limit: int) -> list[tuple[tuple[str | int, ...], str, str]]:
    """The user messages a follow-up is resolved from (`read_window`), located in the request body, for the length
    check; older ones are never read."""
    window = read_window(messages, limit)
    return [(("messages", i, "content"), "message", turn.content) for i, turn in window if turn.role == "user"]
