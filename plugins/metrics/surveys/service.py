"""Surveys after care events: deciding, the token, sending through core's notifications, following delivery.

* **When.** A fulfilled appointment or a closed referral (module settings ``surveys``) makes one survey:
  ``metric_surveys`` is unique per (event type, event id), so a repeated hook does nothing more. A
  patient surveyed (a survey requested) less than ``min_days_between`` days ago is not asked again:
  the event still gets a row, ``unsent`` with the reason, so staff see why.
* **The token** is 32 random bytes (``secrets.token_urlsafe``); only its SHA-256 is stored. It exists
  in clear only in the message core sends (the notification's variables), never in a log or a row of
  this module. A channel that fails gets a fresh token on the next channel: the old link dies with it.
* **Sending** is core's scheduled send: ``request_notification(not_before=event + delay_hours)``; core
  checks consent, opt-out and quiet hours again when the time comes. The first of ``channels`` the
  patient can receive (address on file, active channel consent, not opted out) is used; a channel that
  fails later (``notification_status_changed``) moves the survey to the next one.
* **Expiry** is ``send_at + expires_after_days``; the answer page refuses the link after that.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from core.notifications.callbacks import public_base_url
from core.notifications.service import (
    NotificationRequestError,
    PatientNotFoundError,
    consent_active,
    request_notification,
)
from core.notifications.template_store import find_template
from core.plugins.sdk import PluginContext
from plugins.metrics.settings import MetricsSettings, SurveySettings

PUBLIC_PREFIX = "/s"
"""Where the public answer page is mounted (at the root of the API's host)."""
TEMPLATE = "patient_survey"
"""A tenant may save a template of this name (variables ``survey.url``, ``survey.expires_on``); else ``generic``."""
SENT = frozenset({"sent", "delivered"})
FAILED = frozenset({"failed", "bounced", "skipped", "suppressed"})
ADDRESS = {"sms": "phone", "email": "email"}
COLUMNS = (
    "id, event_type, event_id, event_at, patient_id, coordinator_id, provider_id, status, reason, channel, "
    "channels_tried, notification_id, send_at, sent_at, expires_at, answered_at, score, clarity, comment, "
    "created_at, updated_at"
)


def survey_settings(ctx: PluginContext) -> SurveySettings:
    settings = ctx.settings
    return settings.surveys if isinstance(settings, MetricsSettings) else SurveySettings()


def new_token() -> tuple[str, bytes]:
    """A fresh token and the digest stored in its place."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def survey_url(token: str) -> str:
    return f"{public_base_url()}{PUBLIC_PREFIX}/{token}"


def _field(obj: Any, name: str) -> Any:
    """An attribute of a hook's object, whether it is a struct or a mapping (other modules' objects are Any)."""
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _uuid(value: Any) -> UUID | None:
    if value is None or isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        return None


# -- hooks ----------------------------------------------------------------------------------------


async def on_appointment_status_changed(ctx: PluginContext, appointment: Any, previous_status: str) -> None:
    """``appointment_status_changed``: a survey when the appointment becomes ``fulfilled``."""
    if _field(appointment, "status") != "fulfilled" or previous_status == "fulfilled":
        return
    if not survey_settings(ctx).after_fulfilled_appointment:
        return
    appointment_id, patient_id = _uuid(_field(appointment, "id")), _uuid(_field(appointment, "patient_id"))
    if appointment_id is None or patient_id is None:
        return
    event_at = await ctx.tx.fetchval(
        "select max(changed_at) from appointment_status_history where appointment_id = $1 and to_status = 'fulfilled'",
        appointment_id,
    )
    await schedule_survey(
        ctx,
        event_type="appointment",
        event_id=appointment_id,
        event_at=event_at or datetime.now(UTC),
        patient_id=patient_id,
        coordinator_id=await primary_coordinator(ctx, patient_id),
        provider_id=_uuid(_field(appointment, "practitioner_id")),
    )


async def on_referral_status_changed(ctx: PluginContext, referral: Any, previous_status: str | None) -> None:
    """``referral_status_changed``: a survey when the referral becomes ``closed`` (read as Any: no import)."""
    if _field(referral, "status") != "closed" or previous_status == "closed":
        return
    if not survey_settings(ctx).after_closed_referral:
        return
    referral_id, patient_id = _uuid(_field(referral, "id")), _uuid(_field(referral, "patient_id"))
    if referral_id is None or patient_id is None:
        return
    coordinator_id = _uuid(_field(referral, "coordinator_id")) or await primary_coordinator(ctx, patient_id)
    await schedule_survey(
        ctx,
        event_type="referral",
        event_id=referral_id,
        event_at=datetime.now(UTC),
        patient_id=patient_id,
        coordinator_id=coordinator_id,
        provider_id=_uuid(_field(referral, "target_practitioner_id")),
    )


async def on_notification_status_changed(
    ctx: PluginContext, notification_id: UUID, status: str, requested_by_module: str | None
) -> None:
    """``notification_status_changed``: mark the survey sent, or move it to the next channel when one fails."""
    if requested_by_module != ctx.module or status not in SENT | FAILED:
        return
    survey = await ctx.tx.fetchrow(
        f"select {COLUMNS} from metric_surveys where notification_id = $1 for update", notification_id
    )
    if survey is None or survey["status"] != "scheduled":
        return
    if status in SENT:
        await ctx.tx.execute(
            "update metric_surveys set status = 'sent', sent_at = coalesce(sent_at, now()), updated_at = now() "
            "where id = $1",
            survey["id"],
        )
        await ctx.audit(
            "metrics.survey_sent",
            "metric_survey",
            survey["id"],
            {
                "patient_id": str(survey["patient_id"]),
                "channel": survey["channel"],
                "notification_id": str(notification_id),
            },
        )
        return
    await ctx.audit(
        "metrics.survey_channel_failed",
        "metric_survey",
        survey["id"],
        {"patient_id": str(survey["patient_id"]), "channel": survey["channel"], "status": status},
    )
    await _send_next(ctx, survey, note=f"{survey['channel']}: {status}")


# -- deciding and sending ---------------------------------------------------------------------------


async def primary_coordinator(ctx: PluginContext, patient_id: UUID) -> UUID | None:
    """The patient's current primary coordinator (a user of the care team), if there is one."""
    found = await ctx.tx.fetchval(
        "select user_id from care_team_members where patient_id = $1 and is_primary_coordinator "
        "and user_id is not null and (period_end is null or period_end >= current_date) "
        "order by period_start desc, created_at desc limit 1",
        patient_id,
    )
    return _uuid(found)


