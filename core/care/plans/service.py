"""Care plans, their goals, measurements and activities; every change versioned and audited.

Each change locks the plan row, applies itself, bumps the plan's ``version`` and
stores a snapshot of the whole plan in ``care_plan_versions`` with who, when and
a summary, all in the request's transaction (the change, its version and its
audit event commit or vanish together). Plans of a deleted patient, another
tenant's plans (row-level security) and random ids are all simply absent.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec

from core.audit.service import record
from core.care.plans.schemas import (
    Activity,
    ActivityCreate,
    ActivityUpdate,
    CarePlan,
    CarePlanCreate,
    CarePlanDetail,
    CarePlanUpdate,
    Goal,
    GoalCreate,
    GoalProgress,
    GoalUpdate,
    Measurement,
    MeasurementCreate,
    Transition,
    Version,
    VersionSummary,
)
from core.care.plans.states import (
    ACTIVITY_TRANSITIONS,
    GOAL_TRANSITIONS,
    PLAN_EDITABLE,
    PLAN_TRANSITIONS,
    check_transition,
    goal_progress,
)
from core.http.context import RequestContext
from core.http.partial import changed_fields


class NotFoundError(Exception):
    """The plan, goal, activity or version is absent (or another tenant's, or another plan's)."""


class PlanClosedError(Exception):
    """The plan is completed, revoked or entered in error: its content no longer changes."""

    def __init__(self, status: str) -> None:
        super().__init__(f"The care plan is {status}; its content can no longer change")
        self.status = status


class InvalidFieldError(Exception):
    """Input that is well-formed but wrong in context (unknown linked record, inverted period)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


PLAN_COLUMNS = (
    "cp.id, cp.patient_id, cp.title, cp.description, cp.status, cp.period_start, cp.period_end, cp.version, "
    "cp.created_by, cp.created_at, cp.updated_at"
)
_LIVE_PLAN = (
    f"select {PLAN_COLUMNS} from care_plans cp "
    "join patients p on p.tenant_id = cp.tenant_id and p.id = cp.patient_id and p.deleted_at is null "
    "where cp.id = $1"
)
GOAL_COLUMNS = (
    "id, care_plan_id, description, target, target_value, unit, due_date, status, achievement, created_at, updated_at"
)
_GOALS = f"""
select {", ".join("g." + c for c in GOAL_COLUMNS.split(", "))},
       (select count(*) from goal_measurements m where m.tenant_id = g.tenant_id and m.goal_id = g.id)
         as measurement_count,
       (select m.value from goal_measurements m where m.tenant_id = g.tenant_id and m.goal_id = g.id
         order by m.measured_at, m.created_at, m.id limit 1) as baseline_value,
       l.id as m_id, l.value as m_value, l.measured_at as m_measured_at, l.note as m_note,
       l.recorded_by as m_recorded_by, l.created_at as m_created_at
from care_plan_goals g
left join lateral (
  select m.id, m.value, m.measured_at, m.note, m.recorded_by, m.created_at from goal_measurements m
  where m.tenant_id = g.tenant_id and m.goal_id = g.id
  order by m.measured_at desc, m.created_at desc, m.id desc limit 1) l on true
where g.care_plan_id = $1 {{extra}}
order by g.created_at, g.id
"""
ACTIVITY_COLUMNS = (
    "id, care_plan_id, kind, description, status, linked_type, linked_id, due_date, created_at, updated_at"
)
MEASUREMENT_COLUMNS = "id, goal_id, value, measured_at, note, recorded_by, created_at"
LINK_TABLES = {"appointment": "appointments", "referral": "referrals", "task": "tasks"}
"""The table each ``linked_type`` lives in; a link is checked once that capability's table exists."""


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _dec(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(value))


def to_plan(row: Any) -> CarePlan:
    return CarePlan(**{name: row[name] for name in CarePlan.__struct_fields__})


def to_measurement(row: Any, prefix: str = "") -> Measurement:
    return Measurement(
        id=row[f"{prefix}id"],
        goal_id=row["id"] if prefix else row["goal_id"],
        value=float(row[f"{prefix}value"]),
        measured_at=row[f"{prefix}measured_at"],
        note=row[f"{prefix}note"],
        recorded_by=row[f"{prefix}recorded_by"],
        created_at=row[f"{prefix}created_at"],
    )


