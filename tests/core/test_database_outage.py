"""A connection PostgreSQL drops mid-transaction costs that request a 503 (``DatabaseUnavailableError``),
not a pool slot. (``tests/faults/`` crashes PostgreSQL under HTTP load and sees 503s, never a 500.)

PostgreSQL ends a backend when it restarts, crashes or an operator terminates it; here an operator does
(``pg_terminate_backend``), once per transaction, more times than the pool has connections. Piccolo
alone kept the connection of a transaction whose rollback failed, so the pool ran dry after that many
broken requests and every later one waited forever.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from core.db.tenant import DatabaseUnavailableError, tenant_transaction
from core.settings import get_settings
from tests.conftest import Org


async def _transaction_cut_off(tenant_id: Any, owner_dsn: str) -> None:
    async with tenant_transaction(tenant_id) as tx:
        pid = await tx.fetchval("select pg_backend_pid()")
        owner = await asyncpg.connect(owner_dsn)
        try:
            await owner.execute("select pg_terminate_backend($1)", pid)
        finally:
            await owner.close()
        await tx.fetchval("select count(*) from patients")


async def _count_patients(tenant_id: Any) -> int:
    async with tenant_transaction(tenant_id) as tx:
        return int(await tx.fetchval("select count(*) from patients"))


async def test_a_connection_cut_mid_transaction_is_a_503_and_gives_its_pool_slot_back(
    client: Any, org: Org, app_loop: Any, test_services: Any
) -> None:
    for _ in range(get_settings().db_pool_max_size + 5):
        with pytest.raises(DatabaseUnavailableError):
            await app_loop(_transaction_cut_off, org.tenant_id, test_services.database_url)
    # every slot came back: a normal transaction still gets a connection at once
    assert await asyncio.wait_for(app_loop(_count_patients, org.tenant_id), 10) == 0


def test_an_outage_met_by_a_dependency_cleanup_is_a_503_and_anything_else_a_500() -> None:
    """litestar wraps what a dependency's cleanup raised (the rollback on a dead connection) in an
    ExceptionGroup caused by the handler's error; the fault test met exactly this as a 500 before."""
    from core.http.problems import _from_group

    def grouped(handler_error: Exception, cleanup_error: Exception) -> ExceptionGroup[Exception]:
        try:
            raise ExceptionGroup(
                "Exceptions occurred during cleanup of dependencies", [cleanup_error]
            ) from handler_error
        except ExceptionGroup as group:
            return group

    lost = asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")
    rollback = asyncpg.InterfaceError("cannot call Transaction.rollback(): the underlying connection is closed")
    outage = _from_group(grouped(lost, rollback))
    assert outage.status_code == 503
    assert outage.headers == {"Retry-After": "1"}
    assert _from_group(grouped(lost, DatabaseUnavailableError("broke"))).status_code == 503
    assert _from_group(grouped(ValueError("a bug"), RuntimeError("another"))).status_code == 500