async def schedule_survey(
    ctx: PluginContext,
    *,
    event_type: str,
    event_id: UUID,
    event_at: datetime,
    patient_id: UUID,
    coordinator_id: UUID | None,
    provider_id: UUID | None,
) -> UUID | None:
    """Record the event's survey and request its message; None when the event already has one."""
    settings = survey_settings(ctx)
    # Two events of one patient at once (two appointments fulfilled together) decide one after the other.
    await ctx.tx.execute("select pg_advisory_xact_lock(hashtextextended($1, 0))", f"metric_survey:{patient_id}")
    if await ctx.tx.fetchval(
        "select true from metric_surveys where event_type = $1 and event_id = $2", event_type, event_id
    ):
        return None
    patient = await ctx.tx.fetchrow("select deleted_at from patients where id = $1", patient_id)
    if patient is None or patient["deleted_at"] is not None:
        return None
    reason = None
    if settings.min_days_between > 0 and await ctx.tx.fetchval(
        "select true from metric_surveys where patient_id = $1 and status in ('scheduled', 'sent', 'answered') "
        "and created_at > now() - make_interval(days => $2) limit 1",
        patient_id,
        settings.min_days_between,
    ):
        reason = f"the patient was surveyed less than {settings.min_days_between} days ago"
    now = datetime.now(UTC)
    send_at = now + timedelta(hours=settings.delay_hours)
    expires_at = send_at + timedelta(days=settings.expires_after_days)
    row = await ctx.tx.fetchrow(
        f"insert into metric_surveys (tenant_id, event_type, event_id, event_at, patient_id, coordinator_id, "
        f"provider_id, status, reason, send_at, expires_at) values ($1, $2, $3, $4, $5, $6, $7, 'unsent', $8, $9, $10) "
        f"on conflict (tenant_id, event_type, event_id) do nothing returning {COLUMNS}",
        ctx.tenant_id,
        event_type,
        event_id,
        event_at,
        patient_id,
        coordinator_id,
        provider_id,
        reason,
        send_at,
        expires_at,
    )
    if row is None:
        return None
    details = {"patient_id": str(patient_id), "event_type": event_type, "event_id": str(event_id)}
    if reason is not None:
        await ctx.audit("metrics.survey_skipped", "metric_survey", row["id"], {**details, "reason": reason})
        return UUID(str(row["id"]))
    await _send_next(ctx, row, note=None)
    return UUID(str(row["id"]))


