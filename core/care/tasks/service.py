"""Tasks and the worklist: create, read, change, move through the FHIR Task states; each one audited.

Plugins create tasks with :func:`create_task`; it takes any context that carries a tenant
transaction and a principal (``RequestContext`` or a plugin's ``PluginContext``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, Protocol
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from core.audit.service import append_event
from core.auth.principal import Principal
from core.care.tasks.schemas import (
    FocusType,
    PoolRole,
    Priority,
    ResourceRequestCreate,
    Task,
    TaskCreate,
    TaskHistoryEntry,
    TaskTransition,
    TaskUpdate,
    Worklist,
)
from core.care.tasks.states import INITIAL, OPEN, check_transition
from core.db.filters import Filter
from core.db.tenant import Tx
from core.http.partial import changed_fields

COLUMNS = (
    "id, title, description, status, business_status, status_reason, priority, due_at, sla_due_at, "
    "owner_user_id, owner_role, focus_type, focus_id, patient_id, created_by, created_at, updated_at, completed_at"
)
HISTORY_COLUMNS = "id, task_id, from_status, to_status, reason, changed_by, changed_by_type, changed_at"
VISIBLE = (
    "(patient_id is null or exists (select 1 from patients p where p.id = tasks.patient_id and p.deleted_at is null))"
)
"""Tasks of a deleted patient leave reads and lists with the patient."""
PRIORITY_RANK = "case priority when 'stat' then 4 when 'asap' then 3 when 'urgent' then 2 else 1 end"
SORTS = {
    "due": f"due_at asc nulls last, {PRIORITY_RANK} desc, created_at, id",
    "priority": f"{PRIORITY_RANK} desc, due_at asc nulls last, created_at, id",
    "created": "created_at, id",
}
Sort = Literal["due", "priority", "created"]


class Actor(Protocol):
    """What acting on tasks needs: a tenant transaction and who is calling (for audit and history)."""

    @property
    def tx(self) -> Tx: ...
    @property
    def principal(self) -> Principal: ...
    @property
    def ip(self) -> str | None: ...
    @property
    def request_id(self) -> str | None: ...


class TaskInputError(ValueError):
    """The input refers to something that does not exist in the tenant; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


async def audit(
    ctx: Actor, action: str, resource_type: str, resource_id: UUID | None, details: dict[str, Any] | None = None
) -> None:
    """core.audit.service.record for any Actor (a plugin's context as well as a request's)."""
    principal = ctx.principal
    await append_event(
        ctx.tx,
        tenant_id=principal.tenant_id,
        actor_type=principal.kind,
        actor_id=None if principal.kind == "system" else principal.actor_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        ip=ctx.ip,
        request_id=ctx.request_id,
        details=details,
    )


# -- time zones: pure ------------------------------------------------------------------------------------------


def local_today(zone: ZoneInfo, now: datetime) -> date:
    """The calendar date in ``zone`` at the aware instant ``now``."""
    return now.astimezone(zone).date()


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """``[start, end)`` of ``day`` in ``zone`` as UTC instants; 23 or 25 hours long on DST change days."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ValueError when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"time_zone {name!r} is not an IANA time zone") from None


async def tenant_time_zone(tx: Tx, tenant_id: UUID) -> str:
    """The organization's time zone (``tenants.time_zone``)."""
    name = await tx.fetchval("select time_zone from tenants where id = $1", tenant_id)
    return str(name or "UTC")


# -- rows ---------------------------------------------------------------------------------------------------