def to_goal(row: Any) -> Goal:
    latest = to_measurement(row, "m_") if row["m_id"] is not None else None
    computed = goal_progress(row["target_value"], row["baseline_value"], row["m_value"])
    progress = None
    if computed is not None:
        baseline, last, percent, met = computed
        progress = GoalProgress(
            baseline_value=float(baseline),
            latest_value=float(last),
            target_value=float(row["target_value"]),
            percent=float(percent),
            target_met=met,
        )
    return Goal(
        id=row["id"],
        care_plan_id=row["care_plan_id"],
        description=row["description"],
        target=row["target"],
        target_value=_num(row["target_value"]),
        unit=row["unit"],
        due_date=row["due_date"],
        status=row["status"],
        achievement=row["achievement"],
        measurement_count=row["measurement_count"],
        latest_measurement=latest,
        progress=progress,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def to_activity(row: Any) -> Activity:
    return Activity(**dict(row))


# -- reading ------------------------------------------------------------------------------------------------


async def _plan_row(ctx: RequestContext, plan_id: UUID, *, lock: bool = False) -> Any:
    row = await ctx.tx.fetchrow(_LIVE_PLAN + (" for update of cp" if lock else ""), plan_id)
    if row is None:
        raise NotFoundError("No such care plan")
    return row


async def _editable_plan(ctx: RequestContext, plan_id: UUID) -> Any:
    """The plan row, locked for the change; 404 when absent."""
    return await _plan_row(ctx, plan_id, lock=True)


def _require_open(plan: Any) -> None:
    if plan["status"] not in PLAN_EDITABLE:
        raise PlanClosedError(plan["status"])


async def _goals(ctx: RequestContext, plan_id: UUID) -> list[Goal]:
    rows = await ctx.tx.fetch(_GOALS.format(extra=""), plan_id)
    return [to_goal(r) for r in rows]


async def _goal(ctx: RequestContext, plan_id: UUID, goal_id: UUID) -> Goal:
    row = await ctx.tx.fetchrow(_GOALS.format(extra="and g.id = $2"), plan_id, goal_id)
    if row is None:
        raise NotFoundError("No such goal in this care plan")
    return to_goal(row)


async def _detail(ctx: RequestContext, plan: Any) -> CarePlanDetail:
    activities = await ctx.tx.fetch(
        f"select {ACTIVITY_COLUMNS} from care_plan_activities where care_plan_id = $1 order by created_at, id",
        plan["id"],
    )
    return CarePlanDetail(
        **msgspec.structs.asdict(to_plan(plan)),
        goals=await _goals(ctx, plan["id"]),
        activities=[to_activity(r) for r in activities],
    )


async def list_plans(ctx: RequestContext, patient_id: UUID, status: str | None) -> list[CarePlan]:
    """The patient's plans, newest first (the caller has checked the patient exists)."""
    rows = await ctx.tx.fetch(
        f"select {PLAN_COLUMNS} from care_plans cp where cp.patient_id = $1 and ($2::text is null or cp.status = $2) "
        "order by cp.created_at desc, cp.id",
        patient_id,
        status,
    )
    await record(
        ctx,
        "care_plan.list",
        "patient",
        patient_id,
        {"count": len(rows), "resource_ids": [str(r["id"]) for r in rows]},
    )
    return [to_plan(r) for r in rows]


async def read_plan(ctx: RequestContext, plan_id: UUID) -> CarePlanDetail:
    plan = await _plan_row(ctx, plan_id)
    await record(ctx, "care_plan.read", "care_plan", plan_id, {"patient_id": str(plan["patient_id"])})
    return await _detail(ctx, plan)


async def list_measurements(ctx: RequestContext, plan_id: UUID, goal_id: UUID) -> list[Measurement]:
    plan = await _plan_row(ctx, plan_id)
    await _goal(ctx, plan_id, goal_id)
    rows = await ctx.tx.fetch(
        f"select {MEASUREMENT_COLUMNS} from goal_measurements where goal_id = $1 order by measured_at, created_at, id",
        goal_id,
    )
    await record(
        ctx,
        "goal_measurement.list",
        "care_plan_goal",
        goal_id,
        {"patient_id": str(plan["patient_id"]), "care_plan_id": str(plan_id), "count": len(rows)},
    )
    return [to_measurement(r) for r in rows]


async def list_versions(ctx: RequestContext, plan_id: UUID, after: int, limit: int) -> list[VersionSummary]:
    plan = await _plan_row(ctx, plan_id)
    rows = await ctx.tx.fetch(
        "select version, changed_by, changed_at, change_summary from care_plan_versions "
        "where care_plan_id = $1 and version > $2 order by version limit $3",
        plan_id,
        after,
        limit,
    )
    await record(
        ctx,
        "care_plan_version.list",
        "care_plan",
        plan_id,
        {"patient_id": str(plan["patient_id"]), "count": len(rows)},
    )
    return [VersionSummary(**dict(r)) for r in rows]


async def read_version(ctx: RequestContext, plan_id: UUID, version: int) -> Version:
    plan = await _plan_row(ctx, plan_id)
    row = await ctx.tx.fetchrow(
        "select version, changed_by, changed_at, change_summary, snapshot from care_plan_versions "
        "where care_plan_id = $1 and version = $2",
        plan_id,
        version,
    )
    if row is None:
        raise NotFoundError("No such version of this care plan")
    await record(
        ctx,
        "care_plan_version.read",
        "care_plan",
        plan_id,
        {"patient_id": str(plan["patient_id"]), "version": version},
    )
    return Version(**{**dict(row), "snapshot": msgspec.json.decode(row["snapshot"])})


# -- versioning ---------------------------------------------------------------------------------------------


async def _new_version(ctx: RequestContext, plan_id: UUID, summary: str, *, bump: bool = True) -> CarePlanDetail:
    """Bump the (locked) plan's version and store the snapshot of the plan as it now stands."""
    if bump:
        await ctx.tx.execute("update care_plans set version = version + 1, updated_at = now() where id = $1", plan_id)
    plan = await _plan_row(ctx, plan_id)
    detail = await _detail(ctx, plan)
    await ctx.tx.execute(
        "insert into care_plan_versions (tenant_id, care_plan_id, version, snapshot, changed_by, change_summary) "
        "values ($1, $2, $3, $4::jsonb, $5, $6)",
        ctx.tenant_id,
        plan_id,
        detail.version,
        msgspec.json.encode(detail).decode(),
        ctx.principal.actor_id,
        summary[:500],
    )
    return detail


async def _audit_change(
    ctx: RequestContext, action: str, resource: str, resource_id: UUID, plan: CarePlan, **details: Any
) -> None:
    await record(
        ctx,
        action,
        resource,
        resource_id,
        {"patient_id": str(plan.patient_id), "care_plan_id": str(plan.id), "version": plan.version, **details},
    )


# -- links --------------------------------------------------------------------------------------------------


async def _check_link(ctx: RequestContext, patient_id: UUID, linked_type: str | None, linked_id: UUID | None) -> None:
    """A linked appointment, referral or task must exist in this organization, for this patient.

    The check applies once the capability's table exists; where that table records the
    patient, the record must be this patient's.
    """
    if linked_type is None or linked_id is None:
        return
    table = LINK_TABLES[linked_type]
    shape = await ctx.tx.fetchrow(
        "select to_regclass($1) is not null as present, exists(select 1 from pg_attribute "
        "where attrelid = to_regclass($1) and attname = 'patient_id' and not attisdropped) as has_patient",
        f"public.{table}",
    )
    if not shape["present"]:
        return
    if shape["has_patient"]:
        found = await ctx.tx.fetchval(
            f"select exists(select 1 from {table} where id = $1 and patient_id = $2)", linked_id, patient_id
        )
    else:
        found = await ctx.tx.fetchval(f"select exists(select 1 from {table} where id = $1)", linked_id)
    if not found:
        raise InvalidFieldError("linked_id", f"No such {linked_type} for this patient")


# -- plans --------------------------------------------------------------------------------------------------


async def _insert_goal(ctx: RequestContext, plan_id: UUID, data: GoalCreate) -> UUID:
    goal_id: UUID = await ctx.tx.fetchval(
        "insert into care_plan_goals (tenant_id, care_plan_id, description, target, target_value, unit, due_date, "
        "status, achievement, created_at, updated_at) "
        "values ($1, $2, $3, $4, $5, $6, $7, $8, $9, clock_timestamp(), clock_timestamp()) returning id",
        ctx.tenant_id,
        plan_id,
        data.description,
        data.target,
        _dec(data.target_value),
        data.unit,
        data.due_date,
        data.status,
        data.achievement,
    )
    return goal_id


async def _insert_activity(ctx: RequestContext, plan_id: UUID, patient_id: UUID, data: ActivityCreate) -> UUID:
    await _check_link(ctx, patient_id, data.linked_type, data.linked_id)
    activity_id: UUID = await ctx.tx.fetchval(
        "insert into care_plan_activities (tenant_id, care_plan_id, kind, description, status, linked_type, "
        "linked_id, due_date, created_at, updated_at) "
        "values ($1, $2, $3, $4, $5, $6, $7, $8, clock_timestamp(), clock_timestamp()) returning id",
        ctx.tenant_id,
        plan_id,
        data.kind,
        data.description,
        data.status,
        data.linked_type,
        data.linked_id,
        data.due_date,
    )
    return activity_id


async def create_plan(ctx: RequestContext, patient_id: UUID, data: CarePlanCreate) -> CarePlanDetail:
    """A new draft plan, with any goals and activities given, as version 1."""
    plan_id: UUID = await ctx.tx.fetchval(
        "insert into care_plans (tenant_id, patient_id, title, description, period_start, period_end, created_by) "
        "values ($1, $2, $3, $4, $5, $6, $7) returning id",
        ctx.tenant_id,
        patient_id,
        data.title,
        data.description,
        data.period_start,
        data.period_end,
        ctx.principal.actor_id,
    )
    for goal in data.goals:
        await _insert_goal(ctx, plan_id, goal)
    for activity in data.activities:
        await _insert_activity(ctx, plan_id, patient_id, activity)
    detail = await _new_version(
        ctx,
        plan_id,
        f"plan created with {len(data.goals)} goal(s) and {len(data.activities)} activity(ies)",
        bump=False,
    )
    await _audit_change(
        ctx, "care_plan.create", "care_plan", plan_id, detail, goals=len(data.goals), activities=len(data.activities)
    )
    return detail


async def update_plan(ctx: RequestContext, plan_id: UUID, data: CarePlanUpdate) -> CarePlanDetail:
    plan = await _editable_plan(ctx, plan_id)
    changes = changed_fields(data)
    changes.pop("tenant_id", None)
    if not changes:
        return await read_plan(ctx, plan_id)
    _require_open(plan)
    start = changes.get("period_start", plan["period_start"])
    end = changes.get("period_end", plan["period_end"])
    if end is not None and end < start:
        raise InvalidFieldError("period_end", "period_end must not be before period_start")
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=2))
    await ctx.tx.execute(f"update care_plans set {sets} where id = $1", plan_id, *changes.values())
    detail = await _new_version(ctx, plan_id, f"plan updated: {', '.join(sorted(changes))}")
    await _audit_change(ctx, "care_plan.update", "care_plan", plan_id, detail, fields=sorted(changes))
    return detail


