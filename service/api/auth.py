"""The bearer token that guards the document write routes (QA_ADMIN_TOKEN); read routes stay open."""

import hmac
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.api.deps import SettingsDep
from service.api.errors import Forbidden, Unauthorized

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="adminToken",
    description="The value of QA_ADMIN_TOKEN on the server, as `Authorization: Bearer <token>`",
)


def require_admin(
    settings: SettingsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """403 while no token is configured, 401 for a missing or wrong one; compared in constant time."""
    if not settings.writes_enabled and settings.shared_store:  # a second writer could interleave a document's rows
        raise Forbidden(
            "this replica is read-only: the index is shared on a Milvus server, and its documents are changed through"
            " the one writer (the replica started with QA_ADMIN_TOKEN) or `qa index add`"
        )
    if not settings.writes_enabled:
        raise Forbidden(
            "document changes are switched off: start the service with QA_ADMIN_TOKEN set to a secret,"
            " then send it as 'Authorization: Bearer <token>'"
        )
    token = settings.admin_token.get_secret_value() if settings.admin_token else ""
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
        raise Unauthorized("missing or wrong token: send 'Authorization: Bearer <the server's QA_ADMIN_TOKEN>'")


AdminDep = Depends(require_admin)
