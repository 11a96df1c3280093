"""Applying the patient's replies (core hook ``message_received``): confirm, cancel, reschedule, STOP, START, HELP.

``replies.parse_reply`` decides what the text means; this module decides what to do about it:

* **Which appointment.** The notification the message answers (``in_reply_to_notification_id``) ->
  ``reminder_deliveries`` -> its touch -> the appointment. Failing that (the SMS answered was not a
  reminder, an e-mail without In-Reply-To), the patient's next booked appointment that had a reminder
  sent in the last 7 days; else none.
* **Who.** Only a message matched to the patient's own number or address (``match = patient``) acts.
  A caregiver's (``contact``) or a shared number's (``ambiguous``) reply changes nothing on a guess: it
  becomes a "Patient reply needs a person" task. An unknown sender gets nothing but an audit event.
* **confirm**: a ``reminder_confirmations`` row for the appointment's current start, and the planned
  touches of that start are cancelled except the last one (the smallest offset, 2 h by default): the
  confirmed patient still gets the "see you soon" reminder, the earlier ones are no longer needed.
* **cancel**: core ``transition_appointment`` to ``cancelled`` with reason ``patient replied: <text>``
  (``appointment_cancelled`` then cancels the touches, here and in other modules).
* **reschedule**: one task "Patient asked to reschedule" per appointment (focus: the appointment).
* **stop**: core ``opt_out`` of the channel (source ``reply``) and, when the opt-out is new, one
  acknowledgement on the same channel (template ``opt_out_confirmation``, sent although the patient just
  opted out: ``request_notification(..., transactional=True)``). A bare ``CANCEL`` on SMS (stop, maybe
  cancel): the opt-out, plus a task asking a coordinator to call about the appointment.
* **start**: core ``opt_in`` (consent restored). **help**: a short help text (normal consent rules).
* **unknown**, and confirm/cancel/reschedule with no appointment found: one task "Patient reply needs a
  person" per inbound message, with the text.

Once only: ``reminder_replies`` has one row per inbound message; a second application finds it and
does nothing (core fires the hook once per provider message anyway). Every action is audited with the
patient's id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from core.care.appointments.schemas import Transition
from core.care.appointments.service import ConflictError, transition_appointment
from core.care.appointments.states import IllegalTransitionError
from core.http.context import RequestContext
from core.notifications.inbound_opt_outs import opted_out
from core.notifications.service import (
    OPT_OUT_CONFIRMATION,
    NotificationRequestError,
    PatientNotFoundError,
    request_notification,
)
from core.plugins.sdk import InboundMessage, PluginContext, create_task, opt_in, opt_out
from plugins.reminders.messages import text_language
from plugins.reminders.replies import Reply, parse_reply

log = logging.getLogger(__name__)

RECENT_REMINDER_DAYS = 7
NEEDS_A_PERSON = "Patient reply needs a person"
HELP_TEXT = {
    "en": "Reply C to confirm your appointment, R to reschedule it, STOP to receive no more messages. "
    "For anything else, call us.",
    "es": "Responda C para confirmar su cita, R para reprogramarla, STOP para no recibir más mensajes. "
    "Para cualquier otra cosa, llámenos.",
}
Focus = Literal["appointment", "patient"]


@dataclass(frozen=True)
class Target:
    """The appointment a reply is about, as the module sees it."""

    id: UUID
    status: str
    start: Any
    patient_id: UUID


async def apply_message(ctx: PluginContext, message: InboundMessage) -> str:
    """Act on one inbound message; returns what was done (also stored in ``reminder_replies.action``)."""
    if message.patient_id is None:
        log.info("inbound %s message %s from an unknown sender: nothing to apply", message.channel, message.id)
        await ctx.audit("reminders.reply_unmatched", "inbound_message", message.id, {"channel": message.channel})
        return "unmatched"
    patient_id = message.patient_id
    first = await ctx.tx.fetchval(
        "insert into reminder_replies (tenant_id, inbound_message_id, patient_id, channel) values ($1, $2, $3, $4) "
        "on conflict do nothing returning true",
        ctx.tenant_id,
        message.id,
        patient_id,
        message.channel,
    )
    if not first:
        return "already applied"
    opted = await opted_out(ctx.tx, patient_id, message.channel)
    reply = parse_reply(message.body, channel=message.channel, opted_out=opted)
    target = await find_appointment(ctx, patient_id, message.in_reply_to_notification_id)
    if message.match != "patient":
        # A caregiver's number, or one several patients share: nothing changes on a guess.
        action, detail = await _needs_a_person(
            ctx,
            message,
            reply,
            target,
            "the sender is a contact of the patient"
            if message.match == "contact"
            else "the sender's address is shared by several patients",
        )
    else:
        action, detail = await _apply(ctx, message, reply, target)
    await ctx.tx.execute(
        "update reminder_replies set kind = $2, alternative = $3, appointment_id = $4, action = $5, detail = $6 "
        "where inbound_message_id = $1",
        message.id,
        reply.kind,
        reply.alternative,
        target.id if target else None,
        action,
        detail[:1000] if detail else None,
    )
    await ctx.audit(
        "reminders.reply",
        "appointment" if target else "patient",
        target.id if target else patient_id,
        {
            "patient_id": str(patient_id),
            "inbound_message_id": str(message.id),
            "channel": message.channel,
            "kind": reply.kind,
            "alternative": reply.alternative,
            "matched": reply.matched,
            "action": action,
            "detail": detail,
        },
    )
    return action


async def find_appointment(ctx: PluginContext, patient_id: UUID, notification_id: UUID | None) -> Target | None:
    """The appointment answered: through the reminder that was answered, else the next one recently reminded of."""
    row = None
    if notification_id is not None:
        row = await ctx.tx.fetchrow(
            "select a.id, a.status, a.start_at, a.patient_id from reminder_deliveries d "
            "join reminder_touches t on t.id = d.touch_id and t.kind = 'appointment' "
            "join appointments a on a.id = t.subject_id where d.notification_id = $1 and a.patient_id = $2",
            notification_id,
            patient_id,
        )
    if row is None:
        row = await ctx.tx.fetchrow(
            "select a.id, a.status, a.start_at, a.patient_id from appointments a where a.patient_id = $1 "
            "and a.status = 'booked' and a.start_at > now() and exists (select 1 from reminder_touches t "
            "where t.kind = 'appointment' and t.subject_id = a.id and t.sent_at > now() - make_interval(days => $2)) "
            "order by a.start_at limit 1",
            patient_id,
            RECENT_REMINDER_DAYS,
        )
    if row is None:
        return None
    return Target(id=row["id"], status=row["status"], start=row["start_at"], patient_id=row["patient_id"])


async def _apply(
    ctx: PluginContext, message: InboundMessage, reply: Reply, target: Target | None
) -> tuple[str, str | None]:
    patient_id = message.patient_id
    assert patient_id is not None
    if reply.kind == "stop":
        return await _stop(ctx, message, reply, target)
    if reply.kind == "start":
        lifted = await opt_in(ctx, patient_id, message.channel, "reply", inbound_message_id=message.id)
        return ("opted_in", None) if lifted else ("opt_in_unchanged", "no opt-out on file")
    if reply.kind == "help":
        await _help(ctx, message, reply)
        return "help_sent", None
    if reply.kind == "unknown":
        return await _needs_a_person(ctx, message, reply, target, "the reply was not understood")
    if target is None:
        return await _needs_a_person(ctx, message, reply, target, f"a {reply.kind} but no appointment was found")
    if target.status != "booked":
        return await _needs_a_person(
            ctx, message, reply, target, f"a {reply.kind} but the appointment is {target.status}"
        )
    if reply.kind == "confirm":
        return await confirm(ctx, message, target)
    if reply.kind == "cancel":
        return await _cancel(ctx, message, reply, target)
    return await _reschedule(ctx, message, reply, target)


async def confirm(ctx: PluginContext, message: InboundMessage, target: Target) -> tuple[str, str | None]:
    """Record the confirmation of the current start; cancel the planned touches but the last."""
    added = await ctx.tx.fetchval(
        "insert into reminder_confirmations (tenant_id, appointment_id, subject_at, patient_id, channel, "
        "inbound_message_id, text) values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing returning true",
        ctx.tenant_id,
        target.id,
        target.start,
        target.patient_id,
        message.channel,
        message.id,
        message.body[:1000],
    )
    cancelled = await ctx.tx.fetch(
        "update reminder_touches set status = 'cancelled', reason = 'confirmed by the patient', updated_at = now() "
        "where kind = 'appointment' and subject_id = $1 and subject_at = $2 and status = 'planned' "
        "and offset_seconds > (select min(offset_seconds) from reminder_touches where kind = 'appointment' "
        "and subject_id = $1 and subject_at = $2) returning touch_key",
        target.id,
        target.start,
    )
    keys = ", ".join(r["touch_key"] for r in cancelled) or "none"
    return ("confirmed" if added else "already_confirmed"), f"touches cancelled: {keys}"


async def _cancel(ctx: PluginContext, message: InboundMessage, reply: Reply, target: Target) -> tuple[str, str | None]:
    reason = f"patient replied: {reply.text or message.body}"[:500]
    request = RequestContext(ctx.tx, ctx.principal, ctx.ip, ctx.request_id, ctx.plugins)
    try:
        await transition_appointment(request, target.id, Transition(status="cancelled", reason=reason))
    except (IllegalTransitionError, ConflictError) as exc:
        return await _needs_a_person(ctx, message, reply, target, f"asked to cancel, which failed: {exc}")
    return "cancelled", reason


async def _reschedule(
    ctx: PluginContext, message: InboundMessage, reply: Reply, target: Target
) -> tuple[str, str | None]:
    task_id = await task_once(
        ctx,
        "appointment",
        target.id,
        "reschedule_request",
        title="Patient asked to reschedule",
        description=f"The patient replied on {message.channel}: “{reply.text or message.body}”. "
        "Call them to find a new time.",
        focus=("appointment", target.id),
        patient_id=target.patient_id,
    )
    return ("task", f"task {task_id}") if task_id else ("task_exists", "a reschedule task was raised already")


async def _stop(
    ctx: PluginContext, message: InboundMessage, reply: Reply, target: Target | None
) -> tuple[str, str | None]:
    patient_id = message.patient_id
    assert patient_id is not None
    created = await opt_out(ctx, patient_id, message.channel, "reply", inbound_message_id=message.id)
    detail = None
    if created:
        language = reply.language or await _patient_language(ctx, patient_id)
        try:
            ack = await request_notification(
                ctx,
                patient_id=patient_id,
                channel=message.channel,
                template=OPT_OUT_CONFIRMATION,
                language=text_language(language),
                idempotency_key=f"opt-out-ack:{message.id}",
                transactional=True,
            )
            detail = f"acknowledgement {ack.id} ({ack.status})"
        except (NotificationRequestError, PatientNotFoundError) as exc:
            detail = f"no acknowledgement: {exc}"
    if reply.alternative == "cancel":
        await _needs_a_person(
            ctx,
            message,
            reply,
            target,
            "the patient texted CANCEL: carriers treat it as an opt-out (done), but they may mean the appointment",
            title="Patient texted CANCEL: messages or the appointment?",
        )
    return ("opted_out" if created else "already_opted_out"), detail


async def _help(ctx: PluginContext, message: InboundMessage, reply: Reply) -> None:
    patient_id = message.patient_id
    assert patient_id is not None
    lang = text_language(reply.language or await _patient_language(ctx, patient_id))
    try:
        await request_notification(
            ctx,
            patient_id=patient_id,
            channel=message.channel,
            context={"subject": "Help" if lang == "en" else "Ayuda", "text": HELP_TEXT[lang]},
            language=lang,
            idempotency_key=f"reply-help:{message.id}",
        )
    except (NotificationRequestError, PatientNotFoundError) as exc:
        log.info("help reply to %s not requested: %s", message.id, exc)


async def _patient_language(ctx: PluginContext, patient_id: UUID) -> str | None:
    language: str | None = await ctx.tx.fetchval(
        "select communication->>'language' from patients where id = $1", patient_id
    )
    return language


async def _needs_a_person(
    ctx: PluginContext,
    message: InboundMessage,
    reply: Reply,
    target: Target | None,
    why: str,
    *,
    title: str = NEEDS_A_PERSON,
) -> tuple[str, str | None]:
    patient_id = message.patient_id
    assert patient_id is not None
    focus: tuple[Focus, UUID] = ("appointment", target.id) if target else ("patient", patient_id)
    task_id = await task_once(
        ctx,
        "inbound_message",
        message.id,
        "needs_a_person",
        title=title,
        description=f"The patient replied on {message.channel}: “{message.body[:800]}” ({why}).",
        focus=focus,
        patient_id=patient_id,
    )
    return "task", f"task {task_id}: {why}" if task_id else why


async def task_once(
    ctx: PluginContext,
    subject_type: str,
    subject_id: UUID,
    flag: str,
    *,
    title: str,
    description: str,
    focus: tuple[Focus, UUID],
    patient_id: UUID,
) -> UUID | None:
    """A coordinator's task, raised once per subject and flag (``reminder_flags``); None when raised already."""
    won = await ctx.tx.fetchval(
        "insert into reminder_flags (tenant_id, subject_type, subject_id, flag) values ($1, $2, $3, $4) "
        "on conflict do nothing returning true",
        ctx.tenant_id,
        subject_type,
        subject_id,
        flag,
    )
    if not won:
        return None
    task = await create_task(
        ctx,
        title=title,
        description=description[:2000],
        owner_role="coordinator",
        focus_type=focus[0],
        focus_id=focus[1],
        patient_id=patient_id,
    )
    await ctx.tx.execute(
        "update reminder_flags set task_id = $4 where subject_type = $1 and subject_id = $2 and flag = $3",
        subject_type,
        subject_id,
        flag,
        task.id,
    )
    await ctx.audit(
        "reminders.task",
        focus[0],
        focus[1],
        {"patient_id": str(patient_id), "task_id": str(task.id), "flag": flag, "title": title},
    )
    return task.id
