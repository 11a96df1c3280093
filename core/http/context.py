"""The per-request context: principal, tenant transaction and origin, for services and audit."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException

from core.auth.principal import Principal
from core.db.tenant import TenantInactiveError, Tx, tenant_transaction


class RequestContext:
    """What a service needs to act for the caller and to audit it."""

    __slots__ = ("ip", "principal", "request_id", "tx")

    def __init__(self, tx: Tx, principal: Principal, ip: str | None, request_id: str | None) -> None:
        self.tx = tx
        self.principal = principal
        self.ip = ip
        self.request_id = request_id

    @property
    def tenant_id(self) -> Any:
        return self.principal.tenant_id


async def provide_context(request: Request[Principal, Any, Any]) -> AsyncGenerator[RequestContext, None]:
    """One transaction per request, tenant pinned first; commits when the handler returns."""
    principal = request.user
    try:
        async with tenant_transaction(principal.tenant_id, require_active=True) as tx:
            yield RequestContext(
                tx=tx,
                principal=principal,
                ip=request.client.host if request.client else None,
                request_id=request.scope.get("state", {}).get("request_id"),
            )
    except TenantInactiveError:
        raise NotAuthorizedException("The organization's account is not active") from None
