"""Computing several metrics at once, each in a transaction of its own on another pooled connection.

A dashboard is some twenty independent read-only statements; run one after the other on the
request's connection they add up, while PostgreSQL could run them side by side. Each runs in a task
whose piccolo "current transaction" is cleared, so ``tenant_transaction`` takes a fresh connection
and pins the same tenant (row-level security applies exactly as on the request's).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from core.db.engine import engine
from core.db.tenant import tenant_transaction
from core.plugins.sdk import PluginContext

T = TypeVar("T")


async def in_own_transaction(plugin: PluginContext, work: Callable[[PluginContext], Awaitable[T]]) -> T:
    """``work`` with a context like ``plugin``'s but its own transaction (call it in a task of its own)."""
    engine().current_transaction.set(None)  # this task's copy of the context only
    async with tenant_transaction(plugin.tenant_id) as tx:
        return await work(
            PluginContext(
                module=plugin.module,
                tx=tx,
                principal=plugin.principal,
                settings=plugin.settings,
                ip=plugin.ip,
                request_id=plugin.request_id,
                plugins=plugin.plugins,
            )
        )
