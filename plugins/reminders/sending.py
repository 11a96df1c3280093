"""Sending touches: claim the due ones, try the channels in order, follow the outcome, escalate once.

* **Claim.** Due touches move ``planned -> sending`` in one ``update ... where id in (select ... for
  update skip locked)`` that re-checks the status, so two schedulers, overlapping sweeps and
  redeliveries never take the same touch twice. The claim and the notification requests commit
  together: a rolled-back job sent nothing and leaves the touch planned.
* **Once per channel.** Each channel tried is a ``reminder_deliveries`` row, unique per (touch, round,
  channel, recipient), and the notification's idempotency key is ``reminder:{touch}:{channel}``
  (``reminder:{touch}:resend{n}:{channel}`` for the n-th manual resend): a repeated request returns
  the first notification instead of a second message.
* **Fallback.** A channel that ends ``failed``, ``bounced``, ``skipped`` (opted out, not
  configured) or ``suppressed`` (no consent: at once when requested, or at send time) moves the touch
  to the next channel. Core checks consent and quiet hours again at send time.
* **Escalation.** When no channel is left (or ``max_failures`` channels failed) the touch is
  ``failed`` and one worklist task "Reminder could not be delivered" is raised for the subject: the
  row ``reminder_flags (subject, 'undeliverable')`` makes it once only.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from core.notifications.service import NotificationRequestError, PatientNotFoundError, request_notification
from core.notifications.template_store import find_template
from core.plugins.sdk import PluginContext, create_task
from plugins.reminders.facts import load_appointment, settings_of

SENT = frozenset({"sent", "delivered"})
FAILED = frozenset({"failed", "bounced", "skipped", "suppressed"})
PENDING = ("requested", "queued", "deferred", "sending")
RESEND_GUARD = timedelta(minutes=10)
SUPERSEDED = "superseded by a later reminder due at the same time"
DOCUMENTS_FROM = timedelta(hours=24)
"""Touches this long or longer before the start list the documents to bring (72 h, 24 h; not the 2 h one)."""
TOUCH_COLUMNS = (
    "id, kind, subject_id, subject_at, patient_id, touch_key, offset_seconds, status, reason, immediate, rescheduled, "
    "channel, notification_ids, failures, round, resend_requested_at, claimed_at, send_at, sent_at, created_at, "
    "updated_at"
)
FOCUS: dict[str, Literal["appointment", "referral", "patient", "other"]] = {
    "appointment": "appointment",
    "referral_followup": "referral",
}
Outcome = Literal["pending", "sent", "failed"]


@dataclass(frozen=True)
class Outgoing:
    """What a touch says and where it may go; built by the kind's preparer at send time."""

    patient_id: UUID
    channels: list[str]
    template: str
    context: dict[str, Any]
    language: str | None
    about: str
    """For the coordinator's task: "the appointment on Tuesday, March 3, 2:30 PM"."""
    min_lead: timedelta | None = None
    starts_at: datetime | None = None


Preparer = Callable[[PluginContext, Any], Awaitable["Outgoing | str"]]
"""A kind's preparer: the touch row -> what to send, or why the touch is void now (it is cancelled)."""


async def prepare_appointment(ctx: PluginContext, touch: Any) -> Outgoing | str:
    settings = settings_of(ctx)
    appointment = await load_appointment(ctx, touch["subject_id"], settings)
    if appointment is None or appointment.patient_deleted:
        return "the appointment is gone"
    if appointment.status != "booked":
        return f"the appointment is {appointment.status}"
    if appointment.start != touch["subject_at"]:
        return "rescheduled"
    documents = (
        settings.documents_for(appointment.specialty, appointment.reason)
        if touch["offset_seconds"] >= DOCUMENTS_FROM.total_seconds()
        else []
    )
    message = appointment.message(rescheduled=touch["rescheduled"], documents=documents)
    return Outgoing(
        patient_id=appointment.patient_id,
        channels=list[str](appointment.channels(settings)),
        template=settings.templates.of("appointment"),
        context={**message, "reminder": {"kind": "appointment", "touch": touch["touch_key"]}},
        language=appointment.language,
        about=f"the appointment on {message['appointment']['when']}",
        min_lead=appointment.rule(settings).min_lead,
        starts_at=appointment.start,
    )


PREPARERS: dict[str, Preparer] = {"appointment": prepare_appointment}
"""One preparer per kind: a new kind (referral follow-up, screening, documents) registers here."""


