"""Domain errors carry their HTTP status (and any headers it needs); one handler turns them into JSON."""

TOO_DEEP = "the body is not valid JSON here: it nests arrays or objects too deeply to read"


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