async def _receivable(ctx: PluginContext, patient_id: UUID, channel: str) -> str | None:
    """Why the patient cannot receive the survey on ``channel`` now; None when they can."""
    address = ADDRESS.get(channel)
    if address is None:
        return "not a survey channel"
    patient = await ctx.tx.fetchrow(f"select {address} as address from patients where id = $1", patient_id)
    if patient is None or not patient["address"]:
        return f"no {address} on file"
    if await ctx.tx.fetchval(
        "select true from channel_opt_outs where patient_id = $1 and channel = $2", patient_id, channel
    ):
        return "opted out"
    if not await consent_active(ctx.tx, patient_id, channel):
        return "no active consent"
    return None


async def _send_next(ctx: PluginContext, survey: Any, *, note: str | None) -> None:
    """Request the survey on the first configured channel not tried yet that the patient can receive."""
    settings = survey_settings(ctx)
    tried = list(survey["channels_tried"] or [])
    notes = [note] if note else []
    now = datetime.now(UTC)
    for channel in settings.channels:
        if channel in tried:
            continue
        why = await _receivable(ctx, survey["patient_id"], channel)
        if why is not None:
            notes.append(f"{channel}: {why}")
            tried.append(channel)
            continue
        token, digest = new_token()
        send_at = max(survey["send_at"] or now, now)
        expires_at = send_at + timedelta(days=settings.expires_after_days)
        try:
            notification = await request_notification(
                ctx,
                patient_id=survey["patient_id"],
                channel=channel,
                template=await _template(ctx, survey["patient_id"], channel),
                context=_message(survey_url(token), expires_at),
                idempotency_key=f"survey:{survey['id']}:{channel}",
                not_before=send_at if send_at > now else None,
            )
        except (NotificationRequestError, PatientNotFoundError) as exc:
            notes.append(f"{channel}: {exc}")
            tried.append(channel)
            continue
        tried.append(channel)
        if notification.status in FAILED:
            notes.append(f"{channel}: {notification.status}")
            continue
        await ctx.tx.execute(
            "update metric_surveys set status = 'scheduled', token_hash = $2, channel = $3, channels_tried = $4, "
            "notification_id = $5, send_at = $6, expires_at = $7, reason = $8, updated_at = now() where id = $1",
            survey["id"],
            digest,
            channel,
            tried,
            notification.id,
            send_at,
            expires_at,
            "; ".join(notes)[:500] or None,
        )
        await ctx.audit(
            "metrics.survey_requested",
            "metric_survey",
            survey["id"],
            {
                "patient_id": str(survey["patient_id"]),
                "channel": channel,
                "notification_id": str(notification.id),
                "send_at": send_at.isoformat(),
            },
        )
        return
    reason = "; ".join(notes) or "no survey channel configured"
    status = "failed" if survey["status"] == "scheduled" else "unsent"
    await ctx.tx.execute(
        "update metric_surveys set status = $2::varchar, "
        "token_hash = case when $2::varchar = 'unsent' then null else token_hash end, "
        "channels_tried = $3, reason = $4, updated_at = now() where id = $1",
        survey["id"],
        status,
        tried,
        f"no channel the patient can receive ({reason})"[:500],
    )
    await ctx.audit(
        "metrics.survey_undeliverable",
        "metric_survey",
        survey["id"],
        {"patient_id": str(survey["patient_id"]), "reason": reason[:300]},
    )


async def _template(ctx: PluginContext, patient_id: UUID, channel: str) -> str:
    """The tenant's ``patient_survey`` template when it saved one for this channel, else ``generic``."""
    language = await ctx.tx.fetchval("select communication->>'language' from patients where id = $1", patient_id)
    found = await find_template(ctx.tx, TEMPLATE, channel, language)
    return TEMPLATE if found is not None else "generic"


def _message(url: str, expires_at: datetime) -> dict[str, Any]:
    """The variables of the survey message: the link and its last day; nothing about the care itself."""
    expires_on = expires_at.date().isoformat()
    return {
        "subject": "How did we do?",
        "text": (
            "Thank you for your recent visit. Would you tell us how it went? Two quick questions, about a minute:\n"
            f"{url}\n"
            f"The link works once, until {expires_on}."
        ),
        "survey": {"url": url, "expires_on": expires_on},
    }