async def transition_plan(ctx: RequestContext, plan_id: UUID, data: Transition) -> CarePlanDetail:
    """Move the plan along its lifecycle; an illegal move raises IllegalTransitionError (409)."""
    plan = await _editable_plan(ctx, plan_id)
    current = plan["status"]
    check_transition("care plan", PLAN_TRANSITIONS, current, data.status)
    await ctx.tx.execute("update care_plans set status = $2 where id = $1", plan_id, data.status)
    summary = f"status {current} -> {data.status}" + (f": {data.reason}" if data.reason else "")
    detail = await _new_version(ctx, plan_id, summary)
    await _audit_change(
        ctx, "care_plan.transition", "care_plan", plan_id, detail, **{"from": current, "to": data.status}
    )
    return detail


# -- goals --------------------------------------------------------------------------------------------------


async def add_goal(ctx: RequestContext, plan_id: UUID, data: GoalCreate) -> Goal:
    plan = await _editable_plan(ctx, plan_id)
    _require_open(plan)
    goal_id = await _insert_goal(ctx, plan_id, data)
    detail = await _new_version(ctx, plan_id, f"goal {goal_id} added")
    await _audit_change(ctx, "care_plan_goal.create", "care_plan_goal", goal_id, detail)
    return await _goal(ctx, plan_id, goal_id)