def to_task(row: Any, now: datetime) -> Task:
    open_ = row["status"] in OPEN
    return Task(
        id=row["id"],
        title=row["title"],
        description=row["description"],
        status=row["status"],
        business_status=row["business_status"],
        status_reason=row["status_reason"],
        priority=row["priority"],
        due_at=row["due_at"],
        sla_due_at=row["sla_due_at"],
        owner_user_id=row["owner_user_id"],
        owner_role=row["owner_role"],
        focus_type=row["focus_type"],
        focus_id=row["focus_id"],
        patient_id=row["patient_id"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        completed_at=row["completed_at"],
        overdue=open_ and row["due_at"] is not None and row["due_at"] < now,
        sla_overdue=open_ and row["sla_due_at"] is not None and row["sla_due_at"] < now,
    )


def _details(row: Any, **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {"patient_id": str(row["patient_id"]) if row["patient_id"] else None}
    details.update(extra)
    return details


async def _add_history(ctx: Actor, task_id: UUID, from_status: str | None, to_status: str, reason: str | None) -> None:
    principal = ctx.principal
    await ctx.tx.execute(
        "insert into task_status_history (tenant_id, task_id, from_status, to_status, reason, changed_by, "
        "changed_by_type) values ($1, $2, $3, $4, $5, $6, $7)",
        principal.tenant_id,
        task_id,
        from_status,
        to_status,
        reason,
        None if principal.kind == "system" else principal.actor_id,
        principal.kind,
    )


async def _check_patient(ctx: Actor, patient_id: UUID | None) -> None:
    if patient_id is not None and not await ctx.tx.fetchval(
        "select exists (select 1 from patients where id = $1 and deleted_at is null)", patient_id
    ):
        raise TaskInputError("patient_id", "no such patient")


async def _check_owner(ctx: Actor, owner_user_id: UUID | None) -> None:
    if owner_user_id is not None and not await ctx.tx.fetchval(
        "select exists (select 1 from users where id = $1 and status = 'active')", owner_user_id
    ):
        raise TaskInputError("owner_user_id", "no such active user")


async def _check_resource(ctx: Actor, resource_id: UUID | None) -> None:
    if resource_id is None or not await ctx.tx.fetchval(
        "select exists (select 1 from community_resources where id = $1)", resource_id
    ):
        raise TaskInputError("resource_id", "no such community resource")


# -- the service plugins call -------------------------------------------------------------------------------


async def create_task(
    ctx: Actor,
    *,
    title: str,
    description: str | None = None,
    status: str = "requested",
    business_status: str | None = None,
    status_reason: str | None = None,
    priority: Priority = "routine",
    due_at: datetime | None = None,
    sla_due_at: datetime | None = None,
    owner_user_id: UUID | None = None,
    owner_role: PoolRole | None = None,
    focus_type: FocusType = "other",
    focus_id: UUID | None = None,
    patient_id: UUID | None = None,
) -> Task:
    """Create a task in the caller's tenant, record its first history entry and audit it.

    This is the core service plugins use to put work on coordinators' worklists (a reminder that
    failed three times, an authorization that needs a call...). ``ctx`` is the plugin's
    ``PluginContext`` or a ``RequestContext``: the task is created in its transaction, so it commits
    or vanishes with the rest of what the caller does.

    - ``status``: one of ``core.care.tasks.states.INITIAL`` (default ``requested``).
    - ``owner_user_id`` (an active user) and/or ``owner_role`` (a pool: ``admin``, ``coordinator``,
      ``clinician``); both null leaves the task unassigned.
    - ``focus_type`` / ``focus_id``: what the task is about. ``patient`` needs ``patient_id`` and
      its focus is the patient; ``resource_request`` needs ``focus_id`` naming a community resource.
    - ``due_at`` / ``sla_due_at``: aware datetimes; past them an open task is ``overdue`` /
      ``sla_overdue``.

    Raises ``TaskInputError`` (``.field`` names the input) when the patient, owner or resource does
    not exist in the tenant or a value breaks a rule above; nothing is written then.
    """
    if len(title) == 0 or len(title) > 200:
        raise TaskInputError("title", "title must be 1 to 200 characters")
    if status not in INITIAL:
        raise TaskInputError("status", f"a task starts in one of {sorted(INITIAL)}")
    for name, value in (("due_at", due_at), ("sla_due_at", sla_due_at)):
        if value is not None and value.tzinfo is None:
            raise TaskInputError(name, f"{name} needs a time zone offset")
    if focus_type == "patient":
        if patient_id is None:
            raise TaskInputError("patient_id", "focus_type patient needs patient_id")
        focus_id = patient_id
    await _check_patient(ctx, patient_id)
    await _check_owner(ctx, owner_user_id)
    if focus_type == "resource_request":
        await _check_resource(ctx, focus_id)
    principal = ctx.principal
    row = await ctx.tx.fetchrow(
        f"insert into tasks (tenant_id, title, description, status, business_status, status_reason, priority, "
        f"due_at, sla_due_at, owner_user_id, owner_role, focus_type, focus_id, patient_id, created_by, "
        f"completed_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, null) "
        f"returning {COLUMNS}",
        principal.tenant_id,
        title,
        description,
        status,
        business_status,
        status_reason,
        priority,
        due_at,
        sla_due_at,
        owner_user_id,
        owner_role,
        focus_type,
        focus_id,
        patient_id,
        None if principal.kind == "system" else principal.actor_id,
    )
    await _add_history(ctx, row["id"], None, status, status_reason)
    await audit(ctx, "task.create", "task", row["id"], _details(row, focus_type=focus_type))
    return to_task(row, datetime.now(UTC))


# -- routes' services ---------------------------------------------------------------------------------------


async def create_from_body(ctx: Actor, data: TaskCreate) -> Task:
    return await create_task(
        ctx,
        title=data.title,
        description=data.description,
        status=data.status,
        business_status=data.business_status,
        status_reason=data.status_reason,
        priority=data.priority,
        due_at=data.due_at,
        sla_due_at=data.sla_due_at,
        owner_user_id=data.owner_user_id,
        owner_role=data.owner_role,
        focus_type=data.focus_type,
        focus_id=data.focus_id,
        patient_id=data.patient_id,
    )


async def read_task(ctx: Actor, task_id: UUID) -> Task | None:
    """The task, or None when absent, another tenant's, or its patient is deleted."""
    row = await ctx.tx.fetchrow(f"select {COLUMNS} from tasks where id = $1 and {VISIBLE}", task_id)
    if row is None:
        return None
    await audit(ctx, "task.read", "task", task_id, _details(row))
    return to_task(row, datetime.now(UTC))


async def update_task(ctx: Actor, task_id: UUID, data: TaskUpdate) -> Task | None:
    changes = changed_fields(data)
    changes.pop("tenant_id", None)
    if "owner_user_id" in changes:
        await _check_owner(ctx, changes["owner_user_id"])
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=2))
    row = await ctx.tx.fetchrow(
        f"update tasks set {sets + ', ' if sets else ''}updated_at = now() where id = $1 and {VISIBLE} "
        f"returning {COLUMNS}",
        task_id,
        *changes.values(),
    )
    if row is None:
        return None
    await audit(ctx, "task.update", "task", task_id, _details(row, fields=sorted(changes)))
    return to_task(row, datetime.now(UTC))


