"""Chart entries, and the one chronological timeline that merges core records and plugins' items."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from core.audit.service import record
from core.care.timeline.schemas import ChartEntryCreate, ChartEntryOut, ChartEntryUpdate, TimelineItem
from core.http.context import RequestContext
from core.http.partial import changed_fields

COLUMNS = "id, patient_id, kind, occurred_at, title, body, source, author_id, entered_in_error, created_at, updated_at"


def to_entry(row: Any) -> ChartEntryOut:
    return ChartEntryOut(**dict(row))


async def add_entry(ctx: RequestContext, patient_id: UUID, data: ChartEntryCreate) -> ChartEntryOut:
    author = ctx.principal.actor_id if ctx.principal.kind == "user" else None
    row = await ctx.tx.fetchrow(
        f"insert into chart_entries (tenant_id, patient_id, kind, occurred_at, title, body, source, author_id) "
        f"values ($1, $2, $3, $4, $5, $6, $7, $8) returning {COLUMNS}",
        ctx.tenant_id,
        patient_id,
        data.kind,
        data.occurred_at,
        data.title,
        data.body,
        data.source,
        author,
    )
    await record(ctx, "chart_entry.create", "chart_entry", row["id"], {"patient_id": str(patient_id)})
    return to_entry(row)


async def list_entries(ctx: RequestContext, patient_id: UUID) -> list[ChartEntryOut]:
    rows = await ctx.tx.fetch(
        f"select {COLUMNS} from chart_entries where patient_id = $1 order by occurred_at desc, id", patient_id
    )
    await record(ctx, "chart_entry.list", "patient", patient_id, {"resource_ids": [str(r["id"]) for r in rows]})
    return [to_entry(r) for r in rows]


async def read_entry(ctx: RequestContext, patient_id: UUID, entry_id: UUID) -> ChartEntryOut | None:
    row = await ctx.tx.fetchrow(
        f"select {COLUMNS} from chart_entries where id = $1 and patient_id = $2", entry_id, patient_id
    )
    if row is None:
        return None
    await record(ctx, "chart_entry.read", "chart_entry", entry_id, {"patient_id": str(patient_id)})
    return to_entry(row)


async def update_entry(
    ctx: RequestContext, patient_id: UUID, entry_id: UUID, data: ChartEntryUpdate
) -> ChartEntryOut | None:
    changes = changed_fields(data)
    sets = "".join(f"{name} = ${i}, " for i, name in enumerate(changes, start=3))
    row = await ctx.tx.fetchrow(
        f"update chart_entries set {sets}updated_at = now() where id = $1 and patient_id = $2 returning {COLUMNS}",
        entry_id,
        patient_id,
        *changes.values(),
    )
    if row is None:
        return None
    await record(
        ctx, "chart_entry.update", "chart_entry", entry_id, {"patient_id": str(patient_id), "fields": sorted(changes)}
    )
    return to_entry(row)


# Core's own sources for the timeline: (resource type, SQL). Each query takes $1 patient id,
# $2 since, $3 until and returns occurred_at, kind, title, summary, resource_id.
_CORE_SOURCES: list[tuple[str, str]] = [
    (
        "chart_entry",
        "select occurred_at, kind, title, source as summary, id as resource_id from chart_entries "
        "where patient_id = $1 and not entered_in_error and occurred_at >= $2 and occurred_at < $3",
    ),
    (
        "patient_consent",
        "select granted_at as occurred_at, 'consent_granted' as kind, "
        "'Consent granted: ' || coalesce(channel, 'sharing') as title, note as summary, id as resource_id "
        "from patient_consents where patient_id = $1 and granted_at >= $2 and granted_at < $3 "
        "union all select revoked_at, 'consent_revoked', 'Consent revoked: ' || coalesce(channel, 'sharing'), "
        "null, id from patient_consents where patient_id = $1 and revoked_at >= $2 and revoked_at < $3",
    ),
    (
        "appointment",
        "select start_at as occurred_at, 'appointment_' || replace(status, '-', '_') as kind, "
        "coalesce(reason, 'Appointment') as title, location as summary, id as resource_id from appointments "
        "where patient_id = $1 and status <> 'entered-in-error' and start_at >= $2 and start_at < $3",
    ),
    (
        "task",
        "select coalesce(completed_at, created_at) as occurred_at, "
        "case when completed_at is null then 'task_opened' else 'task_completed' end as kind, "
        "title, business_status as summary, id as resource_id from tasks "
        "where patient_id = $1 and status <> 'entered-in-error' "
        "and coalesce(completed_at, created_at) >= $2 and coalesce(completed_at, created_at) < $3",
    ),
    (
        "care_plan",
        "select created_at as occurred_at, 'care_plan_created' as kind, title, status as summary, "
        "id as resource_id from care_plans "
        "where patient_id = $1 and status <> 'entered-in-error' and created_at >= $2 and created_at < $3",
    ),
]


async def timeline(
    ctx: RequestContext, patient_id: UUID, since: datetime, until: datetime, limit: int
) -> list[TimelineItem]:
    """Core records and enabled plugins' items for the patient, newest first."""
    items: list[TimelineItem] = []
    for resource_type, sql in _CORE_SOURCES:
        for row in await ctx.tx.fetch(sql, patient_id, since, until):
            items.append(TimelineItem(resource_type=resource_type, **dict(row)))
    for module, contributed in await ctx.collect("timeline_items", patient_id=patient_id, since=since, until=until):
        for item in contributed or ():
            if isinstance(item, TimelineItem) and since <= item.occurred_at < until:
                items.append(TimelineItem(**{**_fields(item), "module": module}))
    items.sort(key=lambda item: item.occurred_at, reverse=True)
    page = items[:limit]
    await record(
        ctx,
        "patient.timeline",
        "patient",
        patient_id,
        {"count": len(page), "modules": sorted({i.module for i in page})},
    )
    return page


def _fields(item: TimelineItem) -> dict[str, Any]:
    return {name: getattr(item, name) for name in item.__struct_fields__}
