"""The document write routes: add, replace and remove documents over HTTP, behind the admin token.

They share `IndexBuilder.change` with `qa index add`: a write is answered only once its generation is durable and served.
"""

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from index.builder import DocumentConflict, UnknownDocument, UpdateReport
from index.documents import Document, DocumentError, guess_title, parse_document
from index.store import IndexBusy
from service.api.auth import AdminDep
from service.api.deps import LiveIndexDep, SettingsDep
from service.api.document_schemas import (
    DOCUMENT_BODY,
    MAX_TITLE_CHARS,
    DocumentChange,
    DocumentIn,
    optional_title,
    valid_id,
)
from service.api.errors import TOO_DEEP, Busy, Conflict, Forbidden, NotFound, UnsupportedMediaType, not_utf8
from service.api.json_route import JsonTextRoute
from service.api.live_index import LiveIndex
from service.api.schemas import ErrorResponse
from service.settings import Settings

router = APIRouter(tags=["documents"], dependencies=[AdminDep], route_class=JsonTextRoute)


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _error("Missing or wrong bearer token"),
    403: _error("Document changes are switched off (QA_ADMIN_TOKEN is unset)"),
    413: _error("The body is over QA_MAX_JSON_BYTES (JSON) or QA_MAX_UPLOAD_BYTES (upload)"),
    415: _error("Neither JSON nor a multipart upload"),
    422: _error("Not a readable document: wrong file type, not UTF-8, no text, a bad id or malformed JSON"),
    503: {
        **_error("Another write held the index too long; retry after `Retry-After` seconds"),
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}},
    },
}


@router.post(
    "/documents",
    status_code=201,
    openapi_extra=DOCUMENT_BODY,
    responses={**WRITE_RESPONSES, 409: _error("A document with this id exists; PUT replaces it")},
)
async def add_document(request: Request, live: LiveIndexDep, settings: SettingsDep) -> DocumentChange:
    """Add a document (JSON `{id?, title?, text}` or a .txt/.md/.html upload in the field `file`); 409 if its id exists."""
    document = await _read_document(request, settings, None)
    report = await _change(live, settings, upsert=[document], new_only=True)
    return await run_in_threadpool(_outcome, live, document.id, document.title, report)


@router.put(
    "/documents/{document_id}",
    openapi_extra=DOCUMENT_BODY,
    responses={**WRITE_RESPONSES, 201: {"model": DocumentChange, "description": "Created: the id was new"}},
)
async def replace_document(
    document_id: str, request: Request, response: Response, live: LiveIndexDep, settings: SettingsDep
) -> DocumentChange:
    """Replace the document with this id (or add it: 201); unchanged text and title are left as they are."""
    _check_id(document_id, ("path", "document_id"))
    document = await _read_document(request, settings, document_id)
    report = await _change(live, settings, upsert=[document])
    if report.added:
        response.status_code = 201
    return await run_in_threadpool(_outcome, live, document.id, document.title, report)


@router.delete(
    "/documents/{document_id}",
    responses={
        **{code: WRITE_RESPONSES[code] for code in (401, 403, 503)},
        404: _error("No document with this id"),
    },
)
async def delete_document(document_id: str, live: LiveIndexDep, settings: SettingsDep) -> DocumentChange:
    """Remove a document and its chunks."""
    title = await run_in_threadpool(_title, live, document_id)
    report = await _change(live, settings, remove=[document_id])
    return await run_in_threadpool(_outcome, live, document_id, title, report)


async def _change(live: LiveIndex, settings: Settings, **change: Any) -> UpdateReport:
    if live.builder is None:
        raise Forbidden("document changes are switched off: this service was started without a writable index")
    try:
        # In a worker thread: embedding and fsync must not stall the questions on the event loop.
        return await run_in_threadpool(live.change, wait=settings.write_wait_seconds, **change)
    except IndexBusy as error:
        raise Busy(f"{error}; try again shortly", {"Retry-After": "2"}) from None
    except DocumentConflict as error:
        raise Conflict(f"{error}; PUT /documents/{{id}} replaces a document") from None
    except UnknownDocument as error:
        raise NotFound(f"{error}; GET /documents lists them") from None
    except DocumentError as error:  # one the store cannot hold (an id or title over a Milvus field's size)
        raise _invalid(("body",), str(error)) from None


# _title and _outcome may open a newer generation (LiveIndex.pipeline): in a worker thread, off the event loop.
def _title(live: LiveIndex, document_id: str) -> str:
    pipeline = live.pipeline()
    known = pipeline.documents.get(document_id) if pipeline else None
    return known.title if known else ""


