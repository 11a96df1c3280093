"""``GET /api/v1/audit-events`` and its CSV export: the tenant's audit trail, for its administrators."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Response, get
from litestar.di import Provide
from litestar.params import Parameter

from core.audit.service import record
from core.auth.guards import requires_permission
from core.auth.permissions import Permission
from core.db.filters import Filter
from core.http.context import RequestContext, provide_context


class AuditEventOut(msgspec.Struct, kw_only=True):
    id: UUID
    seq: int
    occurred_at: datetime
    actor_type: str
    actor_id: UUID | None
    action: str
    resource_type: str
    resource_id: UUID | None
    ip: str | None
    request_id: str | None
    details: dict[str, Any]


class AuditEventPage(msgspec.Struct, kw_only=True):
    items: list[AuditEventOut]
    next_cursor: int | None
    """Pass as ``before_seq`` for older events; null when there are none."""


EXPORT_MAX_ROWS = 50_000
EXPORT_COLUMNS = (
    "seq",
    "occurred_at",
    "actor_type",
    "actor_id",
    "action",
    "resource_type",
    "resource_id",
    "ip",
    "request_id",
    "details",
)
_SELECT = (
    "select id, seq, occurred_at, actor_type, actor_id, action, resource_type, resource_id, ip, request_id, details "
    "from audit_events"
)


def _filter(
    resource_id: UUID | None,
    resource_type: str | None,
    actor_id: UUID | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Filter:
    flt = Filter()
    flt.clauses.append("true")
    for column, value in (
        ("resource_id", resource_id),
        ("resource_type", resource_type),
        ("actor_id", actor_id),
        ("action", action),
    ):
        if value is not None:
            flt.add(f"{column} = {{}}", value)
    if since is not None:
        flt.add("occurred_at >= {}", since)
    if until is not None:
        flt.add("occurred_at < {}", until)
    return flt


def _csv_cell(value: Any) -> str:
    """A cell as text; a text starting like a spreadsheet formula gets a leading quote (CSV injection)."""
    text = "" if value is None else value.isoformat() if isinstance(value, datetime) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(rows: list[Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow([_csv_cell(row[column]) for column in EXPORT_COLUMNS])
    return out.getvalue().encode()


ResourceType = Annotated[str | None, Parameter(max_length=64)]
Action = Annotated[str | None, Parameter(max_length=64)]


class AuditController(Controller):
    path = "/api/v1/audit-events"
    tags = ["audit"]
    dependencies = {"ctx": Provide(provide_context)}
    guards = [requires_permission(Permission.AUDIT_READ)]

    @get("/", summary="Audit events, newest first")
    async def list_events(
        self,
        ctx: RequestContext,
        resource_id: UUID | None = None,
        resource_type: ResourceType = None,
        actor_id: UUID | None = None,
        action: Action = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_seq: Annotated[int | None, Parameter(ge=1)] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> AuditEventPage:
        flt = _filter(resource_id, resource_type, actor_id, action, since, until)
        if before_seq is not None:
            flt.add("seq < {}", before_seq)
        flt.args.append(limit + 1)
        rows = await ctx.tx.fetch(
            f"{_SELECT} where {' and '.join(flt.clauses)} order by seq desc limit ${len(flt.args)}", *flt.args
        )
        page = rows[:limit]
        items = [AuditEventOut(**{**dict(r), "details": msgspec.json.decode(r["details"])}) for r in page]
        return AuditEventPage(items=items, next_cursor=page[-1]["seq"] if len(rows) > limit else None)

    @get(
        "/export",
        media_type="text/csv",
        summary="Audit events as a CSV file (same filters, newest first, at most 50,000 rows)",
    )
    async def export_events(
        self,
        ctx: RequestContext,
        resource_id: UUID | None = None,
        resource_type: ResourceType = None,
        actor_id: UUID | None = None,
        action: Action = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Response[bytes]:
        """Columns: seq, occurred_at, actor_type, actor_id, action, resource_type, resource_id, ip, request_id,
        details (JSON). More matching events than the cap: the newest are exported and ``X-Export-Truncated``
        says so. The export itself is audited (``audit.export``, with its filters)."""
        flt = _filter(resource_id, resource_type, actor_id, action, since, until)
        flt.args.append(EXPORT_MAX_ROWS + 1)
        rows = await ctx.tx.fetch(
            f"{_SELECT} where {' and '.join(flt.clauses)} order by seq desc limit ${len(flt.args)}", *flt.args
        )
        truncated = len(rows) > EXPORT_MAX_ROWS
        rows = rows[:EXPORT_MAX_ROWS]
        filters = {
            name: str(value) if isinstance(value, UUID) else value.isoformat() if isinstance(value, datetime) else value
            for name, value in (
                ("resource_id", resource_id),
                ("resource_type", resource_type),
                ("actor_id", actor_id),
                ("action", action),
                ("since", since),
                ("until", until),
            )
            if value is not None
        }
        await record(ctx, "audit.export", "audit_event", None, {"filters": filters, "rows": len(rows)})
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        headers = {"Content-Disposition": f'attachment; filename="audit-events-{stamp}.csv"'}
        if truncated:
            headers["X-Export-Truncated"] = "true"
        return Response(to_csv(rows), media_type="text/csv", headers=headers)  # litestar adds "; charset=utf-8"
