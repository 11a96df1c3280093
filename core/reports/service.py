"""Report runs for the API: start one (row + outbox message in the request's transaction), read them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from core.audit.service import record
from core.db.cursors import decode_cursor, encode_cursor
from core.http.context import RequestContext
from core.outbox.service import enqueue_message
from core.plugins.records import ReportSpec
from core.reports.actors import ACTOR_NAME, QUEUE
from core.reports.render import Format
from core.reports.schemas import ReportRun, ReportRunPage

_COLUMNS = (
    "id, report, format, params, status, progress, rows, file_size, file_key, content_type, requested_by, "
    "created_at, started_at, finished_at, expires_at, error, email_to"
)


def _requester(ctx: RequestContext) -> UUID | None:
    return None if ctx.principal.kind == "system" else ctx.principal.actor_id


def effective_status(row: Any, now: datetime | None = None) -> str:
    """A done run whose expiry has passed is expired, whether or not the purge has run yet."""
    now = now or datetime.now(UTC)
    if row["status"] == "done" and row["expires_at"] is not None and row["expires_at"] <= now:
        return "expired"
    return str(row["status"])


def to_run(row: Any) -> ReportRun:
    status = effective_status(row)
    params = row["params"]
    return ReportRun(
        id=row["id"],
        report=row["report"],
        format=row["format"],
        params=msgspec.json.decode(params) if isinstance(params, str) else dict(params),
        status=status,  # type: ignore[arg-type]
        progress=row["progress"],
        rows=row["rows"],
        file_size=row["file_size"],
        content_type=row["content_type"],
        requested_by=row["requested_by"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        expires_at=row["expires_at"],
        error=row["error"],
        file_url=f"/api/v1/reports/runs/{row['id']}/file" if status == "done" else None,
        email_to=list(row["email_to"] or []),
    )


async def start_run(
    ctx: RequestContext,
    spec: ReportSpec,
    file_format: Format,
    params: dict[str, Any],
    email_to: Sequence[UUID] = (),
) -> ReportRun:
    """Insert the run and its ``reports.build`` message in the request's transaction: both or neither.

    ``email_to``: users the built file is e-mailed to (checked by the caller with
    :func:`core.reports.recipients.recipient_problems`;
    the build checks again, when it sends).
    """
    row = await ctx.tx.fetchrow(
        f"insert into report_runs (tenant_id, report, format, params, requested_by, email_to) "
        f"values ($1, $2, $3, $4::jsonb, $5, $6::uuid[]) returning {_COLUMNS}",
        ctx.tenant_id,
        spec.full_name,
        file_format,
        msgspec.json.encode(params).decode(),
        _requester(ctx),
        list(dict.fromkeys(email_to)),
    )
    run_id: UUID = row["id"]
    await enqueue_message(
        ctx.tx,
        tenant_id=ctx.tenant_id,
        actor_name=ACTOR_NAME,
        payload={"run_id": str(run_id)},
        queue=QUEUE,
        idempotency_key=f"{ACTOR_NAME}:{run_id}",
    )
    await _audit(ctx, "report.requested", run_id, spec.full_name, file_format, list(row["email_to"]))
    return to_run(row)


async def read_run_row(ctx: RequestContext, run_id: UUID) -> Any:
    return await ctx.tx.fetchrow(f"select {_COLUMNS} from report_runs where id = $1", run_id)


async def list_runs(
    ctx: RequestContext, *, report: str | None, limit: int, cursor: str | None, mine: bool
) -> ReportRunPage:
    """Newest first; ``mine`` keeps the caller's own runs."""
    after = decode_cursor(cursor) if cursor else None
    rows = await ctx.tx.fetch(
        f"""select {_COLUMNS} from report_runs
            where ($1::text is null or report = $1)
              and ($2::uuid is null or requested_by = $2)
              and ($3::timestamptz is null or (created_at, id) < ($3, $4::uuid))
            order by created_at desc, id desc limit $5""",
        report,
        _requester(ctx) if mine else None,
        after[0] if after else None,
        after[1] if after else None,
        limit + 1,
    )
    items = [to_run(row) for row in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1]["created_at"], rows[limit - 1]["id"]) if len(rows) > limit else None
    return ReportRunPage(items=items, next_cursor=next_cursor)


async def _audit(
    ctx: RequestContext, action: str, run_id: UUID, report: str, file_format: str, email_to: Sequence[UUID] = ()
) -> None:
    details: dict[str, Any] = {"report": report, "format": file_format}
    if email_to:
        details["email_to"] = [str(user_id) for user_id in email_to]
    await record(ctx, action=action, resource_type="report_run", resource_id=run_id, details=details)


async def audit_download(ctx: RequestContext, run_id: UUID, report: str, file_format: str) -> None:
    await _audit(ctx, "report.downloaded", run_id, report, file_format)
