"""Reminder kinds beyond appointments, through the same touches, claiming, fallback and escalation.

* **Referral follow-up** (``referral_followup``): the core hook ``referral_status_changed`` keeps what
  the module needs in ``reminder_referrals``. While a referral is ``sent``, ``received`` or
  ``accepted`` it has one touch, ``referral_followup_days`` (default 5) after it was sent (or after the
  change, when the module heard of it later), moved out of the patient's quiet hours: "please book with
  the specialist". Any other status (``scheduled``, ``seen``, ``closed``, ``cancelled``, ``rejected``,
  ``on_hold``, ``replaced``) cancels it, and the preparer checks the status again at send time. A
  referral that comes back to ``sent`` later (after a hold) gets a new touch only if none went out.
* **Preventive screening** (``screening``): rows of ``reminder_screenings`` (``/patients/{id}/screenings``).
  Two touches anchored at ``local_send_time`` (10:00) of the due date on the patient's clock:
  ``{N}d`` (``screening_lead_days`` before, default 14; none when 0) and ``due``, each moved out of
  quiet hours. A touch whose time has passed is sent at once if its day (patient's clock) is today,
  otherwise skipped (``in_past``). Deleting the screening cancels its unsent touches.
* **Documents to bring** are not a kind of their own: the appointment touches sent 24 h or more before
  the start list them (``documents_by_specialty`` / ``documents_by_reason``), see ``sending.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from core.plugins.sdk import PluginContext
from plugins.reminders.facts import load_patient, settings_of
from plugins.reminders.messages import referral_followup_message, screening_message
from plugins.reminders.plan import next_allowed
from plugins.reminders.planning import cancel_unsent
from plugins.reminders.sending import PREPARERS, Outgoing

REFERRAL = "referral_followup"
SCREENING = "screening"
OPEN_REFERRAL = frozenset({"sent", "received", "accepted"})
LIVE_TOUCH = ("planned", "sending", "sent", "delivered", "failed")


async def _insert(
    ctx: PluginContext,
    kind: str,
    subject_id: UUID,
    subject_at: datetime,
    patient_id: UUID,
    key: str,
    offset: timedelta,
    due_at: datetime,
    send_at: datetime | None,
    reason: str | None,
    immediate: bool,
) -> bool:
    inserted = await ctx.tx.fetchval(
        "insert into reminder_touches (tenant_id, kind, subject_id, subject_at, patient_id, touch_key, offset_seconds, "
        "due_at, send_at, status, reason, immediate) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
        "on conflict (tenant_id, kind, subject_id, touch_key, subject_at) do nothing returning true",
        ctx.tenant_id,
        kind,
        subject_id,
        subject_at,
        patient_id,
        key,
        int(offset.total_seconds()),
        due_at,
        send_at,
        "planned" if send_at is not None else "skipped",
        reason,
        immediate,
    )
    return bool(inserted)


# -- referral follow-ups ------------------------------------------------------------------------------


async def referral_changed(ctx: PluginContext, referral: Any, *, now: datetime | None = None) -> int:
    """``referral_status_changed``: remember the referral; plan its follow-up while open, else cancel it."""
    now = now or datetime.now(UTC)
    status = str(referral.status)
    await ctx.tx.execute(
        "insert into reminder_referrals (tenant_id, referral_id, patient_id, status, specialty, "
        "target_practitioner_id) values ($1, $2, $3, $4, $5, $6) on conflict (tenant_id, referral_id) "
        "do update set status = excluded.status, specialty = excluded.specialty, "
        "target_practitioner_id = excluded.target_practitioner_id, updated_at = now()",
        ctx.tenant_id,
        referral.id,
        referral.patient_id,
        status,
        referral.specialty,
        referral.target_practitioner_id,
    )
    if status not in OPEN_REFERRAL:
        await cancel_unsent(ctx, referral.id, f"the referral is {status}", kind=REFERRAL)
        return 0
    live = await ctx.tx.fetchval(
        "select exists (select 1 from reminder_touches where kind = $1 and subject_id = $2 "
        "and status = any($3::text[]))",
        REFERRAL,
        referral.id,
        list(LIVE_TOUCH),
    )
    if live:
        return 0
    settings = settings_of(ctx)
    patient = await load_patient(ctx, referral.patient_id, settings)
    if patient is None or patient.deleted:
        return 0
    sent_at = getattr(referral, "sent_at", None)
    anchor = sent_at if sent_at is not None and status == "sent" else now
    days = timedelta(days=settings.referral_followup_days)
    due_at = anchor + days
    send_at = max(next_allowed(due_at, patient.zone, patient.quiet_start, patient.quiet_end), now)
    added = await _insert(
        ctx, REFERRAL, referral.id, anchor, referral.patient_id, f"{settings.referral_followup_days}d",
        days, due_at, send_at, None, False,
    )  # fmt: skip
    if added:
        await ctx.audit(
            "reminders.plan",
            "referral",
            referral.id,
            {"patient_id": str(referral.patient_id), "kind": REFERRAL, "send_at": send_at.isoformat()},
        )
    return int(added)


async def prepare_referral(ctx: PluginContext, touch: Any) -> Outgoing | str:
    referral = await ctx.tx.fetchrow(
        "select status, specialty, patient_id from reminder_referrals where referral_id = $1", touch["subject_id"]
    )
    if referral is None:
        return "the referral is gone"
    if referral["status"] not in OPEN_REFERRAL:
        return f"the referral is {referral['status']}"
    settings = settings_of(ctx)
    patient = await load_patient(ctx, referral["patient_id"], settings)
    if patient is None or patient.deleted:
        return "the patient record was deleted"
    message = referral_followup_message(referral["specialty"], patient.language)
    return Outgoing(
        patient_id=patient.id,
        channels=list[str](patient.channels(settings)),
        template=settings.templates.of("referral_followup"),
        context={**message, "reminder": {"kind": REFERRAL, "touch": touch["touch_key"]}},
        language=patient.language,
        about=f"the {referral['specialty'] or ''} referral follow-up".replace("  ", " "),
    )


# -- screenings ----------------------------------------------------------------------------------------


async def plan_screening(
    ctx: PluginContext, screening_id: UUID, patient_id: UUID, due_on: date, *, now: datetime | None = None
) -> int:
    """Plan the lead and due-date touches of one screening; how many rows were added."""
    now = now or datetime.now(UTC)
    settings = settings_of(ctx)
    patient = await load_patient(ctx, patient_id, settings)
    if patient is None or patient.deleted:
        return 0
    anchor = datetime.combine(due_on, settings.local_send_time, tzinfo=patient.zone).astimezone(UTC)
    offsets = [(f"{settings.screening_lead_days}d", timedelta(days=settings.screening_lead_days))]
    offsets = [o for o in offsets if o[1] > timedelta(0)] + [("due", timedelta(0))]
    today = now.astimezone(patient.zone).date()
    added = 0
    for key, offset in offsets:
        due_at = anchor - offset
        send_at: datetime | None = next_allowed(due_at, patient.zone, patient.quiet_start, patient.quiet_end)
        reason, immediate = None, False
        if send_at is not None and send_at <= now:
            if due_at.astimezone(patient.zone).date() == today:
                send_at, immediate = next_allowed(now, patient.zone, patient.quiet_start, patient.quiet_end), True
            else:
                send_at, reason = None, "in_past"
        added += await _insert(
            ctx, SCREENING, screening_id, anchor, patient_id, key, offset, due_at, send_at, reason, immediate
        )
    await ctx.audit(
        "reminders.plan", "screening", screening_id, {"patient_id": str(patient_id), "kind": SCREENING, "added": added}
    )
    return added


async def prepare_screening(ctx: PluginContext, touch: Any) -> Outgoing | str:
    screening = await ctx.tx.fetchrow(
        "select name, due_on, patient_id from reminder_screenings where id = $1", touch["subject_id"]
    )
    if screening is None:
        return "the screening was removed"
    settings = settings_of(ctx)
    patient = await load_patient(ctx, screening["patient_id"], settings)
    if patient is None or patient.deleted:
        return "the patient record was deleted"
    due_local = touch["subject_at"].astimezone(patient.zone)
    message = screening_message(screening["name"], due_local, patient.language, on_due_date=touch["touch_key"] == "due")
    return Outgoing(
        patient_id=patient.id,
        channels=list[str](patient.channels(settings)),
        template=settings.templates.of("screening"),
        context={**message, "reminder": {"kind": SCREENING, "touch": touch["touch_key"]}},
        language=patient.language,
        about=f"the {screening['name']} due on {screening['due_on'].isoformat()}",
    )


PREPARERS[REFERRAL] = prepare_referral
PREPARERS[SCREENING] = prepare_screening