class ResendRefusedError(Exception):
    """A manual resend that the guard refuses (a 409)."""


# -- dispatch -------------------------------------------------------------------------------------


async def dispatch_due(
    ctx: PluginContext, *, subject_id: UUID | None = None, limit: int = 200, now: datetime | None = None
) -> int:
    """Claim the touches whose time has come and send each on its first channel; how many were claimed."""
    now = now or datetime.now(UTC)
    # A late sweep: when a later touch of the same subject is due too, only that one goes out. Decided from
    # the rows, not from what this sweep happened to claim, so two sweeps at once decide the same.
    await ctx.tx.execute(
        "update reminder_touches set status = 'skipped', reason = $4, updated_at = now() where id in ("
        "select t.id from reminder_touches t where t.status = 'planned' and t.send_at <= $1 "
        "and ($2::uuid is null or t.subject_id = $2) and exists (select 1 from reminder_touches u "
        "where u.kind = t.kind and u.subject_id = t.subject_id and u.subject_at = t.subject_at "
        "and u.send_at > t.send_at and u.send_at <= $1 and u.status in ('planned', 'sending', 'sent', 'delivered', "
        "'failed')) order by t.send_at limit $3 for update of t skip locked) and status = 'planned'",
        now,
        subject_id,
        limit,
        SUPERSEDED,
    )
    claimed = await ctx.tx.fetch(
        f"update reminder_touches set status = 'sending', claimed_at = now(), updated_at = now() "
        f"where id in (select id from reminder_touches where status = 'planned' and send_at <= $1 "
        f"and ($2::uuid is null or subject_id = $2) order by send_at limit $3 for update skip locked) "
        f"and status = 'planned' returning {TOUCH_COLUMNS}",
        now,
        subject_id,
        limit,
    )
    latest: dict[tuple[str, UUID], Any] = {}
    for touch in claimed:
        key = (touch["kind"], touch["subject_id"])
        if key not in latest or touch["send_at"] > latest[key]["send_at"]:
            latest[key] = touch
    for touch in claimed:
        if latest[(touch["kind"], touch["subject_id"])]["id"] != touch["id"]:
            # The sweep was late and a later touch of the same subject is due too: only that one goes out.
            await _set_status(ctx, touch["id"], "skipped", SUPERSEDED)
    for touch in latest.values():
        await start_touch(ctx, touch, now=now)
    return len(claimed)


async def start_touch(ctx: PluginContext, touch: Any, *, now: datetime) -> None:
    """First send of a claimed touch (status ``sending``, round 0)."""
    prepared = await _prepare(ctx, touch)
    if prepared is None:
        return
    if (
        prepared.starts_at is not None
        and prepared.min_lead is not None
        and prepared.starts_at - now < prepared.min_lead
    ):
        await _set_status(ctx, touch["id"], "skipped", "too_close")
        return
    await send_channels(ctx, touch, prepared, round_=0)
    if settings_of(ctx).caregiver_copies:
        await send_caregiver_copies(ctx, touch, prepared)


async def _prepare(ctx: PluginContext, touch: Any) -> Outgoing | None:
    preparer = PREPARERS.get(touch["kind"])
    if preparer is None:
        await _set_status(ctx, touch["id"], "failed", f"no sender for reminders of kind {touch['kind']}")
        return None
    prepared = await preparer(ctx, touch)
    if isinstance(prepared, str):
        await _set_status(ctx, touch["id"], "cancelled", prepared)
        await ctx.audit(
            "reminders.cancel",
            touch["kind"],
            touch["subject_id"],
            {"patient_id": str(touch["patient_id"]), "touch_id": str(touch["id"]), "reason": prepared},
        )
        return None
    return prepared


async def _set_status(ctx: PluginContext, touch_id: UUID, status: str, reason: str | None) -> None:
    await ctx.tx.execute(
        "update reminder_touches set status = $2, reason = $3, updated_at = now() where id = $1",
        touch_id,
        status,
        reason[:500] if reason else None,
    )


