"""Tenant-scoped transactions: the only way request code reaches tenant rows.

Every tenant table carries a restrictive row-level-security policy on
``app.tenant_id``. The setting is transaction-local (``set_config(..., true)``), so
it vanishes at commit or rollback and a pooled connection never carries a tenant
into its next use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from core.db.engine import engine

SET_TENANT_SQL = "select set_config('app.tenant_id', $1, true)"


class Tx:
    """A tenant transaction: the asyncpg connection of the current piccolo transaction."""

    __slots__ = ("connection", "modules_version", "tenant_id")

    def __init__(self, connection: Any, tenant_id: UUID | None) -> None:
        self.connection = connection
        self.tenant_id = tenant_id
        self.modules_version: int | None = None
        """The tenant's module configuration version, read with the tenant pin (None: not read)."""

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        return list(await self.connection.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        return await self.connection.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self.connection.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        result: str = await self.connection.execute(sql, *args)
        return result

    async def set_tenant(self, tenant_id: UUID) -> None:
        """Switch the transaction to ``tenant_id`` (platform flows such as sign-up)."""
        await self.connection.execute(SET_TENANT_SQL, str(tenant_id))
        self.tenant_id = tenant_id


SET_TENANT_AND_STATUS_SQL = (
    "select set_config('app.tenant_id', $1::text, true), t.status, t.modules_version "
    "from (select 1) as one left join tenants t on t.id = $1::text::uuid"
)
ACTIVE_STATUSES = frozenset({"trial", "active"})


class TenantInactiveError(Exception):
    """The tenant is suspended, closed or gone: its credentials no longer work."""


@asynccontextmanager
async def tenant_transaction(tenant_id: UUID, *, require_active: bool = False) -> AsyncIterator[Tx]:
    """Open a transaction whose first statement pins ``tenant_id``.

    With ``require_active`` the same round trip reads the tenant's status and
    raises :class:`TenantInactiveError` unless it is trial or active.
    """
    async with engine().transaction() as transaction:
        tx = Tx(transaction.connection, tenant_id)
        if require_active:
            row = await transaction.connection.fetchrow(SET_TENANT_AND_STATUS_SQL, str(tenant_id))
            if row[1] not in ACTIVE_STATUSES:
                raise TenantInactiveError(str(tenant_id))
            tx.modules_version = row[2]
        else:
            await transaction.connection.execute(SET_TENANT_SQL, str(tenant_id))
        yield tx


@asynccontextmanager
async def platform_transaction() -> AsyncIterator[Tx]:
    """A transaction with no tenant: sees only platform tables (``tenants``).

    Used by sign-up and login, which must find a tenant before they can pin it.
    """
    async with engine().transaction() as transaction:
        yield Tx(transaction.connection, None)
