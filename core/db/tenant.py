"""Tenant-scoped transactions: the only way request code reaches tenant rows.

Every tenant table carries a restrictive row-level-security policy on
``app.tenant_id``. The setting is transaction-local (``set_config(..., true)``), so
it vanishes at commit or rollback and a pooled connection never carries a tenant
into its next use.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import asyncpg

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


class DatabaseUnavailableError(ConnectionError):
    """PostgreSQL could not be reached, or the connection broke mid-transaction: a 503, safe to retry."""


CONNECTION_LOST: tuple[type[BaseException], ...] = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError)
"""What asyncpg raises when there is no server or no connection any more (a unix socket that is gone gives
``FileNotFoundError``; using a connection that died, ``InterfaceError``)."""


@asynccontextmanager
async def _transaction() -> AsyncIterator[Any]:
    """Piccolo's transaction, made safe for a connection that breaks.

    Piccolo releases the connection and resets its current-transaction variable only when its commit or
    rollback succeeds; on a connection PostgreSQL just dropped they raise, and the pool slot would be
    lost for good. Here the connection goes back to the pool whatever happens, and a lost connection is
    reported as :class:`DatabaseUnavailableError`.
    """
    transaction = engine().transaction()
    try:
        entered = await transaction.__aenter__()
    except OSError as exc:
        raise DatabaseUnavailableError(f"PostgreSQL is unreachable: {exc}") from exc
    if entered is not transaction:  # nested: the outer transaction owns the connection
        yield entered
        return
    try:
        yield entered
    except BaseException as exc:
        await _exit(transaction, exc)
        raise
    await _exit(transaction, None)


async def _exit(transaction: Any, exc: BaseException | None) -> None:
    """Piccolo's exit (a rollback after ``exc``, else the commit), the connection released whatever happens."""
    try:
        if exc is None:
            await transaction.__aexit__(None, None, None)
        else:
            await transaction.__aexit__(type(exc), exc, exc.__traceback__)
    except CONNECTION_LOST as lost:
        await _release(transaction)
        raise DatabaseUnavailableError("the connection to PostgreSQL broke mid-transaction") from lost
    except BaseException:
        await _release(transaction)
        raise


async def _release(transaction: Any) -> None:
    """What piccolo's ``__aexit__`` skipped when its commit or rollback raised."""
    with contextlib.suppress(ValueError, RuntimeError):
        engine().current_transaction.reset(transaction.context)
    pool = engine().pool
    with contextlib.suppress(Exception):
        if pool is not None:
            await pool.release(transaction.connection)
        else:
            await transaction.connection.close()


SNAPSHOT_SQL = "set transaction isolation level repeatable read, read only"


@asynccontextmanager
async def tenant_transaction(
    tenant_id: UUID, *, require_active: bool = False, snapshot: bool = False
) -> AsyncIterator[Tx]:
    """Open a transaction whose first statement pins ``tenant_id``.

    With ``require_active`` the same round trip reads the tenant's status and
    raises :class:`TenantInactiveError` unless it is trial or active. With ``snapshot`` the transaction
    is read-only and every statement sees the database as it was at its first one (REPEATABLE READ):
    for reads that must be consistent across many statements, such as an export.
    """
    async with _transaction() as transaction:
        tx = Tx(transaction.connection, tenant_id)
        if snapshot:
            await transaction.connection.execute(SNAPSHOT_SQL)
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
    async with _transaction() as transaction:
        yield Tx(transaction.connection, None)