async def send_channels(ctx: PluginContext, touch: Any, prepared: Outgoing, *, round_: int) -> Outcome:
    """Try the channels not tried yet in this round, in order, until one is under way or sent.

    Channels whose request is refused at once (no consent, channel not installed) fall through to
    the next one here; those that fail later come back through :func:`follow_notification`.
    """
    settings = settings_of(ctx)
    tried = await ctx.tx.fetch(
        "select channel, status, detail from reminder_deliveries where touch_id = $1 and round = $2 "
        "and contact_id is null order by created_at",
        touch["id"],
        round_,
    )
    done = {row["channel"] for row in tried}
    failures = sum(row["status"] in FAILED for row in tried)
    notes = [f"{row['channel']}: {row['detail'] or row['status']}" for row in tried if row["status"] in FAILED]
    for channel in prepared.channels:
        if channel in done:
            continue
        if failures >= settings.max_failures:
            break
        outcome, detail = await _request(ctx, touch, prepared, channel, round_, None)
        if outcome != "failed":
            return outcome
        failures += 1
        notes.append(f"{channel}: {detail}")
    if not prepared.channels:
        notes.append("the patient has no address for any reminder channel")
    reason = "; ".join(notes) or "no channel left"
    await ctx.tx.execute(
        "update reminder_touches set status = 'failed', failures = $2, reason = $3, updated_at = now() where id = $1",
        touch["id"],
        failures,
        reason[:500],
    )
    await ctx.audit(
        "reminders.undeliverable",
        touch["kind"],
        touch["subject_id"],
        {"patient_id": str(touch["patient_id"]), "touch_id": str(touch["id"]), "reason": reason[:300]},
    )
    await raise_undeliverable(ctx, touch, prepared, reason)
    return "failed"


def idempotency_key(touch_id: UUID, channel: str, round_: int, contact_id: UUID | None = None) -> str:
    """``reminder:{touch}:{channel}``; resend rounds and caregiver copies have keys of their own."""
    prefix = f"reminder:{touch_id}"
    if round_:
        prefix += f":resend{round_}"
    if contact_id is not None:
        prefix += f":contact:{contact_id}"
    return f"{prefix}:{channel}"


async def _template(ctx: PluginContext, prepared: Outgoing, channel: str) -> str:
    """The kind's template, or ``generic`` when the tenant has none by that name for this channel."""
    if prepared.template == "generic":
        return "generic"
    found = await find_template(ctx.tx, prepared.template, channel, prepared.language)
    return prepared.template if found is not None else "generic"


async def _request(
    ctx: PluginContext, touch: Any, prepared: Outgoing, channel: str, round_: int, contact_id: UUID | None
) -> tuple[Outcome, str]:
    """Request one notification on ``channel`` and record it as a delivery."""
    delivery_id = await ctx.tx.fetchval(
        "insert into reminder_deliveries (tenant_id, touch_id, round, channel, contact_id, status) "
        "values ($1, $2, $3, $4, $5, 'requested') on conflict do nothing returning id",
        ctx.tenant_id,
        touch["id"],
        round_,
        channel,
        contact_id,
    )
    if delivery_id is None:
        return "pending", "already requested"
    extra: dict[str, Any] = {} if contact_id is None else {"contact_id": contact_id}
    notify: Any = request_notification
    try:
        notification = await notify(
            ctx,
            patient_id=prepared.patient_id,
            channel=channel,
            template=await _template(ctx, prepared, channel),
            context=prepared.context,
            idempotency_key=idempotency_key(touch["id"], channel, round_, contact_id),
            **extra,
        )
    except (NotificationRequestError, PatientNotFoundError) as exc:
        detail = str(exc) or type(exc).__name__
        await _set_delivery(ctx, delivery_id, "failed", detail, None)
        return "failed", detail
    status: str = notification.status
    detail = {"suppressed": "no active consent"}.get(status) or notification.last_error
    await _set_delivery(ctx, delivery_id, status, detail, notification.id)
    if contact_id is None:
        await ctx.tx.execute(
            "update reminder_touches set channel = $2, notification_ids = array_append(notification_ids, $3), "
            "updated_at = now() where id = $1",
            touch["id"],
            channel,
            notification.id,
        )
    await ctx.audit(
        "reminders.request",
        touch["kind"],
        touch["subject_id"],
        {
            "patient_id": str(prepared.patient_id),
            "touch_id": str(touch["id"]),
            "channel": channel,
            "notification_id": str(notification.id),
            "status": status,
            **({"contact_id": str(contact_id)} if contact_id else {}),
        },
    )
    if status in FAILED:
        return "failed", detail or status
    if status in SENT and contact_id is None:
        await _mark_sent(ctx, touch["id"], status)
        return "sent", status
    return "pending", status


