"""Route guards: ``requires_permission(...)`` on every protected handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from core.auth.principal import Principal

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def is_preflight(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """An ``OPTIONS`` request: litestar answers it itself (the allowed methods, no data) and the
    authentication middleware leaves it alone, so a guard has no principal to look at and lets it pass."""
    return connection.scope.get("method") == "OPTIONS"


def requires_permission(permission: str) -> Guard:
    """Allow the request only when the principal holds ``permission``.

    The guard is a coroutine: litestar runs a plain-function guard in a worker thread, which
    cost every protected request a thread hop.
    """

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if is_preflight(connection):
            return
        principal = connection.user
        if not isinstance(principal, Principal) or not principal.can(permission):
            raise PermissionDeniedException(f"Requires permission {permission}")

    guard.__name__ = "requires_" + permission.replace(":", "_")
    guard.permission = permission  # type: ignore[attr-defined]  # read by the cross-tenant probe's role matrix
    return guard
