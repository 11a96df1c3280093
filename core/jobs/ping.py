"""``core.ping``: a diagnostic actor that proves the pipeline end to end.

``carecoord jobs ping --tenant SLUG`` enqueues one through the outbox; the relay publishes it,
a worker runs it in the tenant's transaction and writes a ``job_pings`` row. Operators use it
after a deploy; the tests use it to count effects (``fail`` lets them exercise dead-lettering).
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

from core.jobs.context import JobContext
from core.jobs.errors import PermanentError
from core.plugins.sdk import actor


class TransientPingError(Exception):
    """Raised on purpose by ``fail="transient"``: retried by the worker."""


async def ping(
    ctx: JobContext,
    note: str = "ping",
    fail: Literal["permanent", "transient"] | None = None,
    sleep_ms: int = 0,
    fail_until: str | None = None,
) -> None:
    """Record a ping; ``fail``/``fail_until`` rehearse the dead-letter and replay drill."""
    if fail_until is not None:
        try:
            until = datetime.fromisoformat(fail_until)
        except ValueError:
            raise PermanentError(f"fail_until {fail_until!r} is not an ISO 8601 time") from None
        if until.tzinfo is None:
            raise PermanentError("fail_until needs a time zone offset")
        if datetime.now(UTC) < until:
            raise TransientPingError(f"ping {note!r} fails until {fail_until}")
    if sleep_ms:
        await asyncio.sleep(min(sleep_ms, 60_000) / 1000)
    if fail == "permanent":
        raise PermanentError(f"ping {note!r} asked to fail permanently")
    if fail == "transient":
        raise TransientPingError(f"ping {note!r} asked to fail (attempt {ctx.attempt})")
    await ctx.tx.execute(
        "insert into job_pings (tenant_id, note, worker_pid) values ($1, $2, $3)",
        ctx.tenant_id,
        note[:200],
        os.getpid(),
    )


PING = actor(name="ping", queue="default", max_retries=3, min_backoff=100, max_backoff=1000, throws=(PermanentError,))(
    ping
)


async def enqueue_ping(slug: str, note: str = "ping", fail: str | None = None) -> UUID:
    """Queue a ping for the tenant ``slug`` through its outbox (what ``carecoord jobs ping`` does)."""
    from core.db.tenant import tenant_transaction
    from core.outbox.service import enqueue_message
    from core.platform import tenant_id_for

    tenant_id = await tenant_id_for(slug)
    payload: dict[str, object] = {"note": note}
    if fail:
        payload["fail"] = fail
    async with tenant_transaction(tenant_id) as tx:
        return await enqueue_message(tx, tenant_id=tenant_id, actor_name="core.ping", payload=payload)