async def _set_delivery(
    ctx: PluginContext, delivery_id: UUID, status: str, detail: str | None, notification_id: UUID | None
) -> None:
    await ctx.tx.execute(
        "update reminder_deliveries set status = $2, detail = $3, notification_id = coalesce($4, notification_id), "
        "updated_at = now() where id = $1",
        delivery_id,
        status,
        detail[:1000] if detail else None,
        notification_id,
    )


async def _mark_sent(ctx: PluginContext, touch_id: UUID, status: str) -> None:
    await ctx.tx.execute(
        "update reminder_touches set status = case when status = 'delivered' or $2::text = 'delivered' "
        "then 'delivered' else 'sent' end, sent_at = coalesce(sent_at, now()), reason = null, updated_at = now() "
        "where id = $1",
        touch_id,
        status,
    )


# -- following notifications ------------------------------------------------------------------------


async def follow_notification(ctx: PluginContext, notification_id: UUID, status: str, module: str | None) -> None:
    """``notification_status_changed``: mark the touch sent or delivered, or fall back to the next channel."""
    if module != ctx.module or status not in SENT | FAILED:
        return
    delivery = await ctx.tx.fetchrow(
        "select id, touch_id, round, channel, contact_id from reminder_deliveries where notification_id = $1",
        notification_id,
    )
    if delivery is None:
        return
    detail = None
    if status in FAILED:
        detail = await ctx.tx.fetchval("select last_error from notifications where id = $1", notification_id)
    await _set_delivery(ctx, delivery["id"], status, detail or status, None)
    if delivery["contact_id"] is not None:
        return  # a caregiver's copy: the patient's touch does not depend on it
    touch = await ctx.tx.fetchrow(
        f"select {TOUCH_COLUMNS} from reminder_touches where id = $1 for update", delivery["touch_id"]
    )
    if touch is None or touch["round"] != delivery["round"]:
        return
    audit = {"patient_id": str(touch["patient_id"]), "touch_id": str(touch["id"]), "channel": delivery["channel"]}
    if status in SENT:
        if touch["status"] in ("sending", "sent", "failed"):
            await _mark_sent(ctx, touch["id"], status)
            await ctx.audit(f"reminders.{status}", touch["kind"], touch["subject_id"], audit)
        return
    if touch["status"] not in ("sending", "sent") or touch["channel"] != delivery["channel"]:
        return  # delivered on another channel, cancelled, or an older channel reporting late
    await ctx.audit("reminders.channel_failed", touch["kind"], touch["subject_id"], {**audit, "status": status})
    await ctx.tx.execute(
        "update reminder_touches set status = 'sending', failures = failures + 1, updated_at = now() where id = $1",
        touch["id"],
    )
    prepared = await _prepare(ctx, touch)
    if prepared is not None:
        await send_channels(ctx, touch, prepared, round_=touch["round"])


# -- escalation -----------------------------------------------------------------------------------


async def raise_undeliverable(ctx: PluginContext, touch: Any, prepared: Outgoing, reason: str) -> UUID | None:
    """One worklist task per subject, however many touches fail: only the flag insert that wins creates it."""
    won = await ctx.tx.fetchval(
        "insert into reminder_flags (tenant_id, subject_type, subject_id, flag) values ($1, $2, $3, 'undeliverable') "
        "on conflict do nothing returning true",
        ctx.tenant_id,
        touch["kind"],
        touch["subject_id"],
    )
    if not won:
        return None
    soon = prepared.starts_at is not None and prepared.starts_at - datetime.now(UTC) < timedelta(hours=48)
    task = await create_task(
        ctx,
        title="Reminder could not be delivered",
        description=(
            f"The {touch['touch_key']} reminder of {prepared.about} reached the patient on no channel "
            f"({reason[:600]}). Call the patient, or fix their consents and contact details."
        ),
        priority="urgent" if soon else "routine",
        due_at=prepared.starts_at,
        owner_role="coordinator",
        focus_type=FOCUS.get(touch["kind"], "other"),
        focus_id=touch["subject_id"],
        patient_id=touch["patient_id"],
    )
    await ctx.tx.execute(
        "update reminder_flags set task_id = $3 where subject_type = $1 and subject_id = $2 and flag = 'undeliverable'",
        touch["kind"],
        touch["subject_id"],
        task.id,
    )
    await ctx.audit(
        "reminders.task",
        touch["kind"],
        touch["subject_id"],
        {"patient_id": str(touch["patient_id"]), "task_id": str(task.id), "touch_id": str(touch["id"])},
    )
    return task.id


# -- manual resend --------------------------------------------------------------------------------


