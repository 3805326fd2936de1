"""A route class for JSON bodies: it refuses a body sent as another media type (415, where FastAPI would not parse it
and answer that the body is "not a valid dictionary"), and JSON whose strings hold an unpaired UTF-16 surrogate escape
("\\ud800").

Python's JSON parser reads such an escape into a string no UTF-8 response or file can carry, so a question holding one
failed later, when its response was written, as a 500. It is malformed input and gets the 422 of any other.
"""

import json
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from service.api.errors import UnsupportedMediaType

UNPAIRED = "the body is not valid JSON text: a string holds an unpaired UTF-16 surrogate escape (such as \\ud800)"


class JsonTextRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handle = super().get_route_handler()

        takes_json = self.body_field is not None  # the document routes read their own bodies, multipart too

        async def checked(request: Request) -> Response:
            media = request.headers.get("content-type", "").split(";")[0].strip().lower()
            is_json = media == "application/json" or media.endswith("+json")
            if takes_json and not is_json and (media or await request.body()):  # FastAPI parses JSON bodies alone
                sent = f"sent as {media}" if media else "sent without a Content-Type"
                raise UnsupportedMediaType(f"the body is {sent}; send JSON with Content-Type: application/json")
            if is_json and _unpaired_surrogate(await request.body()):
                raise RequestValidationError(
                    [{"type": "value_error", "loc": ("body",), "msg": UNPAIRED, "input": None}]
                )
            return await handle(request)  # the same request: its body is read once, then kept

        return checked


def _unpaired_surrogate(body: bytes) -> bool:
    """Whether the JSON body's strings (keys included) hold a surrogate with no partner; malformed JSON is left for the
    route to refuse with its position."""
    if b"\\u" not in body:
        return False
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return False
    try:
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
