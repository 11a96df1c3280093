"""Calling plugins' event hooks for one tenant, each isolated from the others and from core."""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter

from core.log import log_exception
from core.plugins.context import PluginContext
from core.plugins.manager import PluginHost
from core.plugins.tenant_modules import tenant_modules

if TYPE_CHECKING:
    import pluggy

    from core.http.context import RequestContext

log = logging.getLogger("carecoord.plugins")

HOOK_FAILURES = Counter("carecoord_plugin_hook_failures", "Plugin hook calls that raised", ["plugin", "hook"])


async def emit(ctx: RequestContext, hook: str, **kwargs: Any) -> None:
    """Call ``hook`` on every plugin the tenant enabled.

    Each call runs in a savepoint of the request's transaction: a plugin that raises has its
    own writes undone, is logged and counted (per plugin and tenant, shown to the tenant's
    admins), and neither core nor the other plugins notice.
    """
    await collect(ctx, hook, **kwargs)


async def collect(ctx: RequestContext, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """Like :func:`emit`, but gather each enabled plugin's return value as ``(module, value)``.

    A plugin that raises contributes nothing (and is recorded as failed); the others still answer.
    """
    host = ctx.plugins
    if host is None or not host.implements(hook):
        return []
    modules = await tenant_modules(host, ctx.tx, ctx.tenant_id)
    if not modules.enabled:
        return []
    results: list[tuple[str, Any]] = []
    for impl in host.implementations(hook, modules.enabled):
        module = host.module_of(impl.plugin_name)
        if module is None:
            continue
        plugin_ctx = PluginContext(
            module=module,
            tx=ctx.tx,
            principal=ctx.principal,
            settings=modules.settings.get(module),
            ip=ctx.ip,
            request_id=ctx.request_id,
            plugins=host,
        )
        box: list[Any] = []
        if await call_isolated(host, plugin_ctx, hook, impl, kwargs, box):
            results.append((module, box[0]))
    return results


async def call_isolated(
    host: PluginHost,
    plugin_ctx: PluginContext,
    hook: str,
    impl: pluggy.HookImpl,
    kwargs: dict[str, Any],
    result_box: list[Any] | None = None,
) -> bool:
    """Run one implementation in a savepoint; True when it succeeded (its value goes to ``result_box``)."""
    arguments = {"ctx": plugin_ctx, **kwargs}
    try:
        async with plugin_ctx.tx.connection.transaction():
            result = impl.function(*[arguments[name] for name in impl.argnames])
            if inspect.isawaitable(result):
                result = await result
            if result_box is not None:
                result_box.append(result)
    except Exception as exc:  # noqa: BLE001 - isolation is the point; recorded and logged
        await record_failure(plugin_ctx, impl.plugin_name, hook, exc)
        return False
    return True


async def record_failure(plugin_ctx: PluginContext, plugin_name: str, hook: str, exc: Exception) -> None:
    log_exception(log, "plugin %s failed in %s for tenant %s", exc, plugin_name, hook, plugin_ctx.tenant_id)
    HOOK_FAILURES.labels(plugin=plugin_name, hook=hook).inc()
    message = f"{type(exc).__name__}: {exc}"[:500]
    await plugin_ctx.tx.execute(
        "insert into plugin_failures (tenant_id, module, hook, failures, last_error) values ($1, $2, $3, 1, $4) "
        "on conflict (tenant_id, module, hook) do update set failures = plugin_failures.failures + 1, "
        "last_error = excluded.last_error, last_failed_at = now()",
        plugin_ctx.tenant_id,
        plugin_ctx.module,
        hook,
        message,
    )
