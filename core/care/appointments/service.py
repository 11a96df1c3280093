"""Appointments: create, read, list, reschedule and status transitions, each one audited.

A status change goes through the state machine in ``states``, is written to
``appointment_status_history`` (who, when, from, to, why) and told to the tenant's
plugins. Booking checks that neither the practitioner nor the patient already has an
occupying appointment (booked, arrived, checked-in) overlapping the same time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from core.audit.service import record
from core.care.appointments.schemas import (
    Appointment,
    AppointmentCreate,
    AppointmentPage,
    Reschedule,
    StatusChange,
    Transition,
)
from core.care.appointments.states import OCCUPYING, RESCHEDULABLE, check_transition
from core.db.cursors import decode_cursor, encode_cursor
from core.db.filters import Filter
from core.http.context import RequestContext

COLUMNS = (
    "a.id, a.patient_id, a.practitioner_id, a.location, a.start_at, a.end_at, a.time_zone, a.reason, a.status, "
    "a.cancel_reason, a.referral_id, a.care_plan_activity_id, a.created_by, a.created_at, a.updated_at"
)
_VISIBLE = "exists (select 1 from patients p where p.id = a.patient_id and p.deleted_at is null)"
"""Appointments of a deleted patient leave reads and lists with the patient."""
_HISTORY_COLUMNS = "id, appointment_id, from_status, to_status, changed_by, changed_at, reason"


class ConflictError(Exception):
    """The time overlaps another occupying appointment of the same practitioner or patient."""

    def __init__(self, conflicting_id: UUID, shared: str) -> None:
        super().__init__(f"overlaps appointment {conflicting_id} of the same {shared}")
        self.conflicting_id = conflicting_id
        self.shared = shared


class NotReschedulableError(Exception):
    """Only proposed, pending or booked appointments may move."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def to_appointment(row: Any) -> Appointment:
    return Appointment(
        id=row["id"],
        patient_id=row["patient_id"],
        practitioner_id=row["practitioner_id"],
        location=row["location"],
        start=row["start_at"],
        end=row["end_at"],
        time_zone=row["time_zone"],
        reason=row["reason"],
        status=row["status"],
        cancel_reason=row["cancel_reason"],
        referral_id=row["referral_id"],
        care_plan_activity_id=row["care_plan_activity_id"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    """The instants (in UTC) of local midnight of ``day`` and of the next day in ``zone``.

    Days are 23 or 25 hours long when daylight saving starts or ends; UTC instants keep
    that (Python subtracts two times of one zone by wall clock).
    """
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


# -- references ---------------------------------------------------------------------------------------------


async def patient_exists(ctx: RequestContext, patient_id: UUID) -> bool:
    return bool(
        await ctx.tx.fetchval("select exists(select 1 from patients where id = $1 and deleted_at is null)", patient_id)
    )


async def practitioner_exists(ctx: RequestContext, practitioner_id: UUID) -> bool:
    return bool(await ctx.tx.fetchval("select exists(select 1 from practitioners where id = $1)", practitioner_id))


async def tenant_time_zone(ctx: RequestContext) -> str:
    zone = await ctx.tx.fetchval("select time_zone from tenants where id = $1", ctx.tenant_id)
    return str(zone or "UTC")


# -- conflicts ----------------------------------------------------------------------------------------------


async def _lock_schedules(ctx: RequestContext, patient_id: UUID, practitioner_id: UUID | None) -> None:
    """Serialize bookings per patient and per practitioner until commit, so two can't both pass the check.

    Keys are taken in a fixed order, so two transactions locking the same pair never deadlock.
    """
    keys = [f"appointments:{ctx.tenant_id}:patient:{patient_id}"]
    if practitioner_id is not None:
        keys.append(f"appointments:{ctx.tenant_id}:practitioner:{practitioner_id}")
    for key in sorted(keys):
        await ctx.tx.execute("select pg_advisory_xact_lock(hashtextextended($1, 0))", key)


async def check_conflicts(
    ctx: RequestContext,
    *,
    patient_id: UUID,
    practitioner_id: UUID | None,
    start: datetime,
    end: datetime,
    exclude: UUID | None,
) -> None:
    """Raise ConflictError if ``[start, end)`` overlaps an occupying appointment of the patient or practitioner."""
    await _lock_schedules(ctx, patient_id, practitioner_id)
    row = await ctx.tx.fetchrow(
        "select id, (practitioner_id is not distinct from $3 and $3 is not null) as same_practitioner "
        "from appointments where status = any($1::varchar[]) and id is distinct from $2 "
        "and (patient_id = $4 or ($3::uuid is not null and practitioner_id = $3)) "
        "and start_at < $6 and end_at > $5 "
        "order by start_at, id limit 1",
        sorted(OCCUPYING),
        exclude,
        practitioner_id,
        patient_id,
        start,
        end,
    )
    if row is not None:
        raise ConflictError(row["id"], "practitioner" if row["same_practitioner"] else "patient")


# -- history ------------------------------------------------------------------------------------------------


async def _log_change(
    ctx: RequestContext, appointment_id: UUID, from_status: str | None, to_status: str, reason: str | None
) -> None:
    await ctx.tx.execute(
        "insert into appointment_status_history (tenant_id, appointment_id, from_status, to_status, changed_by, "
        "changed_at, reason) values ($1, $2, $3, $4, $5, clock_timestamp(), $6)",
        ctx.tenant_id,
        appointment_id,
        from_status,
        to_status,
        ctx.principal.actor_id,
        reason,
    )


async def _announce(ctx: RequestContext, appointment: Appointment, previous_status: str | None) -> None:
    """Tell the tenant's plugins: every transition, plus entering booked or cancelled."""
    if previous_status is not None:
        await ctx.emit("appointment_status_changed", appointment=appointment, previous_status=previous_status)
    if appointment.status == "booked":
        await ctx.emit("appointment_booked", appointment=appointment)
    elif appointment.status == "cancelled":
        await ctx.emit("appointment_cancelled", appointment=appointment)


# -- operations ---------------------------------------------------------------------------------------------


async def create_appointment(ctx: RequestContext, data: AppointmentCreate) -> Appointment:
    """Create in ``proposed`` or ``booked``; the caller has checked that patient and practitioner exist."""
    if data.status in OCCUPYING:
        await check_conflicts(
            ctx,
            patient_id=data.patient_id,
            practitioner_id=data.practitioner_id,
            start=data.start,
            end=data.end,
            exclude=None,
        )
    row = await ctx.tx.fetchrow(
        f"insert into appointments as a (tenant_id, patient_id, practitioner_id, location, start_at, end_at, "
        f"time_zone, reason, status, referral_id, care_plan_activity_id, created_by) "
        f"values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) returning {COLUMNS}",
        ctx.tenant_id,
        data.patient_id,
        data.practitioner_id,
        data.location,
        data.start,
        data.end,
        data.time_zone,
        data.reason,
        data.status,
        data.referral_id,
        data.care_plan_activity_id,
        ctx.principal.actor_id,
    )
    appointment = to_appointment(row)
    await _log_change(ctx, appointment.id, None, appointment.status, None)
    await record(
        ctx,
        "appointment.create",
        "appointment",
        appointment.id,
        {"patient_id": str(appointment.patient_id), "status": appointment.status},
    )
    await _announce(ctx, appointment, None)
    return appointment


async def _fetch(ctx: RequestContext, appointment_id: UUID, *, lock: bool = False) -> Any:
    return await ctx.tx.fetchrow(
        f"select {COLUMNS} from appointments a where a.id = $1 and {_VISIBLE}{' for update of a' if lock else ''}",
        appointment_id,
    )


async def read_appointment(ctx: RequestContext, appointment_id: UUID) -> Appointment | None:
    """The appointment, or None when absent, its patient deleted, or another tenant's (RLS hides those)."""
    row = await _fetch(ctx, appointment_id)
    if row is None:
        return None
    await record(ctx, "appointment.read", "appointment", appointment_id, {"patient_id": str(row["patient_id"])})
    return to_appointment(row)


async def list_appointments(
    ctx: RequestContext,
    *,
    patient_id: UUID | None,
    practitioner_id: UUID | None,
    day: date | None,
    time_zone: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> AppointmentPage:
    """A page of appointments ordered by start, id; ``day`` is a calendar day in ``time_zone``."""
    flt = Filter()
    flt.clauses.append(_VISIBLE)
    if patient_id is not None:
        flt.add("a.patient_id = {}", patient_id)
    if practitioner_id is not None:
        flt.add("a.practitioner_id = {}", practitioner_id)
    if status is not None:
        flt.add("a.status = {}", status)
    if day is not None:
        zone = time_zone or await tenant_time_zone(ctx)
        start, end = day_bounds(day, zone)
        flt.add("a.start_at >= {} and a.start_at < {}", start, end)
    if cursor:
        after_start, after_id = decode_cursor(cursor)
        flt.add("(a.start_at, a.id) > ({}, {})", after_start, after_id)
    flt.args.append(limit + 1)
    rows = await ctx.tx.fetch(
        f"select {COLUMNS} from appointments a where {' and '.join(flt.clauses)} "
        f"order by a.start_at, a.id limit ${len(flt.args)}",
        *flt.args,
    )
    page, more = rows[:limit], len(rows) > limit
    next_cursor = encode_cursor(page[-1]["start_at"], page[-1]["id"]) if more else None
    await record(
        ctx,
        "appointment.list",
        "appointment",
        None,
        {"count": len(page), "resource_ids": [str(r["id"]) for r in page]},
    )
    return AppointmentPage(items=[to_appointment(r) for r in page], next_cursor=next_cursor)


async def reschedule_appointment(ctx: RequestContext, appointment_id: UUID, data: Reschedule) -> Appointment | None:
    """Move the appointment; None when it is not there. Raises NotReschedulableError, ConflictError."""
    row = await _fetch(ctx, appointment_id, lock=True)
    if row is None:
        return None
    if row["status"] not in RESCHEDULABLE:
        raise NotReschedulableError(row["status"])
    if row["status"] in OCCUPYING:
        await check_conflicts(
            ctx,
            patient_id=row["patient_id"],
            practitioner_id=row["practitioner_id"],
            start=data.start,
            end=data.end,
            exclude=appointment_id,
        )
    updated = await ctx.tx.fetchrow(
        f"update appointments a set start_at = $2, end_at = $3, time_zone = coalesce($4, time_zone), "
        f"updated_at = now() where a.id = $1 returning {COLUMNS}",
        appointment_id,
        data.start,
        data.end,
        data.time_zone,
    )
    await record(
        ctx,
        "appointment.reschedule",
        "appointment",
        appointment_id,
        {
            "patient_id": str(row["patient_id"]),
            "from": {"start": row["start_at"].isoformat(), "end": row["end_at"].isoformat()},
            "to": {"start": data.start.isoformat(), "end": data.end.isoformat()},
        },
    )
    appointment = to_appointment(updated)
    await ctx.emit(
        "appointment_rescheduled", appointment=appointment, previous_start=row["start_at"], previous_end=row["end_at"]
    )
    return appointment


async def transition_appointment(ctx: RequestContext, appointment_id: UUID, data: Transition) -> Appointment | None:
    """Move to ``data.status``; None when absent. Raises IllegalTransitionError, ConflictError."""
    row = await _fetch(ctx, appointment_id, lock=True)
    if row is None:
        return None
    previous = row["status"]
    check_transition(previous, data.status)
    if data.status in OCCUPYING and previous not in OCCUPYING:
        await check_conflicts(
            ctx,
            patient_id=row["patient_id"],
            practitioner_id=row["practitioner_id"],
            start=row["start_at"],
            end=row["end_at"],
            exclude=appointment_id,
        )
    updated = await ctx.tx.fetchrow(
        f"update appointments a set status = $2::varchar, "
        f"cancel_reason = case when $2::varchar = 'cancelled' then $3::varchar else cancel_reason end, "
        f"updated_at = now() where a.id = $1 returning {COLUMNS}",
        appointment_id,
        data.status,
        data.reason,
    )
    await _log_change(ctx, appointment_id, previous, data.status, data.reason)
    await record(
        ctx,
        "appointment.transition",
        "appointment",
        appointment_id,
        {"patient_id": str(row["patient_id"]), "from_status": previous, "to_status": data.status},
    )
    appointment = to_appointment(updated)
    await _announce(ctx, appointment, previous)
    return appointment


async def appointment_history(ctx: RequestContext, appointment_id: UUID) -> list[StatusChange] | None:
    """Status changes oldest first, creation included; None when the appointment is not there."""
    row = await _fetch(ctx, appointment_id)
    if row is None:
        return None
    rows = await ctx.tx.fetch(
        f"select {_HISTORY_COLUMNS} from appointment_status_history where appointment_id = $1 order by changed_at, id",
        appointment_id,
    )
    await record(
        ctx,
        "appointment.history",
        "appointment",
        appointment_id,
        {"patient_id": str(row["patient_id"]), "count": len(rows)},
    )
    return [StatusChange(**dict(r)) for r in rows]
