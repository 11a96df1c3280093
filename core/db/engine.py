"""The process-wide piccolo engine and its connection pool."""

from __future__ import annotations

from typing import Any

import asyncpg


class PooledConnection(asyncpg.Connection):
    """A pool connection returned without asyncpg's session reset query.

    asyncpg runs ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` each time a
    connection goes back to the pool: one more round trip per request. carecoord keeps no
    session state on pooled connections: the tenant is ``set_config(..., true)``, settings are
    ``SET LOCAL``, locks are ``pg_advisory_xact_lock`` and cursors live in a transaction, so all of it
    ends at commit or rollback. asyncpg still rolls back a transaction left open and drops
    listeners on release; the scheduler's LISTEN and leader lock use connections of their own.
    """

    def get_reset_query(self) -> str:
        return ""


def engine() -> Any:
    """The engine of ``piccolo_conf`` (imported lazily so settings are read first)."""
    from core.db.piccolo_conf import DB

    return DB


async def start_pool(max_size: int) -> None:
    await engine().start_connection_pool(min_size=1, max_size=max_size, connection_class=PooledConnection)


async def close_pool() -> None:
    await engine().close_connection_pool()
