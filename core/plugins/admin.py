"""``/api/v1/admin/modules``: the catalogue of modules and their per-tenant state."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import msgspec
from litestar import Controller, Request, get, put
from litestar.di import Provide

from core.audit.service import record
from core.auth.guards import requires_permission
from core.auth.permissions import Permission
from core.http.context import RequestContext, provide_context
from core.http.problems import problem
from core.plugins.context import PluginContext
from core.plugins.dispatch import call_isolated
from core.plugins.manager import PluginHost
from core.plugins.records import ModuleSpec
from core.plugins.settings_schema import settings_errors, settings_schema
from core.plugins.tenant_modules import default_settings, forget, parse_settings


class ModuleFailure(msgspec.Struct, kw_only=True):
    hook: str
    failures: int
    last_error: str
    last_failed_at: datetime


class ModuleOut(msgspec.Struct, kw_only=True):
    name: str
    title: str
    description: str
    version: str
    available: bool
    """Whether the organization's plan allows enabling it."""
    enabled: bool
    settings: dict[str, Any] | None
    settings_schema: dict[str, Any] | None
    """JSON Schema of ``settings``."""
    failures: list[ModuleFailure]
    """Hooks of this module that raised for this organization (core went on regardless)."""


class ModuleUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    settings: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET


def _host(request: Request[Any, Any, Any]) -> PluginHost:
    return cast(PluginHost, request.app.state.plugin_host)


def _available(spec: ModuleSpec, plan: str) -> bool:
    return spec.plans is None or plan in spec.plans


def _validated(spec: ModuleSpec, raw: dict[str, Any]) -> msgspec.Struct | None:
    """Settings checked against the plugin's Struct; 422 listing each invalid field (``settings.<path>``)."""
    if spec.settings is None:
        if raw:
            raise problem(422, f"Module {spec.name} has no settings", errors=[{"key": "settings", "message": "none"}])
        return None
    errors = settings_errors(spec.settings, raw)
    if errors:
        title = "Unknown settings" if all(e["message"] == "unknown" for e in errors) else "Invalid settings"
        raise problem(422, title, errors=errors)
    return parse_settings(spec, raw)


class ModuleController(Controller):
    path = "/api/v1/admin/modules"
    tags = ["modules"]
    dependencies = {"ctx": Provide(provide_context)}
    guards = [requires_permission(Permission.MODULES_MANAGE)]

    @get("/", summary="The module catalogue, with this organization's state")
    async def list_modules(self, ctx: RequestContext, request: Request[Any, Any, Any]) -> list[ModuleOut]:
        host = _host(request)
        return [await self._out(ctx, host, spec) for spec in sorted(host.modules.values(), key=lambda s: s.name)]

    @put("/{name:str}", summary="Enable, disable or configure a module")
    async def update(
        self, ctx: RequestContext, request: Request[Any, Any, Any], name: str, data: ModuleUpdate
    ) -> ModuleOut:
        host = _host(request)
        spec = host.modules.get(name)
        if spec is None:
            raise problem(404, "No such module")
        current = await ctx.tx.fetchrow("select enabled, settings from tenant_modules where module = $1", name)
        was_enabled = bool(current and current["enabled"])
        enabled = was_enabled if data.enabled is msgspec.UNSET else data.enabled
        stored: str | None = None
        if isinstance(data.settings, dict):
            settings = _validated(spec, data.settings)
        elif current is not None:
            # Settings not sent: keep the stored ones untouched, even if this plugin version no longer
            # accepts them (they then read as defaults, as at run time): enabling or disabling never fails.
            stored = current["settings"]
            try:
                settings = parse_settings(spec, msgspec.json.decode(current["settings"]))
            except msgspec.ValidationError:
                settings = default_settings(spec)
        else:
            settings = default_settings(spec)
        if enabled and not was_enabled:
            plan = await ctx.tx.fetchval("select plan from tenants where id = $1", ctx.tenant_id)
            if not _available(spec, plan):
                raise problem(403, f"The {plan} plan does not include the {name} module")
        if stored is None:
            stored = msgspec.json.encode(msgspec.to_builtins(settings) if settings is not None else {}).decode()
        await ctx.tx.execute(
            "insert into tenant_modules (tenant_id, module, enabled, settings, updated_by) "
            "values ($1, $2, $3, $4::jsonb, $5) on conflict (tenant_id, module) do update set "
            "enabled = excluded.enabled, settings = excluded.settings, updated_by = excluded.updated_by, "
            "updated_at = now()",
            ctx.tenant_id,
            name,
            enabled,
            stored,
            ctx.principal.actor_id if ctx.principal.kind == "user" else None,
        )
        ctx.tx.modules_version = await ctx.tx.fetchval(
            "update tenants set modules_version = modules_version + 1 where id = $1 returning modules_version",
            ctx.tenant_id,
        )
        forget(host, ctx.tenant_id)
        await record(ctx, "module.update", "module", None, {"module": name, "enabled": enabled})
        if enabled != was_enabled:
            await self._lifecycle(ctx, host, name, settings, "module_enabled" if enabled else "module_disabled")
        return await self._out(ctx, host, spec)

    @staticmethod
    async def _lifecycle(
        ctx: RequestContext, host: PluginHost, name: str, settings: msgspec.Struct | None, hook: str
    ) -> None:
        plugin = host.plugin_of(name)
        plugin_ctx = PluginContext(
            module=name, tx=ctx.tx, principal=ctx.principal, settings=settings, ip=ctx.ip, request_id=ctx.request_id
        )
        for impl in getattr(host.pm.hook, hook).get_hookimpls():
            if impl.plugin_name == plugin:
                await call_isolated(host, plugin_ctx, hook, impl, {})

    @staticmethod
    async def _out(ctx: RequestContext, host: PluginHost, spec: ModuleSpec) -> ModuleOut:
        row = await ctx.tx.fetchrow("select enabled, settings from tenant_modules where module = $1", spec.name)
        plan = await ctx.tx.fetchval("select plan from tenants where id = $1", ctx.tenant_id)
        failures = await ctx.tx.fetch(
            "select hook, failures, last_error, last_failed_at from plugin_failures where module = $1 order by hook",
            spec.name,
        )
        if row is not None:
            settings: dict[str, Any] | None = msgspec.json.decode(row["settings"])
        else:
            default = default_settings(spec)
            settings = msgspec.to_builtins(default) if default is not None else None
        record_ = host.records.get(host.plugin_of(spec.name))
        return ModuleOut(
            name=spec.name,
            title=spec.title,
            description=spec.description,
            version=record_.version if record_ else "-",
            available=_available(spec, plan),
            enabled=bool(row and row["enabled"]),
            settings=settings if spec.settings is not None else None,
            settings_schema=settings_schema(spec.settings) if spec.settings is not None else None,
            failures=[ModuleFailure(**dict(f)) for f in failures],
        )
