"""Writing a run's state where readers can see it while the build is still going.

The actor's own transaction (``ctx.tx``) commits only when the actor returns, so anything written
through it is invisible until the end. Progress, "running" and "failed" are therefore written in
*separate* short tenant transactions that commit at once. Piccolo keeps the current transaction in
a context variable and would hand a nested ``tenant_transaction`` the actor's transaction, so each
write runs in a task whose context has no current transaction: it takes its own pooled connection.

The actor's transaction never writes the run row before its final update, so these writes never
wait on it. A write that cannot get a connection in time is skipped (progress is advisory); the
outcome (done, failed) never depends on it.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from core.db.apart import run_apart
from core.db.tenant import Tx

log = logging.getLogger("carecoord.reports")
WRITE_TIMEOUT_SECONDS = 10.0


async def execute_apart(tenant_id: UUID, sql: str, *args: Any) -> str | None:
    """Run one statement in its own committed tenant transaction; None if it timed out."""

    async def execute(tx: Tx) -> str:
        return await tx.execute(sql, *args)

    try:
        return await run_apart(tenant_id, execute, seconds=WRITE_TIMEOUT_SECONDS)
    except TimeoutError:
        log.warning("report progress write for tenant %s timed out (is the worker's pool too small?)", tenant_id)
        return None


async def mark_running(tenant_id: UUID, run_id: UUID) -> None:
    await execute_apart(
        tenant_id,
        "update report_runs set status = 'running', progress = 0, started_at = now(), attempts = attempts + 1, "
        "error = null where id = $1 and status in ('queued', 'running')",
        run_id,
    )


async def set_progress(tenant_id: UUID, run_id: UUID, percent: int) -> None:
    await execute_apart(
        tenant_id,
        "update report_runs set progress = $2 where id = $1 and status = 'running' and progress < $2",
        run_id,
        max(0, min(99, percent)),
    )


async def mark_failed(tenant_id: UUID, run_id: UUID, error: str) -> None:
    await execute_apart(
        tenant_id,
        "update report_runs set status = 'failed', error = $2, finished_at = now() "
        "where id = $1 and status in ('queued', 'running')",
        run_id,
        error[:2000],
    )


async def note_retry(tenant_id: UUID, run_id: UUID, error: str) -> None:
    """A transient failure: the run stays ``running`` (the worker retries it) with the error shown."""
    await execute_apart(
        tenant_id,
        "update report_runs set error = $2 where id = $1 and status = 'running'",
        run_id,
        f"retrying after: {error}"[:2000],
    )


class ProgressMeter:
    """Turns rows fetched into a percentage and writes it only when the whole number changes."""

    QUERY_SHARE = 80
    """The query takes progress from 0 to 80; rendering and storing take the rest."""

    def __init__(self, tenant_id: UUID, run_id: UUID, total_rows: int | None) -> None:
        self.tenant_id = tenant_id
        self.run_id = run_id
        self.total_rows = total_rows
        self.chunks = 0
        self.written = 0

    def percent_after(self, rows: int) -> int:
        if self.total_rows:
            return min(self.QUERY_SHARE, rows * self.QUERY_SHARE // self.total_rows)
        # unknown total: creep towards the query's share, one step per chunk
        return min(self.QUERY_SHARE - 1, 5 * self.chunks)

    async def rows_fetched(self, rows: int) -> None:
        self.chunks += 1
        await self.at(self.percent_after(rows))

    async def at(self, percent: int) -> None:
        if percent > self.written:
            self.written = percent
            await set_progress(self.tenant_id, self.run_id, percent)
