"""Coverages of a patient, with a history of every change, inside the request's tenant transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from core.plugins.sdk import PluginContext
from plugins.insurance.coverage.schemas import (
    Coverage,
    CoverageChange,
    CoverageCreate,
    CoverageUpdate,
    EligibilityState,
    PayerRef,
    Subscriber,
    check_period,
    check_subscriber,
)
from plugins.insurance.eligibility.requests import request_check
from plugins.insurance.settings import InsuranceSettings

COLUMNS = (
    "c.id, c.patient_id, c.payer_id, p.name as payer_name, p.payer_code, c.member_id, c.group_number, c.plan_name, "
    "c.coverage_order, c.relationship, c.subscriber_given_name, c.subscriber_family_name, c.subscriber_birth_date, "
    "c.effective_from, c.effective_to, c.retired_at, c.created_at, c.updated_at, "
    "e.id as check_id, e.status as check_status, e.checked_at"
)
FROM = (
    "coverages c join insurance_payers p on p.id = c.payer_id left join lateral (select id, status, checked_at "
    "from eligibility_checks x where x.coverage_id = c.id order by x.requested_at desc, x.id limit 1) e on true"
)
FIELDS = {
    "payer_id": "payer_id",
    "member_id": "member_id",
    "group_number": "group_number",
    "plan_name": "plan_name",
    "order": "coverage_order",
    "relationship": "relationship",
    "effective_from": "effective_from",
    "effective_to": "effective_to",
}
ASKED_AGAIN = frozenset({"payer_id", "member_id", "group_number", "relationship", "subscriber"})
"""Changes that make the last eligibility answer meaningless: a new check is queued."""


class UnknownReferenceError(Exception):
    def __init__(self, field: str, what: str) -> None:
        super().__init__(field)
        self.field = field
        self.what = what


class OverlapError(Exception):
    """Another coverage of the same order covers part of the same period."""

    def __init__(self, other_id: UUID, order: str) -> None:
        super().__init__(str(other_id))
        self.other_id = other_id
        self.order = order


class InvalidCoverageError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def settings_of(ctx: PluginContext) -> InsuranceSettings:
    settings = ctx.settings
    return settings if isinstance(settings, InsuranceSettings) else InsuranceSettings()


def eligibility_state(row: Any, fresh_days: int, now: datetime) -> EligibilityState:
    status = row["check_status"] or "unverified"
    checked_at = row["checked_at"]
    stale = (
        status in ("unverified", "queued", "failed")
        or checked_at is None
        or checked_at < now - timedelta(days=fresh_days)
        or checked_at < row["updated_at"]
    )
    return EligibilityState(status=status, check_id=row["check_id"], checked_at=checked_at, stale=stale)


def to_coverage(row: Any, fresh_days: int, now: datetime | None = None) -> Coverage:
    subscriber = None
    if row["subscriber_given_name"] is not None:
        subscriber = Subscriber(
            given_name=row["subscriber_given_name"],
            family_name=row["subscriber_family_name"],
            birth_date=row["subscriber_birth_date"],
        )
    return Coverage(
        id=row["id"],
        patient_id=row["patient_id"],
        payer=PayerRef(id=row["payer_id"], name=row["payer_name"], payer_code=row["payer_code"]),
        member_id=row["member_id"],
        group_number=row["group_number"],
        plan_name=row["plan_name"],
        order=row["coverage_order"],
        relationship=row["relationship"],
        subscriber=subscriber,
        effective_from=row["effective_from"],
        effective_to=row["effective_to"],
        retired_at=row["retired_at"],
        eligibility=eligibility_state(row, fresh_days, now or datetime.now(UTC)),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def _fetch(ctx: PluginContext, coverage_id: UUID) -> Any:
    return await ctx.tx.fetchrow(f"select {COLUMNS} from {FROM} where c.id = $1", coverage_id)


async def _check_references(ctx: PluginContext, patient_id: UUID | None, payer_id: UUID | None) -> None:
    if patient_id is not None and not await ctx.tx.fetchval(
        "select exists (select 1 from patients where id = $1 and deleted_at is null)", patient_id
    ):
        raise UnknownReferenceError("patient_id", "patient")
    if payer_id is not None and not await ctx.tx.fetchval(
        "select exists (select 1 from insurance_payers where id = $1 and active)", payer_id
    ):
        raise UnknownReferenceError("payer_id", "payer in the directory")


async def _check_overlap(
    ctx: PluginContext, patient_id: UUID, order: str, start: date, end: date | None, own_id: UUID | None
) -> None:
    """One coverage per order at a time; the patient's row is locked so two requests cannot both pass."""
    await ctx.tx.execute("select 1 from patients where id = $1 for update", patient_id)
    other = await ctx.tx.fetchval(
        "select id from coverages where patient_id = $1 and coverage_order = $2 and retired_at is null "
        "and ($5::uuid is null or id <> $5) and daterange(effective_from, effective_to, '[]') "
        "&& daterange($3::date, $4::date, '[]') limit 1",
        patient_id,
        order,
        start,
        end,
        own_id,
    )
    if other is not None:
        raise OverlapError(other, order)


