"""Short tenant transactions of their own, committed at once, from inside another transaction.

Used by jobs whose state must be visible while they run (a report's progress, a notification
claimed before its e-mail goes out), since the job's own transaction commits only at its end.

Piccolo keeps the current transaction in a context variable, so a ``tenant_transaction`` opened
inside the actor would join the actor's transaction instead of committing on its own. Running
it in a task whose context has no current transaction gives it its own pooled connection.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import TypeVar
from uuid import UUID

from core.db.engine import engine
from core.db.tenant import Tx, tenant_transaction

T = TypeVar("T")
TIMEOUT_SECONDS = 30.0


async def _run(tenant_id: UUID, work: Callable[[Tx], Awaitable[T]]) -> T:
    async with tenant_transaction(tenant_id) as tx:
        return await work(tx)


async def run_apart(tenant_id: UUID, work: Callable[[Tx], Awaitable[T]], *, seconds: float = TIMEOUT_SECONDS) -> T:
    """``await work(tx)`` in a separate transaction of ``tenant_id`` that commits when it returns.

    Raises ``TimeoutError`` when no connection came free in ``seconds`` (a pool too small
    for the worker's threads).
    """
    context = contextvars.copy_context()
    context.run(engine().current_transaction.set, None)
    task = asyncio.get_running_loop().create_task(_run(tenant_id, work), context=context)
    return await asyncio.wait_for(task, seconds)
