"""Which modules a tenant enabled, with their validated settings, cached per process.

The cache entry carries the tenant's ``modules_version``; every change bumps that number in
the same transaction, and every tenant transaction reads it with its first statement, so API
and worker processes see a change on their next request without any messaging.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec

from core.db.tenant import Tx
from core.plugins.manager import PluginHost
from core.plugins.records import ModuleSpec

log = logging.getLogger("carecoord.plugins")
_MAX_TENANTS = 10_000


@dataclass(frozen=True)
class TenantModules:
    version: int
    enabled: frozenset[str]
    settings: dict[str, msgspec.Struct | None]


def default_settings(spec: ModuleSpec) -> msgspec.Struct | None:
    return None if spec.settings is None else msgspec.convert({}, spec.settings)


def parse_settings(spec: ModuleSpec, raw: Any) -> msgspec.Struct | None:
    """Validate stored or submitted settings; raises ``msgspec.ValidationError``."""
    if spec.settings is None:
        return None
    return msgspec.convert(raw or {}, spec.settings)


async def current_version(tx: Tx, tenant_id: UUID) -> int:
    if tx.modules_version is None:
        tx.modules_version = int(await tx.fetchval("select modules_version from tenants where id = $1", tenant_id))
    return tx.modules_version


async def tenant_modules(host: PluginHost, tx: Tx, tenant_id: UUID) -> TenantModules:
    """The tenant's enabled modules (only ones whose plugin is loaded) and their settings."""
    version = await current_version(tx, tenant_id)
    cache = host.tenant_cache
    cached: TenantModules | None = cache.get(tenant_id)
    if cached is not None and cached.version == version:
        cache.move_to_end(tenant_id)
        return cached
    rows = await tx.fetch("select module, enabled, settings from tenant_modules where enabled")
    enabled, settings = set(), {}
    for row in rows:
        spec = host.modules.get(row["module"])
        if spec is None:
            continue  # module of a plugin not loaded in this process: inert
        try:
            settings[spec.name] = parse_settings(spec, msgspec.json.decode(row["settings"]))
        except msgspec.ValidationError:
            log.warning("stored settings of %s are invalid for tenant %s; using defaults", spec.name, tenant_id)
            settings[spec.name] = default_settings(spec)
        enabled.add(spec.name)
    entry = TenantModules(version, frozenset(enabled), settings)
    cache[tenant_id] = entry
    if len(cache) > _MAX_TENANTS:
        cache.popitem(last=False)
    return entry


def forget(host: PluginHost, tenant_id: UUID) -> None:
    host.tenant_cache.pop(tenant_id, None)