async def _log(ctx: PluginContext, coverage_id: UUID, action: str, changes: dict[str, Any]) -> None:
    await ctx.tx.execute(
        "insert into coverage_changes (tenant_id, coverage_id, action, changes, actor_type, actor_id) "
        "values ($1, $2, $3, $4::jsonb, $5, $6)",
        ctx.tenant_id,
        coverage_id,
        action,
        msgspec.json.encode(changes).decode(),
        ctx.principal.kind,
        None if ctx.principal.kind == "system" else ctx.principal.actor_id,
    )


async def create_coverage(ctx: PluginContext, data: CoverageCreate) -> Coverage:
    await _check_references(ctx, data.patient_id, data.payer_id)
    await _check_overlap(ctx, data.patient_id, data.order, data.effective_from, data.effective_to, None)
    subscriber = data.subscriber if data.relationship != "self" else None
    coverage_id = await ctx.tx.fetchval(
        "insert into coverages (tenant_id, patient_id, payer_id, member_id, group_number, plan_name, coverage_order, "
        "relationship, subscriber_given_name, subscriber_family_name, subscriber_birth_date, effective_from, "
        "effective_to, created_by) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) returning id",
        ctx.tenant_id,
        data.patient_id,
        data.payer_id,
        data.member_id,
        data.group_number,
        data.plan_name,
        data.order,
        data.relationship,
        subscriber.given_name if subscriber else None,
        subscriber.family_name if subscriber else None,
        subscriber.birth_date if subscriber else None,
        data.effective_from,
        data.effective_to,
        ctx.principal.actor_id,
    )
    record = msgspec.to_builtins(data)
    record.pop("tenant_id", None)
    await _log(ctx, coverage_id, "created", record)
    await ctx.audit("insurance.coverage_create", "coverage", coverage_id, {"patient_id": str(data.patient_id)})
    await request_check(ctx, coverage_id, data.patient_id, "coverage", as_of=_today_within(data))
    return to_coverage(await _fetch(ctx, coverage_id), settings_of(ctx).eligibility_fresh_days)


def _today_within(data: CoverageCreate) -> date:
    """Ask about today, or the first covered day when the coverage starts later."""
    return max(datetime.now(UTC).date(), data.effective_from)


async def get_coverage(ctx: PluginContext, coverage_id: UUID) -> Coverage | None:
    row = await _fetch(ctx, coverage_id)
    if row is None:
        return None
    await ctx.audit("insurance.coverage_read", "coverage", coverage_id, {"patient_id": str(row["patient_id"])})
    return to_coverage(row, settings_of(ctx).eligibility_fresh_days)


async def list_coverages(ctx: PluginContext, patient_id: UUID, *, include_retired: bool) -> list[Coverage] | None:
    """A patient's coverages, primary first; None when the patient is not this organization's."""
    if not await ctx.tx.fetchval("select exists (select 1 from patients where id = $1)", patient_id):
        return None
    rows = await ctx.tx.fetch(
        f"select {COLUMNS} from {FROM} where c.patient_id = $1 and ($2 or c.retired_at is null) "
        "order by c.retired_at nulls first, array_position(array['primary','secondary','tertiary'], "
        "c.coverage_order::text), c.effective_from desc, c.id",
        patient_id,
        include_retired,
    )
    await ctx.audit(
        "insurance.coverage_list", "patient", patient_id, {"patient_id": str(patient_id), "count": len(rows)}
    )
    fresh = settings_of(ctx).eligibility_fresh_days
    return [to_coverage(r, fresh) for r in rows]


def _jsonable(value: Any) -> Any:
    return msgspec.to_builtins(value)


