"""Mounting plugins' routes under ``/api/v1/{module}``, reachable only where the module is enabled."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any, cast

from litestar import Litestar, Request, Router
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler

from core.auth.guards import is_preflight
from core.auth.principal import Principal
from core.db.tenant import tenant_transaction
from core.http.context import request_context
from core.plugins.context import PluginContext
from core.plugins.manager import PluginHost
from core.plugins.tenant_modules import tenant_modules


def requires_module(name: str) -> Any:
    """Guard: 404 (as for a route that does not exist) unless the caller's tenant enabled ``name``."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if is_preflight(connection):
            return
        principal = cast(Principal, connection.user)
        host = cast(PluginHost, connection.app.state.plugin_host)
        async with tenant_transaction(principal.tenant_id) as tx:
            modules = await tenant_modules(host, tx, principal.tenant_id)
        if name not in modules.enabled:
            raise NotFoundException()

    guard.__name__ = f"requires_module_{name}"
    return guard


def plugin_context_provider(name: str) -> Any:
    async def provide_plugin(request: Request[Principal, Any, Any]) -> AsyncGenerator[PluginContext, None]:
        """The plugin's context: the request's tenant transaction and the module's settings."""
        host = cast(PluginHost, request.app.state.plugin_host)
        async with request_context(request) as ctx:
            modules = await tenant_modules(host, ctx.tx, ctx.tenant_id)
            if name not in modules.enabled:
                raise NotFoundException()
            yield PluginContext(
                module=name,
                tx=ctx.tx,
                principal=ctx.principal,
                settings=modules.settings.get(name),
                ip=ctx.ip,
                request_id=ctx.request_id,
                plugins=host,
            )

    return provide_plugin


def module_router(name: str, handlers: Sequence[Any]) -> Router:
    return Router(
        path=f"/api/v1/{name}",
        route_handlers=list(handlers),
        guards=[requires_module(name)],
        dependencies={"plugin": Provide(plugin_context_provider(name))},
        tags=[name],
    )


def check_routes(name: str, handlers: Sequence[Any]) -> None:
    """Mount the module's routes in a throwaway app; raises what a broken handler would raise.

    Called while the plugin loads, so that a handler litestar cannot build (an unresolvable
    annotation, say) fails that plugin instead of the whole API at start-up. No logging config: the
    throwaway app must not reconfigure the process's logging (the CLI loads plugins too).
    """
    Litestar(route_handlers=[module_router(name, handlers)], openapi_config=None, logging_config=None)


def plugin_routers(host: PluginHost) -> list[Router]:
    return [module_router(name, handlers) for name, handlers in host.contributions.routes.items()]
