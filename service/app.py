"""The FastAPI application factory: models load once, in the lifespan."""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from index.store import IndexUnavailable
from service.answering.pipeline import QAPipeline
from service.api.batching import QuestionBatcher
from service.api.chat_routes import STATIC_DIR
from service.api.chat_routes import router as chat_router
from service.api.document_routes import router as document_router
from service.api.errors import OPENAI_ROUTES, TOO_DEEP, ServiceError, error_body, not_utf8
from service.api.limits import BodyLimit
from service.api.live_index import LiveIndex
from service.api.model_turn import ModelThread
from service.api.routes import router
from service.chat import verbs
from service.settings import Settings

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    pipeline: QAPipeline | None = None,
    live_index: LiveIndex | None = None,
    model_thread: ModelThread | None = None,
) -> FastAPI:
    """The app; pass `pipeline` (read-only) or `live_index` to serve ready-made ones (tests hand in fakes), else it
    loads from `settings`, on `model_thread` when given (one that already ran a model, see service.api.model_turn)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if live_index is not None:
            app.state.live_index = live_index
        elif pipeline is not None:
            app.state.live_index = LiveIndex.fixed(pipeline)
        else:
            from service.runtime import load_live_index

            app.state.live_index = load_live_index(settings, model_thread=model_thread)
        verbs.load()  # lemminflect's tables, read once here rather than by the first chat follow-up (0.3 s)
        batcher = QuestionBatcher(
            settings.batch_window_ms,
            settings.max_batch_questions,
            settings.max_queued_questions,
            model_thread=app.state.live_index.model_thread,
        )
        await batcher.start()
        app.state.batcher = batcher
        yield
        app.state.batcher = None
        await batcher.stop()
        live = app.state.live_index
        with live.writing:  # a write in flight finishes, durably, before the process may exit
            app.state.live_index = None
        live.close()

    app = FastAPI(
        title="Cited QA",
        summary="Answers from news articles with exact, cited spans",
        version="0.1.0",
        lifespan=lifespan,
        redoc_url=None,
        docs_url=None,  # served below from packaged Swagger UI files: this machine has no CDN to load them from
    )
    app.state.settings = settings
    app.state.live_index = None
    app.state.batcher = None
    app.include_router(router)
    app.include_router(document_router)
    _serve_docs_offline(app)
    app.include_router(chat_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # Inside the headers middleware, so a 413 raised mid-body reaches the route's own error handling unwrapped.
    app.add_middleware(BodyLimit, json_bytes=settings.max_json_bytes, upload_bytes=settings.max_upload_bytes)
    app.middleware("http")(_add_security_headers)
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(IndexUnavailable, _index_unavailable)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    return app


# The page's scripts and styles are files under /static: no inline code, nothing from elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
    " object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


async def _add_security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.url.path != "/docs":  # FastAPI's Swagger page starts Swagger UI with an inline script
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def _serve_docs_offline(app: FastAPI) -> None:
    """Swagger UI at /docs with its JavaScript and CSS from the swagger-ui-bundle package (FastAPI's self-hosting recipe)."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs-assets", StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def show_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} · API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )


async def _service_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ServiceError)
    body = error_body(request.url.path, error.status_code, error.detail)
    return JSONResponse(body, status_code=error.status_code, headers=error.headers)


async def _index_unavailable(request: Request, error: Exception) -> JSONResponse:
    """The store failed a request (a Milvus server stopped, an index rebuilt under other settings): 503 saying why and
    what to check, in the JSON every other error has, rather than a bare 500."""
    log.warning("%s %s: %s", request.method, request.url.path, error)
    body = error_body(request.url.path, 503, str(error))
    return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    """422 with one readable sentence per problem, e.g. "question: the question is empty; ..."."""
    assert isinstance(error, RequestValidationError)
    problems = []
    for item in error.errors():
        if item["type"] == "json_invalid" and len(item["loc"]) == 2 and isinstance(item["loc"][1], int):
            problems.append({"field": "body", "message": _json_position(item, error.body)})
            continue
        where = ".".join(str(part) for part in item["loc"] if part != "body") or "body"
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append({"field": where, "message": message})
    detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return JSONResponse(error_body(request.url.path, 422, detail, problems), status_code=422)


async def _http_error(request: Request, error: Exception) -> Response:
    """FastAPI's own errors, except that a JSON body which isn't UTF-8, or nests too deep to parse, is a 422 saying so,
    not a bare 400."""
    assert isinstance(error, StarletteHTTPException)
    cause = error.__cause__
    if error.status_code == 400 and isinstance(cause, UnicodeDecodeError | RecursionError):
        message = not_utf8(cause.start) if isinstance(cause, UnicodeDecodeError) else TOO_DEEP
        body = error_body(request.url.path, 422, f"body: {message}", [{"field": "body", "message": message}])
        return JSONResponse(body, 422)
    if request.url.path.startswith(OPENAI_ROUTES):
        body = error_body(request.url.path, error.status_code, str(error.detail))
        return JSONResponse(body, status_code=error.status_code, headers=getattr(error, "headers", None))
    return await http_exception_handler(request, error)


def _json_position(item: dict, document: object) -> str:
    """FastAPI reports a JSON syntax error's character position as the location; say it as a position."""
    position = item["loc"][1]
    reason = str(item.get("ctx", {}).get("error", "syntax error"))
    if isinstance(document, str):
        line = document.count("\n", 0, position) + 1
        column = position - (document.rfind("\n", 0, position) + 1) + 1
        return f"the body is not valid JSON: {reason} at line {line}, column {column} (character {position})"
    return f"the body is not valid JSON: {reason} at character {position}"