async def transition_task(ctx: Actor, task_id: UUID, data: TaskTransition) -> Task | None:
    """Move the task to ``data.status``; IllegalTransitionError when the state machine forbids it."""
    current = await ctx.tx.fetchval(f"select status from tasks where id = $1 and {VISIBLE} for update", task_id)
    if current is None:
        return None
    check_transition(current, data.status)
    values: list[Any] = [task_id, data.status, data.reason]
    business = ""
    if data.business_status is not msgspec.UNSET:
        values.append(data.business_status)
        business = f", business_status = ${len(values)}"
    row = await ctx.tx.fetchrow(
        f"update tasks set status = $2::varchar, status_reason = $3{business}, updated_at = now(), "
        f"completed_at = case when $2::varchar = 'completed' then now() else completed_at end "
        f"where id = $1 returning {COLUMNS}",
        *values,
    )
    await _add_history(ctx, task_id, current, data.status, data.reason)
    await audit(ctx, "task.transition", "task", task_id, _details(row, **{"from": current, "to": data.status}))
    return to_task(row, datetime.now(UTC))


async def task_history(ctx: Actor, task_id: UUID) -> list[TaskHistoryEntry] | None:
    """The task's status changes, oldest first; None when the task is not visible."""
    patient_id = await ctx.tx.fetchrow(f"select patient_id from tasks where id = $1 and {VISIBLE}", task_id)
    if patient_id is None:
        return None
    rows = await ctx.tx.fetch(
        f"select {HISTORY_COLUMNS} from task_status_history where task_id = $1 order by changed_at, id", task_id
    )
    await audit(ctx, "task.history", "task", task_id, _details(patient_id))
    return [TaskHistoryEntry(**dict(r)) for r in rows]


# -- the worklist -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorklistQuery:
    mine: bool = False
    team: bool = False
    overdue: bool = False
    due_today: bool = False
    priority: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    patient_id: UUID | None = None
    sort: Sort = "due"
    time_zone: str | None = None
    limit: int = 100


