"""Domain errors carry their HTTP status; one handler turns them into JSON."""


class ServiceError(Exception):
    status_code = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(ServiceError):
    status_code = 404


class NotReady(ServiceError):
    status_code = 503