async def update_goal(ctx: RequestContext, plan_id: UUID, goal_id: UUID, data: GoalUpdate) -> Goal:
    plan = await _editable_plan(ctx, plan_id)
    goal = await _goal(ctx, plan_id, goal_id)
    changes = changed_fields(data)
    changes.pop("tenant_id", None)
    if changes.get("status") == goal.status:
        del changes["status"]
    if not changes:
        return goal
    _require_open(plan)
    summary = f"goal {goal_id} updated: {', '.join(sorted(changes))}"
    if "status" in changes:
        check_transition("goal", GOAL_TRANSITIONS, goal.status, changes["status"])
        summary += f" (status {goal.status} -> {changes['status']})"
    if "target_value" in changes:
        changes["target_value"] = _dec(changes["target_value"])
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=3))
    await ctx.tx.execute(
        f"update care_plan_goals set {sets}, updated_at = now() where id = $1 and care_plan_id = $2",
        goal_id,
        plan_id,
        *changes.values(),
    )
    detail = await _new_version(ctx, plan_id, summary)
    await _audit_change(ctx, "care_plan_goal.update", "care_plan_goal", goal_id, detail, fields=sorted(changes))
    return await _goal(ctx, plan_id, goal_id)


async def add_measurement(ctx: RequestContext, plan_id: UUID, goal_id: UUID, data: MeasurementCreate) -> Goal:
    """Record a measured value; answers the goal with its latest measurement and progress."""
    plan = await _editable_plan(ctx, plan_id)
    await _goal(ctx, plan_id, goal_id)
    _require_open(plan)
    measurement_id = await ctx.tx.fetchval(
        "insert into goal_measurements (tenant_id, goal_id, value, measured_at, note, recorded_by) "
        "values ($1, $2, $3, $4, $5, $6) returning id",
        ctx.tenant_id,
        goal_id,
        _dec(data.value),
        data.measured_at,
        data.note,
        ctx.principal.actor_id,
    )
    detail = await _new_version(ctx, plan_id, f"measurement {data.value:g} recorded on goal {goal_id}")
    await _audit_change(
        ctx, "goal_measurement.create", "care_plan_goal", goal_id, detail, measurement_id=str(measurement_id)
    )
    return await _goal(ctx, plan_id, goal_id)


