"""Turning appointments into planned touches (``plan.py`` decides; this stores).

One row per (kind, subject, touch key, subject time): planning twice inserts nothing new, so the
hooks, the sweep and a retried job may all plan the same appointment. A reschedule plans rows for
the new time and cancels the unsent rows of the old one; a cancellation cancels unsent rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from core.plugins.sdk import PluginContext
from plugins.reminders import plan
from plugins.reminders.facts import load_appointment, settings_of

KIND = "appointment"
WENT_OUT = ("sending", "sent", "delivered", "failed")
"""Statuses of a touch the patient may have heard (``failed`` included: some channel may have reached them)."""
REPAIR_HORIZON = timedelta(days=4)
DISPATCH_ACTOR = "reminders.dispatch"


async def cancel_unsent(ctx: PluginContext, subject_id: UUID, reason: str, *, kind: str = KIND) -> int:
    """Cancel the planned touches of a subject; how many."""
    rows = await ctx.tx.fetch(
        "update reminder_touches set status = 'cancelled', reason = $3, updated_at = now() "
        "where kind = $1 and subject_id = $2 and status = 'planned' returning id, patient_id",
        kind,
        subject_id,
        reason[:500],
    )
    if rows:
        await ctx.audit(
            "reminders.cancel",
            "appointment",
            subject_id,
            {"patient_id": str(rows[0]["patient_id"]), "touches": len(rows), "reason": reason},
        )
    return len(rows)


async def plan_appointment(ctx: PluginContext, appointment_id: UUID, *, now: datetime | None = None) -> int:
    """Plan (or re-plan) the touches of one appointment; returns how many rows were added.

    Not booked any more (or its patient deleted): unsent touches are cancelled instead.
    """
    settings = settings_of(ctx)
    appointment = await load_appointment(ctx, appointment_id, settings)
    if appointment is None:
        await cancel_unsent(ctx, appointment_id, "the appointment is gone")
        return 0
    if appointment.status != "booked" or appointment.patient_deleted:
        await cancel_unsent(ctx, appointment_id, f"the appointment is {appointment.status}")
        return 0
    now = now or datetime.now(UTC)
    start = appointment.start
    existing = await ctx.tx.fetch(
        "select id, touch_key, subject_at, status, offset_seconds, due_at, send_at from reminder_touches "
        "where kind = $1 and subject_id = $2 order by subject_at for update",
        KIND,
        appointment_id,
    )
    older = [r for r in existing if r["subject_at"] != start]
    if older:
        await cancel_unsent(ctx, appointment_id, "rescheduled")
    rule = appointment.rule(settings)
    arguments: dict[str, Any] = {
        "offsets": rule.offsets,
        "now": now,
        "patient_zone": appointment.patient_zone,
        "quiet_start": appointment.quiet_start,
        "quiet_end": appointment.quiet_end,
        "min_lead": rule.min_lead,
    }
    if older:
        old_start = older[-1]["subject_at"]  # the time the patient was last told about
        old_rows = [r for r in older if r["subject_at"] == old_start]
        old = [
            plan.Touch(
                key=r["touch_key"],
                offset=timedelta(seconds=r["offset_seconds"]),
                appointment_start=old_start,
                due_at=r["due_at"],
                outcome="skip",
                reason="in_past",
            )
            for r in old_rows
        ]
        sent = {r["touch_key"] for r in old_rows if r["status"] in WENT_OUT}
        touches = plan.replan(old, start, already_sent=sent, **arguments)
    else:
        touches = plan.plan_touches(start, **arguments)
    added = 0
    due_now = False
    for touch in touches:
        inserted = await ctx.tx.fetchval(
            "insert into reminder_touches (tenant_id, kind, subject_id, subject_at, patient_id, touch_key, "
            "offset_seconds, due_at, send_at, status, reason, immediate, rescheduled) "
            "values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
            "on conflict (tenant_id, kind, subject_id, touch_key, subject_at) do nothing returning true",
            ctx.tenant_id,
            KIND,
            appointment_id,
            start,
            appointment.patient_id,
            touch.key,
            int(touch.offset.total_seconds()),
            touch.due_at,
            touch.send_at,
            "planned" if touch.sends else "skipped",
            touch.reason,
            touch.immediate,
            touch.rescheduled,
        )
        if inserted:
            added += 1
            due_now = due_now or (touch.send_at is not None and touch.send_at <= now + timedelta(minutes=1))
    if added:
        await ctx.audit(
            "reminders.plan",
            "appointment",
            appointment_id,
            {
                "patient_id": str(appointment.patient_id),
                "start": start.isoformat(),
                "touches": [
                    {"key": t.key, "send_at": t.send_at.isoformat() if t.send_at else None, "reason": t.reason}
                    for t in touches
                ],
            },
        )
    if due_now:  # the catch-up touch: out now rather than at the next sweep
        await ctx.enqueue(
            DISPATCH_ACTOR,
            {"subject_id": str(appointment_id)},
            idempotency_key=f"reminders:dispatch:{appointment_id}:{start.isoformat()}",
        )
    return added


async def repair(ctx: PluginContext, *, now: datetime | None = None) -> int:
    """Plan booked appointments of the next days that have no touches for their current time;
    cancel planned touches whose appointment is no longer booked at that time (missed hooks)."""
    now = now or datetime.now(UTC)
    stale = await ctx.tx.fetch(
        "select distinct t.subject_id from reminder_touches t left join appointments a on a.id = t.subject_id "
        "where t.kind = 'appointment' and t.status = 'planned' "
        "and (a.id is null or a.status <> 'booked' or a.start_at <> t.subject_at)"
    )
    for row in stale:
        await plan_appointment(ctx, row["subject_id"], now=now)  # re-plans the new time, or cancels
    missing = await ctx.tx.fetch(
        "select a.id from appointments a join patients p on p.id = a.patient_id and p.deleted_at is null "
        "where a.status = 'booked' and a.start_at > $1 and a.start_at <= $2 and not exists ("
        "select 1 from reminder_touches t where t.kind = 'appointment' and t.subject_id = a.id "
        "and t.subject_at = a.start_at) order by a.start_at limit 2000",
        now,
        now + REPAIR_HORIZON,
    )
    planned = 0
    for row in missing:
        planned += 1 if await plan_appointment(ctx, row["id"], now=now) else 0
    return planned
