"""Sending one notification, as the ``notifications.send`` actor does it.

Everything that decides *whether* to send is evaluated now, at send time: the patient still
exists, the channel is enabled, the consent is active, it is not quiet hours where the patient
lives, the template renders. Each "no" is an ordinary outcome recorded in the job's
transaction (``skipped``, ``suppressed``, ``deferred``).

The send itself is an external effect, so the row is *claimed* first in a short transaction
of its own (``sending``): a second delivery of the same message finds the claim and backs
off, and a row already ``sent`` is never sent again. Success is recorded in the job's
transaction with the effect key. Failures are recorded in their own transaction (the job's
rolls back when the error propagates): ``failed`` for good on a permanent error or the last
retry, back to ``queued`` with the error otherwise.

If the process dies after the provider accepted but before the commit, the claim goes stale
and a redelivery sends again: at-least-once, softened by a stable e-mail Message-ID and an
``Idempotency-Key`` header for HTTP providers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any, NoReturn
from uuid import UUID

import msgspec

from core.db.apart import run_apart
from core.db.tenant import Tx
from core.http.context import RequestContext
from core.jobs.context import JobContext
from core.jobs.errors import PermanentError, payload_uuid
from core.notifications.account_mail import ACCOUNT_TEMPLATES, platform_email_config, unseal
from core.notifications.attachments import load_attachments
from core.notifications.callbacks import PROVIDER_CHANNELS, callback_url
from core.notifications.channels.base import Channel, ChannelContext, Message, Recipient, SendResult
from core.notifications.channels.registry import all_channels
from core.notifications.config import StoredConfig, load_config
from core.notifications.crypto import SecretsUnreadableError
from core.notifications.inbound_opt_outs import opted_out
from core.notifications.quiet_hours import quiet_until, zone
from core.notifications.schemas import Status
from core.notifications.service import OPT_OUT_CONFIRMATION, add_event, consent_active, sharing_allowed
from core.notifications.template_store import find_template
from core.notifications.templates import MessageTemplateError, render
from core.settings import get_settings

log = logging.getLogger("carecoord.notifications")

MAX_RETRIES = 5
MAX_DEFERRALS = 30
DONE: frozenset[str] = frozenset({"sent", "delivered", "failed", "bounced", "suppressed", "skipped"})


def send_timeout() -> int:
    """Seconds after which a claimed send counts as lost with its worker (``NOTIFICATION_SEND_TIMEOUT_SECONDS``)."""
    return get_settings().notification_send_timeout_seconds


class SendInProgressError(Exception):
    """Another delivery holds a fresh claim on this notification; retried later."""


@dataclass(frozen=True)
class Prepared:
    """What was read and decided before the send (all of it in the job's transaction)."""

    channel: Channel
    config: StoredConfig
    recipient: Recipient
    message: Message
    tenant_name: str


def _json(value: Any) -> dict[str, Any]:
    decoded = msgspec.json.decode(value) if isinstance(value, str) else value
    return dict(decoded or {})


async def send_notification(ctx: JobContext, notification_id: str) -> None:
    """The actor: decide, claim, send, record (see the module docstring)."""
    ident = payload_uuid(notification_id, actor="notifications.send", field="notification_id")
    row = await ctx.tx.fetchrow(
        "select id, patient_id, channel, template, language, context, status, not_before, deferrals, claimed_at, "
        "recipient_kind, recipient_name, recipient_address, contact_id, share_as, requested_by_module, user_id "
        "from notifications where id = $1",
        ident,
    )
    if row is None:
        raise PermanentError(f"notification {ident} does not exist in this tenant")
    status = row["status"]
    now = datetime.now(UTC)
    if status in DONE:
        log.info("notification %s is already %s; nothing to do", ident, status)
        return
    if status == "deferred" and row["not_before"] is not None and row["not_before"] > now:
        return  # a stray delivery: the release job queues it again when it is due
    claimed_at = row["claimed_at"]
    if status == "sending" and claimed_at is not None and (now - claimed_at).total_seconds() < send_timeout():
        raise SendInProgressError(f"notification {ident} is being sent by another delivery")

    outcome = await _decide(ctx, row, now)
    if not isinstance(outcome, Prepared):
        return
    if not await _claim(ctx.tenant_id, ident):
        raise SendInProgressError(f"notification {ident} was claimed by another delivery")
    try:
        result = await outcome.channel.send(_channel_context(ctx, outcome, ident), outcome.recipient, outcome.message)
    except PermanentError as exc:
        await _record_failure(ctx, ident, row["patient_id"], str(exc), final=True)
        raise
    except Exception as exc:
        final = ctx.attempt >= MAX_RETRIES
        await _record_failure(ctx, ident, row["patient_id"], f"{type(exc).__name__}: {exc}", final=final)
        if final:
            raise PermanentError(f"notification {ident}: gave up after {ctx.attempt + 1} attempts: {exc}") from exc
        raise
    await _record_sent(ctx, row, outcome, result)


async def _decide(ctx: JobContext, row: Any, now: datetime) -> Prepared | Status:
    """Everything checked at send time; returns what to send, or the status recorded instead."""
    ident, patient_id = row["id"], row["patient_id"]
    channel = all_channels(ctx.plugins).get(row["channel"])
    if channel is None:
        await _fail_now(ctx, ident, patient_id, f"the channel {row['channel']!r} is not installed")
    if row["recipient_kind"] == "user":
        return await _decide_user(ctx, row, channel)
    patient = await ctx.tx.fetchrow(
        "select given_name, family_name, email, phone, address, communication, deleted_at from patients where id = $1",
        patient_id,
    )
    if patient is None or patient["deleted_at"] is not None:
        return await _settle(ctx, ident, patient_id, "skipped", "the patient record was deleted")
    config = await load_config(ctx.tx, channel.name)
    if not config.enabled:
        return await _settle(ctx, ident, patient_id, "skipped", f"the {channel.name} channel is not enabled")
    tenant = await ctx.tx.fetchrow("select name, time_zone from tenants where id = $1", ctx.tenant_id)
    if row["recipient_kind"] == "provider":
        # About the patient, to a care provider: patient consent and quiet hours are the patient's, not theirs.
        recipient = Recipient(
            patient_id=patient_id,
            given_name=row["recipient_name"] or row["recipient_address"],
            family_name="",
            email=row["recipient_address"],
            phone=None,
            address=None,
            language=row["language"] or "en",
            kind="provider",
        )
        message = await _render(ctx, row, channel, recipient, patient, tenant["name"])
        return Prepared(channel, config, recipient, message, tenant["name"])
    if row["recipient_kind"] == "contact":
        return await _decide_contact(ctx, row, channel, config, patient, tenant, now)
    communication = _json(patient["communication"])
    # The opt-out acknowledgement (request_notification checked it is one): it answers the patient's own
    # message, so it goes out at once although the consent was just revoked.
    if row["template"] != OPT_OUT_CONFIRMATION:
        if await opted_out(ctx.tx, patient_id, channel.consent_channel):
            return await _settle(ctx, ident, patient_id, "skipped", "opted out")
        if not await consent_active(ctx.tx, patient_id, channel.consent_channel):
            return await _settle(
                ctx, ident, patient_id, "suppressed", f"no active {channel.consent_channel or channel.name} consent"
            )
        until = _quiet_until(channel, config, communication, tenant["time_zone"], now)
        if until is not None:
            return await _defer(ctx, ident, patient_id, row["deferrals"], until)
    if channel.recipient_field and not patient[channel.recipient_field]:
        field = {"email": "e-mail address", "phone": "phone number", "address": "postal address"}
        missing = field.get(channel.recipient_field, channel.recipient_field)
        return await _settle(ctx, ident, patient_id, "skipped", f"the patient has no {missing}")
    recipient = Recipient(
        patient_id=patient_id,
        given_name=patient["given_name"],
        family_name=patient["family_name"],
        email=patient["email"],
        phone=patient["phone"],
        address=_json(patient["address"]) if patient["address"] is not None else None,
        language=row["language"] or communication.get("language") or "en",
    )
    message = await _render(ctx, row, channel, recipient, patient, tenant["name"])
    return Prepared(channel, config, recipient, message, tenant["name"])


async def _decide_contact(
    ctx: JobContext, row: Any, channel: Channel, config: Any, patient: Any, tenant: Any, now: datetime
) -> Prepared | Status:
    """A copy for the patient's contact: the sharing consent again, the patient's quiet hours, the contact's address."""
    ident, patient_id = row["id"], row["patient_id"]
    if not await sharing_allowed(ctx.tx, patient_id, row["contact_id"], row["share_as"]):
        return await _settle(
            ctx, ident, patient_id, "suppressed", f"no sharing consent for this contact ({row['share_as']})"
        )
    contact = await ctx.tx.fetchrow("select name, phone, email from patient_contacts where id = $1", row["contact_id"])
    communication = _json(patient["communication"])
    until = _quiet_until(channel, config, communication, tenant["time_zone"], now)
    if until is not None:
        return await _defer(ctx, ident, patient_id, row["deferrals"], until)
    if channel.recipient_field not in ("email", "phone") or not contact[channel.recipient_field]:
        return await _settle(
            ctx, ident, patient_id, "skipped", f"the contact has no {channel.recipient_field or 'address'}"
        )
    recipient = Recipient(
        patient_id=patient_id,
        given_name=contact["name"],
        family_name="",
        email=contact["email"],
        phone=contact["phone"],
        address=None,
        language=row["language"] or communication.get("language") or "en",
        kind="contact",
    )
    message = await _render(ctx, row, channel, recipient, patient, tenant["name"])
    return Prepared(channel, config, recipient, message, tenant["name"])


async def _decide_user(ctx: JobContext, row: Any, channel: Channel) -> Prepared | Status:
    """A message to a staff user (a built report): the user's current address, while the user is active.

    Account e-mails (``account_mail``) also reach a ``pending`` user, and fall back on the platform's
    sender when the organization's channel is not enabled."""
    ident = row["id"]
    account = row["template"] in ACCOUNT_TEMPLATES
    config = await load_config(ctx.tx, channel.name)
    if not config.enabled and account:
        config = platform_email_config(get_settings()) or config
    if not config.enabled:
        return await _settle(ctx, ident, None, "skipped", f"the {channel.name} channel is not enabled")
    user = await ctx.tx.fetchrow("select email, full_name, status from users where id = $1", row["user_id"])
    if user is None or user["status"] not in (("active", "pending") if account else ("active",)):
        return await _settle(ctx, ident, None, "skipped", "the user is disabled")
    tenant = await ctx.tx.fetchrow("select name from tenants where id = $1", ctx.tenant_id)
    recipient = Recipient(
        patient_id=None,
        given_name=user["full_name"] or user["email"],
        family_name="",
        email=user["email"],
        phone=None,
        address=None,
        language=row["language"] or "en",
        kind="user",
    )
    message = await _render(ctx, row, channel, recipient, None, tenant["name"])
    return Prepared(channel, config, recipient, message, tenant["name"])


def _quiet_until(
    channel: Channel, config: StoredConfig, communication: dict[str, Any], tenant_zone: str, now: datetime
) -> datetime | None:
    applies = config.options.get("apply_quiet_hours")
    if not (channel.quiet_hours_by_default if applies is None else applies):
        return None
    start, end = communication.get("quiet_hours_start"), communication.get("quiet_hours_end")
    if not (start and end):
        start, end = config.options.get("quiet_hours_start"), config.options.get("quiet_hours_end")
    if not (start and end):
        return None
    tz = zone(communication.get("time_zone"), config.options.get("time_zone"), tenant_zone)
    return quiet_until(now, time.fromisoformat(start), time.fromisoformat(end), tz)


async def _render(
    ctx: JobContext, row: Any, channel: Channel, recipient: Recipient, patient: Any | None, tenant_name: str
) -> Message:
    found = await find_template(ctx.tx, row["template"], channel.name, recipient.language)
    if found is None:
        await _fail_now(ctx, row["id"], row["patient_id"], f"no template named {row['template']!r}")
    source, language = found
    context = _json(row["context"])
    if row["template"] in ACCOUNT_TEMPLATES:  # only core's account e-mails carry sealed variables
        try:
            context = unseal(context)
        except SecretsUnreadableError as exc:
            await _fail_now(ctx, row["id"], row["patient_id"], f"sealed variables: {exc}")
    variables = {
        **context,
        "recipient": {"name": recipient.given_name, "kind": recipient.kind},
        "organization": {"name": tenant_name},
    }
    if patient is not None:  # a message to a staff user is about no patient
        variables["patient"] = {"given_name": patient["given_name"], "family_name": patient["family_name"]}
    try:
        subject, body = render(source, variables)
    except MessageTemplateError as exc:
        await _fail_now(ctx, row["id"], row["patient_id"], f"template {row['template']!r} ({language}): {exc}")
    return Message(
        notification_id=row["id"],
        template=row["template"],
        language=language,
        subject=subject,
        body=body,
        attachments=await load_attachments(ctx.tx, row["id"]),
    )


def _channel_context(ctx: JobContext, prepared: Prepared, ident: UUID) -> ChannelContext:
    try:
        secrets = prepared.config.secrets()
    except SecretsUnreadableError as exc:
        raise PermanentError(str(exc)) from None
    settings = get_settings()
    name = prepared.channel.name
    return ChannelContext(
        tenant_id=ctx.tenant_id,
        tenant_name=prepared.tenant_name,
        notification_id=ident,
        channel=name,
        options=prepared.config.options,
        secrets=secrets,
        callback_url=callback_url(name, ctx.tenant_id, ident, settings) if name in PROVIDER_CHANNELS else None,
        data_dir=settings.data_dir,
    )


def _about(patient_id: UUID | None) -> dict[str, str]:
    """The patient a notification concerns, for audit details (none for a message to a staff user)."""
    return {} if patient_id is None else {"patient_id": str(patient_id)}


async def _settle(ctx: JobContext, ident: UUID, patient_id: UUID | None, status: Status, detail: str) -> Status:
    """A decision not to send, recorded in the job's transaction."""
    await ctx.tx.execute(
        "update notifications set status = $2, last_error = $3, updated_at = now() where id = $1", ident, status, detail
    )
    await add_event(ctx.tx, ctx.tenant_id, ident, status, "worker", detail)
    await ctx.audit(f"notification.{status}", "notification", ident, {**_about(patient_id), "reason": detail})
    await announce(ctx.request_context(), ident, status)
    return status


async def _defer(ctx: JobContext, ident: UUID, patient_id: UUID, deferrals: int, until: datetime) -> Status:
    if deferrals >= MAX_DEFERRALS:
        return await _settle(ctx, ident, patient_id, "failed", f"still quiet hours after {deferrals} deferrals")
    await ctx.tx.execute(
        "update notifications set status = 'deferred', not_before = $2, deferrals = deferrals + 1, "
        "updated_at = now() where id = $1",
        ident,
        until,
    )
    detail = f"quiet hours: deferred until {until.isoformat()}"
    await add_event(ctx.tx, ctx.tenant_id, ident, "deferred", "worker", detail)
    await ctx.audit(
        "notification.deferred", "notification", ident, {"patient_id": str(patient_id), "until": until.isoformat()}
    )
    return "deferred"


async def _fail_now(ctx: JobContext, ident: UUID, patient_id: UUID | None, detail: str) -> NoReturn:
    """A failure found before sending: recorded for good, then PermanentError dead-letters the message."""
    await _record_failure(ctx, ident, patient_id, detail, final=True)
    raise PermanentError(detail)


async def _claim(tenant_id: UUID, ident: UUID) -> bool:
    async def claim(tx: Tx) -> bool:
        claimed = await tx.fetchval(
            """update notifications set status = 'sending', claimed_at = now(), attempts = attempts + 1,
                   updated_at = now()
               where id = $1 and (status in ('queued', 'deferred')
                   or (status = 'sending' and claimed_at < now() - make_interval(secs => $2)))
               returning id""",
            ident,
            send_timeout(),
        )
        return claimed is not None

    return await run_apart(tenant_id, claim)


async def _record_failure(ctx: JobContext, ident: UUID, patient_id: UUID | None, error: str, *, final: bool) -> None:
    """In a transaction of its own: the job's is about to roll back with the error."""
    status: Status = "failed" if final else "queued"
    detail = error[:1000] if final else f"retrying: {error}"[:1000]

    async def record(tx: Tx) -> None:
        await tx.execute(
            "update notifications set status = $2, last_error = $3, claimed_at = null, updated_at = now() "
            "where id = $1 and status in ('queued', 'deferred', 'sending')",
            ident,
            status,
            error[:1000],
        )
        await add_event(tx, ctx.tenant_id, ident, status, "worker", detail)
        if final:
            from core.audit.service import append_event

            await append_event(
                tx,
                tenant_id=ctx.tenant_id,
                actor_type="system",
                actor_id=None,
                action="notification.failed",
                resource_type="notification",
                resource_id=ident,
                request_id=ctx.request_id,
                details={**_about(patient_id), "reason": error[:300], "module": ctx.module},
            )
            await announce(RequestContext(tx, ctx.principal, None, ctx.request_id, ctx.plugins), ident, "failed")

    await run_apart(ctx.tenant_id, record)


async def _record_sent(ctx: JobContext, row: Any, prepared: Prepared, result: SendResult) -> None:
    ident, patient_id = row["id"], row["patient_id"]
    # A provider's report may have landed between the send and this commit: never move it back.
    status = await ctx.tx.fetchval(
        """update notifications set
               status = case when status in ('delivered', 'failed', 'bounced') then status else $2::text end,
               provider_message_id = $3, document_key = coalesce($4, document_key), sent_at = now(),
               delivered_at = case when $2::text = 'delivered' then now() else delivered_at end,
               claimed_at = null, last_error = null, updated_at = now()
           where id = $1 returning status""",
        ident,
        result.status,
        result.provider_message_id,
        result.document_key,
    )
    await add_event(ctx.tx, ctx.tenant_id, ident, result.status, "worker", f"accepted by {prepared.channel.name}")
    await ctx.audit(
        "notification.sent",
        "notification",
        ident,
        {
            **_about(patient_id),
            **({"user_id": str(row["user_id"])} if row["user_id"] is not None else {}),
            "channel": prepared.channel.name,
            "template": prepared.message.template,
            "language": prepared.message.language,
            "status": status,
        },
    )
    if prepared.recipient.kind == "provider":
        await ctx.audit(
            "notification.disclosure",
            "patient",
            patient_id,
            {
                "notification_id": str(ident),
                "recipient": prepared.recipient.full_name,
                "recipient_address": prepared.recipient.email,
                "channel": prepared.channel.name,
                "attachments": [a.filename for a in prepared.message.attachments],
            },
        )
    await announce(ctx.request_context(), ident, status)


async def announce(ctx: RequestContext, ident: UUID, status: str) -> None:
    """Fire ``notification_status_changed`` (the requesting module follows its messages with it)."""
    module = await ctx.tx.fetchval("select requested_by_module from notifications where id = $1", ident)
    from core.plugins.dispatch import emit

    await emit(ctx, "notification_status_changed", notification_id=ident, status=status, requested_by_module=module)


async def release_due(ctx: JobContext, limit: int = 500) -> int:
    """Queue the deferred notifications whose time has come (quiet hours over, schedule reached), and the
    sends a dead worker left behind (claimed longer ago than any send may last: ``NOTIFICATION_SEND_TIMEOUT_SECONDS``).

    A recovered send goes out again under the same provider idempotency key, so a provider that took
    the first attempt (Twilio-style ``Idempotency-Key``) does not deliver it twice.
    """
    from core.notifications.service import enqueue_send

    rows = await ctx.tx.fetch(
        "update notifications set status = 'queued', updated_at = now() where id in ("
        "select id from notifications where status = 'deferred' and not_before <= now() "
        "order by not_before limit $1 for update skip locked) returning id, deferrals",
        limit,
    )
    for row in rows:
        await add_event(ctx.tx, ctx.tenant_id, row["id"], "queued", "worker", "released: its time has come")
        await enqueue_send(ctx.tx, ctx.tenant_id, row["id"], row["deferrals"])
    stale = await ctx.tx.fetch(
        "update notifications set status = 'queued', claimed_at = null, updated_at = now() where id in ("
        "select id from notifications where status = 'sending' and claimed_at < now() - make_interval(secs => $2) "
        "order by claimed_at limit $1 for update skip locked) returning id, attempts",
        limit,
        send_timeout(),
    )
    for row in stale:
        detail = "requeued: the worker sending it was lost"
        await add_event(ctx.tx, ctx.tenant_id, row["id"], "queued", "worker", detail)
        await enqueue_send(ctx.tx, ctx.tenant_id, row["id"], f"recovered{row['attempts']}")
    return len(rows) + len(stale)
