"""A tenant's whole data out as JSON lines, and its deletion: closed at once, purged after a grace period.

Export reads every table that has a ``tenant_id`` column (core's and the plugins', found in the catalog,
so a new table is exported without changing this file) inside the tenant's RLS-pinned transaction as
the app role, one snapshot for all of them (a read-only REPEATABLE READ transaction): what row-level
security lets it see is exactly the tenant's rows. Credentials are left
out (password and TOTP secrets, token and key hashes, encrypted channel and payer secrets): they are
the platform's to keep, and a new credential column must match :data:`CREDENTIAL_COLUMN` to stay out.

Deletion closes the organization at once (every token and key stops working, as for a suspension) and
sets ``purge_after``; within the grace period an operator can reopen it. After it, the database function
``carecoord_purge_tenant`` (migration ``core_2026_11_24t08_00_tenant_lifecycle``) deletes every row, and
the tenant's report files go with it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from core.audit.service import append_event
from core.db.tenant import Tx, platform_transaction, tenant_transaction

EXPORT_FORMAT = "carecoord-tenant-export"
EXPORT_VERSION = 1
CREDENTIAL_COLUMN = re.compile(r"password|secret|totp|token_hash|_key_hash|^secrets$")
"""Columns no export carries. ``audit_events.hash`` and ``prev_hash`` stay: they prove the log intact."""
BATCH = 1000

TABLES_SQL = """
select c.relname::text as name
from pg_class c
join pg_namespace ns on ns.oid = c.relnamespace
join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
where ns.nspname = current_schema() and c.relkind = 'r' and has_table_privilege(c.oid, 'SELECT')
order by c.relname
"""
COLUMNS_SQL = """
select a.attname::text as name, format_type(a.atttypid, a.atttypmod) as type
from pg_attribute a
where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped
order by a.attnum
"""


class DeletionError(ValueError):
    """The tenant is not in a state that allows this step (already closed, not closed, not due...)."""


def _encode(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"cannot export {type(value).__name__}")


_encoder = msgspec.json.Encoder(enc_hook=_encode)


def _line(record: dict[str, Any]) -> bytes:
    return _encoder.encode(record) + b"\n"


async def exported_columns(tx: Tx, table: str) -> list[tuple[str, str]]:
    """``(name, type)`` of the columns of ``table`` an export carries."""
    rows = await tx.fetch(COLUMNS_SQL, f'"{table}"')
    return [(r["name"], r["type"]) for r in rows if not CREDENTIAL_COLUMN.search(r["name"])]


async def export_lines(tenant_id: UUID) -> AsyncIterator[bytes]:
    """The tenant's data as JSON lines: a header, the ``tenants`` row, then ``{"table", "row"}`` per row
    (tables by name, rows in primary-key order), then a trailer with the counts, all read from one
    snapshot: what is written while the export runs is in none of its tables, so every reference in it
    resolves."""
    async with tenant_transaction(tenant_id, snapshot=True) as tx:
        tables = [r["name"] for r in await tx.fetch(TABLES_SQL)]
        tenant = await tx.fetchrow("select * from tenants where id = $1", tenant_id)
        yield _line(
            {
                "format": EXPORT_FORMAT,
                "version": EXPORT_VERSION,
                "tenant_id": str(tenant_id),
                "slug": tenant["slug"],
                "exported_at": datetime.now(UTC).isoformat(),
                "tables": tables,
                "left_out": "credentials (password, TOTP and API key secrets, token hashes, encrypted secrets)",
            }
        )
        yield _line({"table": "tenants", "row": _row(dict(tenant), {"business_hours": "jsonb"})})
        counts: dict[str, int] = {}
        for table in tables:
            columns = await exported_columns(tx, table)
            types = dict(columns)
            names = ", ".join(f'"{name}"' for name, _ in columns)
            keys = await tx.fetch(
                "select a.attname::text as name from pg_index i join pg_attribute a on a.attrelid = i.indrelid "
                "and a.attnum = any(i.indkey) where i.indrelid = $1::regclass and i.indisprimary",
                f'"{table}"',
            )
            order = ", ".join(f'"{k["name"]}"' for k in keys) or "1"
            cursor = await tx.connection.cursor(f'select {names} from "{table}" order by {order}')
            counts[table] = 0
            while batch := await cursor.fetch(BATCH):
                for row in batch:
                    yield _line({"table": table, "row": _row(dict(row), types)})
                counts[table] += len(batch)
        yield _line({"end": True, "rows": counts})


def _row(row: dict[str, Any], types: dict[str, str]) -> dict[str, Any]:
    """JSON columns as JSON (asyncpg hands them over as text)."""
    for name, kind in types.items():
        if kind in ("json", "jsonb") and isinstance(row.get(name), str):
            row[name] = msgspec.json.decode(row[name])
    return row


# ---------------------------------------------------------------------------------------- deletion


async def request_deletion(
    tx: Tx, tenant_id: UUID, *, grace: timedelta, actor_type: str, actor_id: UUID | None, **origin: Any
) -> datetime:
    """Close the tenant now and schedule its purge; returns ``purge_after``. Audited in the tenant's log
    (which is purged with it: the platform log line of the purge is what remains)."""
    row = await tx.fetchrow(
        "update tenants set status = 'closed', deletion_requested_at = now(), purge_after = now() + $2, "
        "updated_at = now() where id = $1 and deletion_requested_at is null returning purge_after",
        tenant_id,
        grace,
    )
    if row is None:
        raise DeletionError("the organization's deletion was already requested")
    await append_event(
        tx,
        tenant_id=tenant_id,
        actor_type=actor_type,
        actor_id=actor_id,
        action="tenant.deletion_requested",
        resource_type="tenant",
        resource_id=tenant_id,
        details={"purge_after": row["purge_after"].isoformat()},
        **origin,
    )
    purge_after: datetime = row["purge_after"]
    return purge_after


async def reopen(tenant_id: UUID) -> None:
    """Cancel a requested deletion within the grace period: the organization is active again."""
    async with tenant_transaction(tenant_id) as tx:
        done = await tx.fetchval(
            "update tenants set status = 'active', deletion_requested_at = null, purge_after = null, "
            "updated_at = now() where id = $1 and deletion_requested_at is not null returning true",
            tenant_id,
        )
        if not done:
            raise DeletionError("no deletion was requested for this organization")
        await append_event(
            tx,
            tenant_id=tenant_id,
            actor_type="system",
            actor_id=None,
            action="tenant.deletion_cancelled",
            resource_type="tenant",
            resource_id=tenant_id,
        )


async def purge(tenant_id: UUID) -> int:
    """Delete every row of a tenant closed past its grace period (the database function refuses any
    other), then its report files; returns how many rows went."""
    import asyncpg

    from core.reports.storage import report_storage

    try:
        async with platform_transaction() as tx:
            deleted = int(await tx.fetchval("select carecoord_purge_tenant($1)", tenant_id))
    except asyncpg.RaiseError as exc:
        raise DeletionError(str(exc)) from None
    await report_storage().delete_tenant(tenant_id)
    return deleted


async def purge_due() -> dict[UUID, int]:
    """Purge every tenant whose grace period is over (the scheduler's maintenance calls this)."""
    async with platform_transaction() as tx:
        due = [
            r["id"]
            for r in await tx.fetch(
                "select id from tenants where status = 'closed' and purge_after is not null and purge_after <= now()"
            )
        ]
    return {tenant_id: await purge(tenant_id) for tenant_id in due}
