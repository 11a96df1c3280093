"""The payer directory: which insurers the organization works with, and how to reach each one."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from asyncpg import UniqueViolationError

from core.notifications.crypto import decrypt_secrets, encrypt_secrets
from core.plugins.sdk import PluginContext
from plugins.insurance.payers.registry import AdapterConfigError, adapter_specs, check_config
from plugins.insurance.payers.schemas import Payer, PayerCreate, PayerUpdate

COLUMNS = (
    "id, name, payer_code, adapter, adapter_config, adapter_secrets, phone, portal_url, active, created_at, updated_at"
)


class DuplicatePayerCodeError(Exception):
    pass


def to_payer(row: Any) -> Payer:
    data = dict(row)
    config = data["adapter_config"]
    data["adapter_config"] = msgspec.json.decode(config) if isinstance(config, str | bytes) else dict(config or {})
    data["secrets_set"] = sorted(decrypt_secrets(data.pop("adapter_secrets"))) if row["adapter_secrets"] else []
    return msgspec.convert(data, Payer)


def _checked(ctx: PluginContext, adapter: str, config: dict[str, Any]) -> dict[str, Any]:
    spec = adapter_specs(ctx.plugins).get(adapter)
    if spec is None:
        known = ", ".join(sorted(adapter_specs(ctx.plugins)))
        raise AdapterConfigError(f"no payer adapter named {adapter!r} is installed (installed: {known})", "adapter")
    return check_config(spec, config)


async def create_payer(ctx: PluginContext, data: PayerCreate) -> Payer:
    config = _checked(ctx, data.adapter, data.adapter_config)
    secrets = encrypt_secrets(dict(data.adapter_secrets)) if data.adapter_secrets else None
    try:
        async with ctx.tx.connection.transaction():
            row = await ctx.tx.fetchrow(
                "insert into insurance_payers (tenant_id, name, payer_code, adapter, adapter_config, adapter_secrets, "
                f"phone, portal_url) values ($1, $2, $3, $4, $5::jsonb, $6, $7, $8) returning {COLUMNS}",
                ctx.tenant_id,
                data.name,
                data.payer_code,
                data.adapter,
                msgspec.json.encode(config).decode(),
                secrets,
                data.phone,
                data.portal_url,
            )
    except UniqueViolationError:
        raise DuplicatePayerCodeError(data.payer_code) from None
    await ctx.audit("insurance.payer_create", "insurance_payer", row["id"], {"payer_code": data.payer_code})
    return to_payer(row)


async def list_payers(ctx: PluginContext, *, include_inactive: bool) -> list[Payer]:
    rows = await ctx.tx.fetch(
        f"select {COLUMNS} from insurance_payers where $1 or active order by lower(name), id", include_inactive
    )
    return [to_payer(r) for r in rows]


async def get_payer(ctx: PluginContext, payer_id: UUID) -> Payer | None:
    row = await ctx.tx.fetchrow(f"select {COLUMNS} from insurance_payers where id = $1", payer_id)
    return None if row is None else to_payer(row)


async def update_payer(ctx: PluginContext, payer_id: UUID, data: PayerUpdate) -> Payer | None:
    row = await ctx.tx.fetchrow(f"select {COLUMNS} from insurance_payers where id = $1 for update", payer_id)
    if row is None:
        return None
    current = to_payer(row)
    changes = {
        f: v for f in data.__struct_fields__ if (v := getattr(data, f)) is not msgspec.UNSET and f != "tenant_id"
    }
    adapter = changes.get("adapter", current.adapter)
    if "adapter" in changes or "adapter_config" in changes:
        changes["adapter_config"] = _checked(ctx, adapter, changes.get("adapter_config", current.adapter_config))
    if "adapter_config" in changes:
        changes["adapter_config"] = msgspec.json.encode(changes["adapter_config"]).decode()
    if "adapter_secrets" in changes:
        secrets = changes["adapter_secrets"]
        changes["adapter_secrets"] = encrypt_secrets(dict(secrets)) if secrets else None
    if not changes:
        return current
    assignments = ", ".join(
        f"{name} = ${i + 2}{'::jsonb' if name == 'adapter_config' else ''}" for i, name in enumerate(changes)
    )
    try:
        async with ctx.tx.connection.transaction():
            updated = await ctx.tx.fetchrow(
                f"update insurance_payers set {assignments}, updated_at = now() where id = $1 returning {COLUMNS}",
                payer_id,
                *changes.values(),
            )
    except UniqueViolationError:
        raise DuplicatePayerCodeError(str(changes.get("payer_code"))) from None
    await ctx.audit("insurance.payer_update", "insurance_payer", payer_id, {"fields": sorted(changes)})
    return to_payer(updated)