def _outcome(live: LiveIndex, document_id: str, title: str, report: UpdateReport) -> DocumentChange:
    if report.removed:
        return DocumentChange(id=document_id, title=title, status="removed", chunks=0, generation=report.generation)
    status = "added" if report.added else "replaced" if report.replaced else "unchanged"
    pipeline = live.pipeline()
    chunks = pipeline.chunk_counts.get(document_id, 0) if pipeline else report.chunks
    return DocumentChange(id=document_id, title=title, status=status, chunks=chunks, generation=report.generation)


def _invalid(location: tuple[str | int, ...], message: str) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": location, "msg": message, "input": None}])


def _check_id(document_id: str | None, location: tuple[str | int, ...]) -> None:
    try:
        valid_id(document_id)
    except ValueError as error:
        raise _invalid(location, str(error)) from None


async def _read_document(request: Request, settings: Settings, path_id: str | None) -> Document:
    """The document in the body: JSON `{id?, title?, text}` or a multipart upload, by Content-Type."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return _json_document(await request.body(), path_id)
    if media == "multipart/form-data":
        return await _uploaded_document(request, settings, path_id)
    raise UnsupportedMediaType(
        'send the document as JSON {"text": ...} (Content-Type: application/json)'
        " or as a .txt/.md/.html file in the multipart field 'file'"
    )


def _parsed_json(body: bytes) -> object:
    """The body as JSON; malformed JSON is refused as on the question routes (its position as line and column)."""
    try:  # UTF-8, with or without a BOM, or UTF-16/32 (RFC 8259's detection), as FastAPI reads the other routes' JSON
        text = body.decode(json.detect_encoding(body))
    except UnicodeDecodeError as error:
        raise _invalid(("body",), not_utf8(error.start)) from None
    try:
        return json.loads(text)
    except RecursionError:
        raise _invalid(("body",), TOO_DEEP) from None
    except json.JSONDecodeError as error:  # the error FastAPI raises for a question route's body, formatted alike
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", error.pos),
                    "msg": "JSON decode error",
                    "ctx": {"error": error.msg},
                }
            ],
            body=text,
        ) from None


def _json_document(body: bytes, path_id: str | None) -> Document:
    parsed = _parsed_json(body)
    if not isinstance(parsed, dict):
        raise _invalid(("body",), 'send the document as a JSON object, {"text": ..., "id": ..., "title": ...}')
    try:
        incoming = DocumentIn.model_validate(parsed)
    except ValidationError as error:
        raise RequestValidationError(
            [{"type": e["type"], "loc": ("body", *e["loc"]), "msg": e["msg"], "input": None} for e in error.errors()]
        ) from None
    if path_id and incoming.id and incoming.id != path_id:
        raise _invalid(("body", "id"), f"the body's id {incoming.id!r} differs from the path's {path_id!r}")
    document_id = path_id or incoming.document_id()
    title = incoming.title or guess_title(incoming.text, Path(document_id))
    # Line ends as an uploaded file's are read, so the same text is the same document (and hash) either way.
    return Document(id=document_id, title=title, source="api", text=incoming.text.replace("\r\n", "\n"))


async def _uploaded_document(request: Request, settings: Settings, path_id: str | None) -> Document:
    try:
        form = await request.form(max_files=1, max_fields=10, max_part_size=settings.max_upload_bytes)
    except HTTPException as error:
        if error.status_code == 413:
            raise
        raise _invalid(("body",), f"not a readable multipart form: {error.detail}") from None
    try:
        return await _form_document(form, path_id)
    finally:
        await form.close()  # the upload's spooled temporary file


async def _form_document(form: FormData, path_id: str | None) -> Document:
    upload, title, form_id = form.get("file"), form.get("title"), form.get("id")
    if not isinstance(upload, UploadFile):
        raise _invalid(("body", "file"), "no file: send the document as a .txt, .md or .html file in the field 'file'")
    if not isinstance(title, str | None) or not isinstance(form_id, str | None):
        raise _invalid(("body",), "'title' and 'id' are text fields, not files")
    _check_id(form_id or None, ("body", "id"))
    if path_id and form_id and form_id != path_id:
        raise _invalid(("body", "id"), f"the form's id {form_id!r} differs from the path's {path_id!r}")
    if title and len(title) > MAX_TITLE_CHARS:
        raise _invalid(("body", "title"), f"a title is at most {MAX_TITLE_CHARS} characters")
    try:
        title = optional_title(title)
    except ValueError as error:
        raise _invalid(("body", "title"), str(error)) from None
    name = Path(upload.filename or "").name or "upload"
    raw = await upload.read()
    try:  # in a worker thread: reading a large HTML file must not stall the questions on the event loop
        return await run_in_threadpool(parse_document, Path(name), raw, title, path_id or form_id or None)
    except DocumentError as error:
        raise _invalid(("body", "file"), str(error)) from None