async def resend(ctx: PluginContext, touch_id: UUID, channel: str | None, *, now: datetime | None = None) -> bool:
    """A coordinator's resend (a new round with keys of its own); False when the touch is not there.

    Refused (:class:`ResendRefusedError`) when the touch was delivered, is not sent yet or cancelled,
    a send of it is still under way, or it was sent or resent less than ten minutes ago.
    """
    now = now or datetime.now(UTC)
    touch = await ctx.tx.fetchrow(f"select {TOUCH_COLUMNS} from reminder_touches where id = $1 for update", touch_id)
    if touch is None:
        return False
    if touch["status"] == "delivered":
        raise ResendRefusedError("The reminder was delivered already")
    if touch["status"] == "planned":
        raise ResendRefusedError("The reminder has not gone out yet")
    if touch["status"] == "cancelled":
        raise ResendRefusedError("The reminder was cancelled")
    last = max((t for t in (touch["resend_requested_at"], touch["claimed_at"]) if t is not None), default=None)
    if last is not None and now - last < RESEND_GUARD:
        raise ResendRefusedError("The reminder went out less than 10 minutes ago")
    in_flight = await ctx.tx.fetchval(
        "select exists (select 1 from reminder_deliveries where touch_id = $1 and round = $2 "
        "and contact_id is null and status = any($3::text[]))",
        touch_id,
        touch["round"],
        list(PENDING),
    )
    if in_flight:
        raise ResendRefusedError("A send of this reminder is still under way")
    prepared = await PREPARERS[touch["kind"]](ctx, touch) if touch["kind"] in PREPARERS else "unknown kind"
    if isinstance(prepared, str):
        raise ResendRefusedError(f"The reminder cannot be sent: {prepared}")
    if channel is not None:
        prepared = replace(prepared, channels=[channel, *(c for c in prepared.channels if c != channel)])
    round_ = touch["round"] + 1
    updated = await ctx.tx.fetchrow(
        f"update reminder_touches set round = $2, resend_requested_at = $3, status = 'sending', failures = 0, "
        f"reason = null, updated_at = now() where id = $1 returning {TOUCH_COLUMNS}",
        touch_id,
        round_,
        now,
    )
    await ctx.audit(
        "reminders.resend",
        touch["kind"],
        touch["subject_id"],
        {"patient_id": str(touch["patient_id"]), "touch_id": str(touch_id), "round": round_, "channel": channel},
    )
    await send_channels(ctx, updated, prepared, round_=round_)
    return True


# -- caregiver copies -----------------------------------------------------------------------------


def contact_notifications_supported() -> bool:
    """Whether core's ``request_notification`` takes ``contact_id`` yet (sending to a patient's contact)."""
    return "contact_id" in inspect.signature(request_notification).parameters


async def caregiver_recipients(ctx: PluginContext, patient_id: UUID) -> list[Any]:
    """The patient's contacts allowed appointment reminders with an active sharing consent (core checks again)."""
    return list(
        await ctx.tx.fetch(
            "select c.id, c.phone, c.email from patient_contacts c where c.patient_id = $1 and c.deleted_at is null "
            "and 'appointment_reminders' = any(c.may_receive) and exists (select 1 from patient_consents s "
            "where s.patient_id = c.patient_id and s.kind = 'sharing' and s.contact_id = c.id "
            "and s.status = 'granted' and (s.expires_at is null or s.expires_at > now())) order by c.created_at",
            patient_id,
        )
    )


def caregiver_channel(contact: Any, channels: list[str]) -> str | None:
    """The first of the rule's channels the contact has an address for (sms or e-mail)."""
    for channel in channels:
        if (channel == "sms" and contact["phone"]) or (channel == "email" and contact["email"]):
            return channel
    return None


async def send_caregiver_copies(ctx: PluginContext, touch: Any, prepared: Outgoing) -> int:
    """Copy the touch to each consenting caregiver; how many were requested (0 until core supports it)."""
    if not contact_notifications_supported():
        return 0  # waiting on core: request_notification(..., contact_id=...)
    settings = settings_of(ctx)
    channels: list[str] = list(settings.channels)
    requested = 0
    for contact in await caregiver_recipients(ctx, prepared.patient_id):
        channel = caregiver_channel(contact, channels)
        if channel is None:
            continue
        outcome, _ = await _request(ctx, touch, prepared, channel, 0, contact["id"])
        requested += outcome != "failed"
    return requested
