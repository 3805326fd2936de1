"""Request body limits, enforced before a body is read whole: 413 with a sentence saying the limit."""

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.errors import error_body

UPLOAD_ROUTES = "/documents"  # the routes that take uploads: POST /documents, PUT /documents/{id}


class BodyLimit:
    """Refuses bodies over `upload_bytes` (a multipart upload to a document route) or `json_bytes` (anything else,
    whatever its Content-Type says: a question route never takes an upload's size).

    A declared Content-Length over the limit is refused before any byte is read; a body sent without one (chunked) is
    counted as it streams in and refused at the first byte over.
    """

    def __init__(self, app: ASGIApp, json_bytes: int, upload_bytes: int) -> None:
        self.app = app
        self.json_bytes = json_bytes
        self.upload_bytes = upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        upload = _takes_uploads(scope) and headers.get("content-type", "").lower().startswith("multipart/form-data")
        limit = self.upload_bytes if upload else self.json_bytes
        kind = "an upload" if upload else "a JSON body"
        detail = f"the request body is over {limit:,} bytes, the most {kind} may be; send a smaller one"
        if not upload and _takes_uploads(scope):  # a document as JSON: the same text fits as a file
            detail += (
                f", or upload the document as a .txt file (multipart field 'file', up to {self.upload_bytes:,} bytes)"
            )
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            body = error_body(scope["path"], 413, detail)
            await JSONResponse(body, status_code=413, headers={"Connection": "close"})(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, detail)
            return message

        await self.app(scope, counted, send)


def _takes_uploads(scope: Scope) -> bool:
    path = scope["path"].rstrip("/")
    return scope["method"] in ("POST", "PUT") and (path == UPLOAD_ROUTES or path.startswith(UPLOAD_ROUTES + "/"))
