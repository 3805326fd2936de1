"""The question-answering and document routes."""

from fastapi import APIRouter

from index.documents import quoted_id
from service.api.deps import GENERATION_HEADER, BatcherDep, LiveIndexDep, PipelineDep, SettingsDep
from service.api.errors import NotFound
from service.api.json_route import JsonTextRoute
from service.api.schemas import (
    QUESTION_ERRORS,
    UNAVAILABLE,
    AskRequest,
    AskResponse,
    DocumentDetail,
    DocumentSummary,
    ErrorResponse,
    HealthResponse,
    refuse_overlong,
)

router = APIRouter(route_class=JsonTextRoute)


@router.post("/ask", responses=QUESTION_ERRORS)
async def ask_question(
    request: AskRequest, pipeline: PipelineDep, settings: SettingsDep, batcher: BatcherDep
) -> AskResponse:
    """Answer a question with an exact, cited span of an article, or null with a reason when the articles don't say."""
    refuse_overlong([(("question",), "question", request.question)], settings.max_question_chars)
    return AskResponse.of(await batcher.ask(pipeline, request.question, request.top_k))


@router.get("/documents", responses=UNAVAILABLE)
def list_documents(pipeline: PipelineDep) -> list[DocumentSummary]:
    """The indexed documents."""
    return [
        DocumentSummary(id=d.id, title=d.title, source=d.source, length=d.characters, chunks=d.chunks)
        for d in pipeline.listing.values()
    ]


@router.get("/documents/{document_id}", responses={404: {"model": ErrorResponse}, **UNAVAILABLE})
def get_document(document_id: str, pipeline: PipelineDep) -> DocumentDetail:
    """One document with its full text, so a client can highlight an answer by its offsets."""
    document = pipeline.documents.get(document_id)
    if document is None:
        # A read all the same: it names the generation that lacks the id, as every read does.
        headers = {GENERATION_HEADER: pipeline.generation} if pipeline.generation else None
        raise NotFound(f"no document with id {quoted_id(document_id)}; GET /documents lists them", headers)
    return DocumentDetail(
        id=document.id,
        title=document.title,
        source=document.source,
        length=len(document.text),
        chunks=pipeline.chunk_counts.get(document.id, 0),
        text=document.text,
    )


@router.get("/health", responses=UNAVAILABLE)
def health(pipeline: PipelineDep, live: LiveIndexDep, settings: SettingsDep) -> HealthResponse:
    """Readiness, corpus size and the models in use; 503 while the store cannot be read (a Milvus server stopped)."""
    if live.store is not None:
        live.store.generation()  # raises IndexUnavailable, answered 503 with the reason: not ready for questions
    return HealthResponse(
        ready=True,
        documents=len(pipeline.documents),
        chunks=sum(pipeline.chunk_counts.values()),
        embedding_model=settings.embedding_model,
        answerer=pipeline.answerer.name,
    )