# -- activities ---------------------------------------------------------------------------------------------


async def _activity(ctx: RequestContext, plan_id: UUID, activity_id: UUID) -> Activity:
    row = await ctx.tx.fetchrow(
        f"select {ACTIVITY_COLUMNS} from care_plan_activities where id = $1 and care_plan_id = $2",
        activity_id,
        plan_id,
    )
    if row is None:
        raise NotFoundError("No such activity in this care plan")
    return to_activity(row)


async def add_activity(ctx: RequestContext, plan_id: UUID, data: ActivityCreate) -> Activity:
    plan = await _editable_plan(ctx, plan_id)
    _require_open(plan)
    activity_id = await _insert_activity(ctx, plan_id, plan["patient_id"], data)
    detail = await _new_version(ctx, plan_id, f"activity {activity_id} ({data.kind}) added")
    await _audit_change(ctx, "care_plan_activity.create", "care_plan_activity", activity_id, detail)
    return await _activity(ctx, plan_id, activity_id)


async def update_activity(ctx: RequestContext, plan_id: UUID, activity_id: UUID, data: ActivityUpdate) -> Activity:
    plan = await _editable_plan(ctx, plan_id)
    activity = await _activity(ctx, plan_id, activity_id)
    changes = changed_fields(data)
    changes.pop("tenant_id", None)
    if changes.get("status") == activity.status:
        del changes["status"]
    if not changes:
        return activity
    _require_open(plan)
    summary = f"activity {activity_id} updated: {', '.join(sorted(changes))}"
    if "status" in changes:
        check_transition("care plan activity", ACTIVITY_TRANSITIONS, activity.status, changes["status"])
        summary += f" (status {activity.status} -> {changes['status']})"
    if "linked_type" in changes:
        await _check_link(ctx, plan["patient_id"], changes["linked_type"], changes["linked_id"])
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=3))
    await ctx.tx.execute(
        f"update care_plan_activities set {sets}, updated_at = now() where id = $1 and care_plan_id = $2",
        activity_id,
        plan_id,
        *changes.values(),
    )
    detail = await _new_version(ctx, plan_id, summary)
    await _audit_change(
        ctx, "care_plan_activity.update", "care_plan_activity", activity_id, detail, fields=sorted(changes)
    )
    return await _activity(ctx, plan_id, activity_id)