async def update_coverage(ctx: PluginContext, coverage_id: UUID, data: CoverageUpdate) -> Coverage | None:
    row = await ctx.tx.fetchrow(f"select {COLUMNS} from {FROM} where c.id = $1 for update of c", coverage_id)
    if row is None:
        return None
    if row["retired_at"] is not None:
        raise InvalidCoverageError("retired_at", "a retired coverage cannot be changed; add a new one")
    current = to_coverage(row, settings_of(ctx).eligibility_fresh_days)
    given = {f: getattr(data, f) for f in data.__struct_fields__ if f != "tenant_id"}
    given = {f: v for f, v in given.items() if v is not msgspec.UNSET}
    before = {
        "payer_id": current.payer.id, "member_id": current.member_id, "group_number": current.group_number,
        "plan_name": current.plan_name, "order": current.order, "relationship": current.relationship,
        "subscriber": current.subscriber, "effective_from": current.effective_from,
        "effective_to": current.effective_to,
    }  # fmt: skip
    after = {**before, **given}
    if after["relationship"] == "self":
        after["subscriber"] = None
    changed = {f: [_jsonable(before[f]), _jsonable(after[f])] for f in before if before[f] != after[f]}
    if not changed:
        return current
    try:
        check_period(after["effective_from"], after["effective_to"])
        check_subscriber(after["relationship"], after["subscriber"])
    except ValueError as exc:
        field = "effective_to" if "effective" in str(exc) else "subscriber"
        raise InvalidCoverageError(field, str(exc)) from None
    await _check_references(ctx, None, given.get("payer_id"))
    if {"order", "effective_from", "effective_to"} & changed.keys():
        await _check_overlap(
            ctx, current.patient_id, after["order"], after["effective_from"], after["effective_to"], coverage_id
        )
    subscriber: Subscriber | None = after["subscriber"]
    await ctx.tx.execute(
        "update coverages set payer_id = $2, member_id = $3, group_number = $4, plan_name = $5, coverage_order = $6, "
        "relationship = $7, subscriber_given_name = $8, subscriber_family_name = $9, subscriber_birth_date = $10, "
        "effective_from = $11, effective_to = $12, updated_at = now() where id = $1",
        coverage_id,
        after["payer_id"],
        after["member_id"],
        after["group_number"],
        after["plan_name"],
        after["order"],
        after["relationship"],
        subscriber.given_name if subscriber else None,
        subscriber.family_name if subscriber else None,
        subscriber.birth_date if subscriber else None,
        after["effective_from"],
        after["effective_to"],
    )
    await _log(ctx, coverage_id, "updated", changed)
    details = {"patient_id": str(current.patient_id), "fields": sorted(changed)}
    await ctx.audit("insurance.coverage_update", "coverage", coverage_id, details)
    if ASKED_AGAIN & changed.keys():
        as_of = max(datetime.now(UTC).date(), after["effective_from"])
        await request_check(ctx, coverage_id, current.patient_id, "coverage", as_of=as_of)
    return to_coverage(await _fetch(ctx, coverage_id), settings_of(ctx).eligibility_fresh_days)


async def retire_coverage(ctx: PluginContext, coverage_id: UUID) -> Coverage | None:
    """The coverage leaves the chart (kept, with its history and checks); idempotent."""
    row = await ctx.tx.fetchrow(
        "update coverages set retired_at = coalesce(retired_at, now()), updated_at = now() where id = $1 "
        "returning patient_id, (xmax = 0) as fresh",
        coverage_id,
    )
    if row is None:
        return None
    await _log(ctx, coverage_id, "retired", {})
    await ctx.audit("insurance.coverage_retire", "coverage", coverage_id, {"patient_id": str(row["patient_id"])})
    return to_coverage(await _fetch(ctx, coverage_id), settings_of(ctx).eligibility_fresh_days)


async def coverage_history(ctx: PluginContext, coverage_id: UUID) -> list[CoverageChange] | None:
    patient_id = await ctx.tx.fetchval("select patient_id from coverages where id = $1", coverage_id)
    if patient_id is None:
        return None
    rows = await ctx.tx.fetch(
        "select id, action, changes, actor_type, actor_id, occurred_at from coverage_changes "
        "where coverage_id = $1 order by occurred_at, id",
        coverage_id,
    )
    await ctx.audit("insurance.coverage_history", "coverage", coverage_id, {"patient_id": str(patient_id)})
    return [
        CoverageChange(
            id=r["id"],
            action=r["action"],
            changes=msgspec.json.decode(r["changes"]) if isinstance(r["changes"], str) else dict(r["changes"]),
            actor_type=r["actor_type"],
            actor_id=r["actor_id"],
            occurred_at=r["occurred_at"],
        )
        for r in rows
    ]


async def coverage_patient(ctx: PluginContext, coverage_id: UUID) -> UUID | None:
    """The coverage's patient (locks the coverage), for its documents; None when not this organization's."""
    value = await ctx.tx.fetchval("select patient_id from coverages where id = $1 for update", coverage_id)
    return value if isinstance(value, UUID) else None
