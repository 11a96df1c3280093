"""The per-request context: principal, tenant transaction and origin, for services and audit."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from uuid import UUID

from litestar import Request
from litestar.exceptions import NotAuthorizedException

from core.auth.principal import Principal
from core.db.tenant import TenantInactiveError, Tx, tenant_transaction

if TYPE_CHECKING:
    from core.plugins.manager import PluginHost


class RequestContext:
    """What a service needs to act for the caller, audit it, and tell the tenant's plugins."""

    __slots__ = ("ip", "plugins", "principal", "request_id", "tx")

    def __init__(
        self,
        tx: Tx,
        principal: Principal,
        ip: str | None,
        request_id: str | None,
        plugins: PluginHost | None = None,
    ) -> None:
        self.tx = tx
        self.principal = principal
        self.ip = ip
        self.request_id = request_id
        self.plugins = plugins

    @property
    def tenant_id(self) -> UUID:
        return self.principal.tenant_id

    async def emit(self, hook: str, **kwargs: Any) -> None:
        """Tell the plugins this tenant enabled that ``hook`` happened (see core.plugins.hookspecs)."""
        from core.plugins.dispatch import emit

        await emit(self, hook, **kwargs)

    async def collect(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Ask the tenant's enabled plugins; returns ``(module, answer)`` for each that answered."""
        from core.plugins.dispatch import collect

        return await collect(self, hook, **kwargs)


def request_origin(request: Request[Any, Any, Any]) -> tuple[str | None, str | None]:
    """The caller's address and the request id, for audit events."""
    return (request.client.host if request.client else None, request.scope.get("state", {}).get("request_id"))


@asynccontextmanager
async def request_context(request: Request[Principal, Any, Any]) -> AsyncIterator[RequestContext]:
    """One transaction per request, tenant pinned first; commits when the block ends without error."""
    principal = request.user
    ip, request_id = request_origin(request)
    try:
        async with tenant_transaction(principal.tenant_id, require_active=True) as tx:
            yield RequestContext(tx, principal, ip, request_id, request.app.state.get("plugin_host"))
    except TenantInactiveError:
        raise NotAuthorizedException("The organization's account is not active") from None


async def provide_context(request: Request[Principal, Any, Any]) -> AsyncGenerator[RequestContext, None]:
    """The ``ctx`` dependency: the request's context; the transaction commits when the handler returns."""
    async with request_context(request) as ctx:
        yield ctx