TEAMMATES = """
select other.user_id from care_team_members me
join care_team_members other on other.patient_id = me.patient_id
where me.user_id = {me} and other.user_id is not null
  and me.period_start <= {today} and (me.period_end is null or me.period_end >= {today})
  and other.period_start <= {today} and (other.period_end is null or other.period_end >= {today})
"""


async def worklist(ctx: Actor, query: WorklistQuery) -> Worklist:
    """The caller's worklist; every filter given narrows it (they combine with AND).

    - no ``status``: open tasks only (not rejected, cancelled, failed, completed or entered-in-error);
    - ``mine``: owned by the caller (``owner_user_id``);
    - ``team``: owned by the caller, by a user who is on an active care team (period covering today)
      of a patient the caller is also an active care-team member of, or unclaimed
      (``owner_user_id`` null) in the pool of the caller's role (``owner_role``);
    - ``overdue``: open and past ``due_at`` now;
    - ``due_today``: ``due_at`` within today in ``time_zone`` (default the organization's zone);
    - ``priority`` / ``status``: any of the values given.
    """
    zone_name = query.time_zone or await tenant_time_zone(ctx.tx, ctx.principal.tenant_id)
    zone = zone_named(zone_name)
    now = datetime.now(UTC)
    today = local_today(zone, now)
    me = ctx.principal.actor_id
    flt = Filter()
    flt.clauses.append(VISIBLE)
    flt.add("status = any({}::text[])", list(query.status or sorted(OPEN)))
    if query.priority:
        flt.add("priority = any({}::text[])", list(query.priority))
    if query.patient_id is not None:
        flt.add("patient_id = {}", query.patient_id)
    if query.mine:
        flt.add("owner_user_id = {}", me)
    if query.team:
        flt.add(
            "(owner_user_id = {0} or owner_user_id in (" + TEAMMATES.format(me="{0}", today="{1}") + ") "
            "or (owner_user_id is null and owner_role = {2}))",
            me,
            today,
            ctx.principal.role,
        )
    if query.overdue:
        flt.add("due_at < {} and status = any({}::text[])", now, sorted(OPEN))
    if query.due_today:
        start, end = day_bounds(today, zone)
        flt.add("due_at >= {} and due_at < {}", start, end)
    flt.args.append(query.limit)
    rows = await ctx.tx.fetch(
        f"select {COLUMNS} from tasks where {' and '.join(flt.clauses)} "
        f"order by {SORTS[query.sort]} limit ${len(flt.args)}",
        *flt.args,
    )
    await audit(
        ctx,
        "worklist.read",
        "task",
        None,
        {
            "count": len(rows),
            "resource_ids": [str(r["id"]) for r in rows],
            "patient_ids": sorted({str(r["patient_id"]) for r in rows if r["patient_id"]}),
        },
    )
    return Worklist(items=[to_task(r, now) for r in rows], time_zone=zone_name, today=today)


# -- resource requests --------------------------------------------------------------------------------------


async def request_resource(ctx: Actor, patient_id: UUID, data: ResourceRequestCreate) -> Task:
    """A task about ``data.resource_id`` for the patient (focus_type ``resource_request``)."""
    name = await ctx.tx.fetchval("select name from community_resources where id = $1", data.resource_id)
    if name is None:
        raise TaskInputError("resource_id", "no such community resource")
    return await create_task(
        ctx,
        title=f"Resource request: {name}"[:200],
        description=data.note,
        priority=data.priority,
        due_at=data.due_at,
        owner_user_id=data.owner_user_id,
        owner_role=data.owner_role,
        focus_type="resource_request",
        focus_id=data.resource_id,
        patient_id=patient_id,
    )


async def list_resource_requests(ctx: Actor, patient_id: UUID) -> list[Task]:
    """The patient's resource requests, open and closed, newest first."""
    rows = await ctx.tx.fetch(
        f"select {COLUMNS} from tasks where patient_id = $1 and focus_type = 'resource_request' "
        f"order by created_at desc, id",
        patient_id,
    )
    await audit(
        ctx,
        "resource_request.list",
        "patient",
        patient_id,
        {"count": len(rows), "resource_ids": [str(r["id"]) for r in rows]},
    )
    now = datetime.now(UTC)
    return [to_task(r, now) for r in rows]
