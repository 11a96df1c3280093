"""``GET /api/v1/audit-events``: the tenant's audit trail, for its administrators."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, get
from litestar.di import Provide
from litestar.params import Parameter

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
        resource_type: Annotated[str | None, Parameter(max_length=64)] = None,
        actor_id: UUID | None = None,
        action: Annotated[str | None, Parameter(max_length=64)] = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_seq: Annotated[int | None, Parameter(ge=1)] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> AuditEventPage:
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
        if before_seq is not None:
            flt.add("seq < {}", before_seq)
        flt.args.append(limit + 1)
        rows = await ctx.tx.fetch(
            "select id, seq, occurred_at, actor_type, actor_id, action, resource_type, resource_id, ip, "
            f"request_id, details from audit_events where {' and '.join(flt.clauses)} "
            f"order by seq desc limit ${len(flt.args)}",
            *flt.args,
        )
        page = rows[:limit]
        items = [AuditEventOut(**{**dict(r), "details": msgspec.json.decode(r["details"])}) for r in page]
        return AuditEventPage(items=items, next_cursor=page[-1]["seq"] if len(rows) > limit else None)
