"""Domain errors carry their HTTP status (and any headers it needs); one handler turns them into JSON."""

TOO_DEEP = "the body is not valid JSON here: it nests arrays or objects too deeply to read"


def not_utf8(byte: int) -> str:
    return f"the body is not valid JSON: not UTF-8 text (byte {byte})"


class ServiceError(Exception):
    status_code = 500

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers


class NotFound(ServiceError):
    status_code = 404


class Conflict(ServiceError):
    status_code = 409


class NotReady(ServiceError):
    status_code = 503


class Busy(ServiceError):
    """Another document write held the index too long; `Retry-After` says when to try again."""

    status_code = 503


class Overloaded(ServiceError):
    """More questions are waiting than the service will queue; `Retry-After` says when to try again."""

    status_code = 503


class Unauthorized(ServiceError):
    status_code = 401

    def __init__(self, detail: str) -> None:
        super().__init__(detail, {"WWW-Authenticate": "Bearer"})


class Forbidden(ServiceError):
    status_code = 403


class UnsupportedMediaType(ServiceError):
    status_code = 415


OPENAI_ROUTES = "/v1/"  # the OpenAI-compatible routes: their errors also carry OpenAI's shape


def error_body(path: str, status: int, detail: str, errors: list[dict] | None = None) -> dict:
    """An error response's JSON: `detail` (and `errors`, one per invalid field); under /v1/ also OpenAI's `error`
    object, which is what the official clients read the message from."""
    body: dict = {"detail": detail} | ({"errors": errors} if errors is not None else {})
    if path.startswith(OPENAI_ROUTES):
        kind = "server_error" if status >= 500 else "invalid_request_error"
        param = errors[0]["field"] if errors else None
        body["error"] = {"message": detail, "type": kind, "param": param, "code": None}
    return body
