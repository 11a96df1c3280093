"""Requesting notifications and reading them back.

:func:`request_notification` is what the API and plugins (reminders, referrals...) call: it
writes the notification and queues ``notifications.send`` through the outbox in the caller's
transaction, so a rolled-back request sends nothing. Consent is checked here (a patient without
consent gets a ``suppressed`` row and nothing is queued) and again by the worker at send time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import msgspec

from core.db.cursors import decode_cursor, encode_cursor
from core.db.tenant import Tx
from core.http.context import RequestContext
from core.notifications.attachments import (
    REPORT_TYPES,
    AttachmentRejectedError,
    attachment_infos,
    check_attachments,
    store_attachments,
)
from core.notifications.channels.base import Attachment, Channel, ProviderRecipient
from core.notifications.channels.registry import all_channels
from core.notifications.schemas import AttachmentInfo, Notification, NotificationEvent, NotificationPage, Status
from core.notifications.template_store import find_template
from core.plugins.context import PluginContext

ACTOR_NAME = "notifications.send"
QUEUE = "notifications"
MAX_CONTEXT_BYTES = 16_384
RESERVED_VARIABLES = frozenset({"patient", "organization"})
COLUMNS = (
    "id, patient_id, channel, template, language, context, status, not_before, attempts, provider_message_id, "
    "document_key is not null as has_document, last_error, requested_by_module, created_at, updated_at, sent_at, "
    "delivered_at, recipient_kind, recipient_name, recipient_address, contact_id, share_as, user_id"
)
EMAIL_ADDRESS = re.compile(r"^[^@\s<>,;\"]{1,64}@[^@\s<>,;\"]{1,189}\.[A-Za-z]{2,63}$")
AnyContext = RequestContext | PluginContext
OPT_OUT_CONFIRMATION = "opt_out_confirmation"
"""The one template a ``transactional`` notification may use: the acknowledgement of an opt-out."""


class NotificationRequestError(ValueError):
    """A request that can never be sent as asked (unknown channel or template, bad variables): 422."""


class PatientNotFoundError(LookupError):
    """No such patient in this tenant (or deleted): 404."""


def to_notification(
    row: Any, events: list[NotificationEvent] | None = None, attachments: list[AttachmentInfo] | None = None
) -> Notification:
    data = dict(row)
    context = data["context"]
    data["context"] = msgspec.json.decode(context) if isinstance(context, str) else dict(context)
    return Notification(**data, events=events, attachments=attachments or [])


def about(row: Any) -> dict[str, str]:
    """Audit details naming whom a notification concerns: its patient, or the staff user it goes to."""
    if row["patient_id"] is None:
        return {"user_id": str(row["user_id"])}
    return {"patient_id": str(row["patient_id"])}


async def audit(ctx: AnyContext, action: str, resource_id: UUID | None, details: dict[str, Any]) -> None:
    """Audit through whichever context the caller has (a request's or a plugin's/job's)."""
    if isinstance(ctx, PluginContext):
        await ctx.audit(action, "notification", resource_id, details)
    else:
        from core.audit.service import record

        await record(ctx, action, "notification", resource_id, details)


async def add_event(
    tx: Tx,
    tenant_id: UUID,
    notification_id: UUID,
    status: Status,
    source: str,
    detail: str | None = None,
    provider_status: str | None = None,
) -> None:
    await tx.execute(
        "insert into notification_events (tenant_id, notification_id, status, source, provider_status, detail, "
        "occurred_at) values ($1, $2, $3, $4, $5, $6, clock_timestamp())",
        tenant_id,
        notification_id,
        status,
        source,
        provider_status[:40] if provider_status else None,
        detail[:1000] if detail else None,
    )


async def consent_active(tx: Tx, patient_id: UUID, consent_channel: str | None) -> bool:
    """Is there a granted, unexpired, unrevoked channel consent? (Same rule as core.patients.consents.)"""
    if consent_channel is None:
        return False
    return bool(
        await tx.fetchval(
            "select exists(select 1 from patient_consents where patient_id = $1 and kind = 'channel' "
            "and channel = $2 and status = 'granted' and (expires_at is null or expires_at > now()))",
            patient_id,
            consent_channel,
        )
    )


async def sharing_allowed(tx: Tx, patient_id: UUID, contact_id: UUID, share_as: str) -> bool:
    """May the patient's contact receive ``share_as`` messages? A granted, unexpired sharing consent for that
    contact and the contact's ``may_receive`` naming it (the same rule at request and at send time)."""
    return bool(
        await tx.fetchval(
            "select exists(select 1 from patient_contacts c join patient_consents k on k.contact_id = c.id "
            "and k.patient_id = c.patient_id where c.id = $2 and c.patient_id = $1 and c.deleted_at is null "
            "and $3 = any(c.may_receive) and k.kind = 'sharing' and k.status = 'granted' "
            "and (k.expires_at is null or k.expires_at > now()))",
            patient_id,
            contact_id,
            share_as,
        )
    )


def check_context(context: dict[str, Any]) -> dict[str, Any]:
    clash = RESERVED_VARIABLES & set(context)
    if clash:
        raise NotificationRequestError(f"context may not set {', '.join(sorted(clash))}: core fills them in")
    encoded = msgspec.json.encode(context)
    if len(encoded) > MAX_CONTEXT_BYTES:
        raise NotificationRequestError(f"context is larger than {MAX_CONTEXT_BYTES} bytes")
    checked: dict[str, Any] = msgspec.json.decode(encoded)
    return checked


def channel_named(ctx: AnyContext, name: str) -> Channel:
    plugins = getattr(ctx, "plugins", None)
    channel = all_channels(plugins).get(name)
    if channel is None:
        raise NotificationRequestError(f"no channel named {name!r}")
    return channel


async def request_notification(
    ctx: AnyContext,
    *,
    patient_id: UUID,
    channel: str,
    template: str = "generic",
    context: dict[str, Any] | None = None,
    language: str | None = None,
    idempotency_key: str | None = None,
    not_before: datetime | None = None,
    recipient: ProviderRecipient | None = None,
    attachments: Sequence[Attachment] = (),
    contact_id: UUID | None = None,
    share_as: str = "appointment_reminders",
    transactional: bool = False,
) -> Notification:
    """Record a notification and queue its sending, in ``ctx``'s transaction.

    ``idempotency_key`` makes a repeated request (a retried job, a double click) return the
    first notification. Raises :class:`NotificationRequestError` or :class:`PatientNotFoundError`.

    ``recipient`` sends the message about ``patient_id`` to a care provider's explicit e-mail
    address instead of to the patient (a referral packet): the patient's channel consent and
    quiet hours do not apply, and the disclosure is audited (``notification.disclosure``).
    ``attachments`` are checked (type allow-list, size) and stored with the notification.

    ``contact_id`` sends a copy to one of the patient's contacts (a caregiver) at the contact's own
    phone or e-mail: only while the patient's sharing consent for that contact is granted and the
    contact's ``may_receive`` names ``share_as`` (checked now and again at send time; otherwise the
    notification is ``suppressed``).

    ``transactional`` is only for the ``opt_out_confirmation`` template, to a patient who has opted
    out of the channel: the acknowledgement of that opt-out goes out although consent is revoked
    (neither consent, opt-out nor quiet hours are checked, now or at send time; audited as such).
    That template cannot be requested otherwise.
    """
    chosen = channel_named(ctx, channel)
    variables = check_context(context or {})
    if transactional or template == OPT_OUT_CONFIRMATION:
        await _check_transactional(ctx, chosen, patient_id, template, transactional, recipient, contact_id)
    if recipient is not None:
        _check_provider_recipient(chosen, recipient)
    contact = None
    if contact_id is not None:
        if recipient is not None:
            raise NotificationRequestError("a notification goes to a provider or to a contact, not both")
        if chosen.recipient_field not in ("email", "phone"):
            raise NotificationRequestError(f"copies to a contact cannot go by {chosen.name}")
        contact = await ctx.tx.fetchrow(
            "select id, name from patient_contacts where id = $1 and patient_id = $2 and deleted_at is null",
            contact_id,
            patient_id,
        )
        if contact is None:
            raise NotificationRequestError("contact_id is not one of the patient's contacts")
    try:
        files = check_attachments(attachments)
    except AttachmentRejectedError as exc:
        raise NotificationRequestError(str(exc)) from None
    patient = await ctx.tx.fetchrow(
        "select communication->>'language' as language from patients where id = $1 and deleted_at is null",
        patient_id,
    )
    if patient is None:
        raise PatientNotFoundError(str(patient_id))
    default_language = None if recipient is not None else patient["language"]
    if await find_template(ctx.tx, template, chosen.name, language or default_language) is None:
        raise NotificationRequestError(f"no template named {template!r} for the {chosen.name} channel")
    module = ctx.module if isinstance(ctx, PluginContext) else None
    key = f"{module or 'core'}:{idempotency_key or uuid4()}"
    if contact_id is not None:
        consented = await sharing_allowed(ctx.tx, patient_id, contact_id, share_as)
    else:
        consented = (
            transactional or recipient is not None or await consent_active(ctx.tx, patient_id, chosen.consent_channel)
        )
    kind = "provider" if recipient is not None else "contact" if contact is not None else "patient"
    now = datetime.now(UTC)
    status: Status = "queued"
    if not consented:
        status = "suppressed"
    elif not_before is not None and not_before > now:
        status = "deferred"
    row = await ctx.tx.fetchrow(
        f"""insert into notifications (tenant_id, patient_id, channel, template, language, context, status,
                idempotency_key, not_before, requested_by, requested_by_module, recipient_kind, recipient_name,
                recipient_address, contact_id, share_as)
            values ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
            on conflict (tenant_id, idempotency_key) do nothing returning {COLUMNS}""",
        ctx.tenant_id,
        patient_id,
        chosen.name,
        template,
        language,
        msgspec.json.encode(variables).decode(),
        status,
        key,
        not_before,
        None if ctx.principal.kind == "system" else ctx.principal.actor_id,
        module,
        kind,
        recipient.name[:200] if recipient is not None else contact["name"][:200] if contact is not None else None,
        recipient.email if recipient is not None else None,
        contact_id,
        share_as if contact_id is not None else None,
    )
    if row is None:  # the same request again: answer with the first one
        existing = await ctx.tx.fetchrow(f"select {COLUMNS} from notifications where idempotency_key = $1", key)
        await audit(ctx, "notification.read", existing["id"], about(existing))
        infos = await attachment_infos(ctx.tx, [existing["id"]])
        return to_notification(existing, attachments=infos.get(existing["id"]))
    notification_id = row["id"]
    stored = await store_attachments(ctx.tx, ctx.tenant_id, notification_id, files)
    detail = {
        "suppressed": f"no sharing consent for this contact ({share_as})"
        if contact_id is not None
        else f"no active {chosen.consent_channel or chosen.name} consent",
        "deferred": f"scheduled for {not_before.isoformat() if not_before else ''}",
        "queued": None,
    }[status]
    await add_event(ctx.tx, ctx.tenant_id, notification_id, status, "api", detail)
    if status == "queued":
        await enqueue_send(ctx.tx, ctx.tenant_id, notification_id, 0)
    details: dict[str, Any] = {"patient_id": str(patient_id), "channel": chosen.name, "template": template}
    if recipient is not None:
        details |= {"recipient_kind": "provider", "recipient_address": recipient.email}
    if contact_id is not None:
        details |= {"recipient_kind": "contact", "contact_id": str(contact_id), "share_as": share_as}
    if transactional:
        details["transactional"] = True
    if stored:
        details["attachments"] = [f"{a.filename} ({a.content_type}, {a.size} bytes)" for a in stored]
    await audit(ctx, "notification.request", notification_id, {**details, "status": status})
    return to_notification(row, attachments=stored)


async def request_user_notification(
    ctx: AnyContext,
    *,
    user_id: UUID,
    template: str,
    context: dict[str, Any] | None = None,
    idempotency_key: str,
    attachments: Sequence[Attachment] = (),
    channel: str = "email",
) -> Notification:
    """Record a message to one of the organization's users (not about a patient) and queue its sending.

    For staff mail such as a built report (``core.reports``): no patient, so no consent, opt-out or
    quiet hours apply; the user's current e-mail address is read at send time, and a user disabled
    by then gets nothing (``skipped``). Attachments may also be CSV or XLSX files
    (:data:`~core.notifications.attachments.REPORT_TYPES`). The same ``idempotency_key`` again
    returns the first notification: a redelivered job never sends twice.
    Raises :class:`NotificationRequestError` (unknown user, channel or template, bad attachments).
    """
    chosen = channel_named(ctx, channel)
    if chosen.recipient_field != "email":
        raise NotificationRequestError(f"messages to a user go by e-mail, not by {chosen.name}")
    variables = check_context(context or {})
    try:
        files = check_attachments(attachments, REPORT_TYPES)
    except AttachmentRejectedError as exc:
        raise NotificationRequestError(str(exc)) from None
    user = await ctx.tx.fetchrow("select email, full_name from users where id = $1", user_id)
    if user is None:
        raise NotificationRequestError("user_id is not a user of this organization")
    if await find_template(ctx.tx, template, chosen.name, None) is None:
        raise NotificationRequestError(f"no template named {template!r} for the {chosen.name} channel")
    module = ctx.module if isinstance(ctx, PluginContext) else None
    key = f"{module or 'core'}:{idempotency_key}"
    row = await ctx.tx.fetchrow(
        f"""insert into notifications (tenant_id, patient_id, channel, template, context, status, idempotency_key,
                requested_by, requested_by_module, recipient_kind, recipient_name, recipient_address, user_id)
            values ($1, null, $2, $3, $4::jsonb, 'queued', $5, $6, $7, 'user', $8, $9, $10)
            on conflict (tenant_id, idempotency_key) do nothing returning {COLUMNS}""",
        ctx.tenant_id,
        chosen.name,
        template,
        msgspec.json.encode(variables).decode(),
        key,
        None if ctx.principal.kind == "system" else ctx.principal.actor_id,
        module,
        (user["full_name"] or user["email"])[:200],
        user["email"],
        user_id,
    )
    if row is None:  # the same request again: answer with the first one
        existing = await ctx.tx.fetchrow(f"select {COLUMNS} from notifications where idempotency_key = $1", key)
        infos = await attachment_infos(ctx.tx, [existing["id"]])
        return to_notification(existing, attachments=infos.get(existing["id"]))
    notification_id = row["id"]
    stored = await store_attachments(ctx.tx, ctx.tenant_id, notification_id, files)
    await add_event(ctx.tx, ctx.tenant_id, notification_id, "queued", "api", None)
    await enqueue_send(ctx.tx, ctx.tenant_id, notification_id, 0)
    details: dict[str, Any] = {"user_id": str(user_id), "channel": chosen.name, "template": template}
    if stored:
        details["attachments"] = [f"{a.filename} ({a.content_type}, {a.size} bytes)" for a in stored]
    await audit(ctx, "notification.request", notification_id, {**details, "status": "queued"})
    return to_notification(row, attachments=stored)


async def _check_transactional(
    ctx: AnyContext,
    chosen: Channel,
    patient_id: UUID,
    template: str,
    transactional: bool,
    recipient: ProviderRecipient | None,
    contact_id: UUID | None,
) -> None:
    """A transactional message is the opt-out acknowledgement, to the patient who opted out, and nothing else."""
    if not transactional or template != OPT_OUT_CONFIRMATION:
        raise NotificationRequestError(
            f"only the {OPT_OUT_CONFIRMATION!r} template is transactional, and it is sent only as such"
        )
    if recipient is not None or contact_id is not None:
        raise NotificationRequestError("an opt-out confirmation goes to the patient only")
    opted_out = await ctx.tx.fetchval(
        "select exists(select 1 from channel_opt_outs where patient_id = $1 and channel = $2)",
        patient_id,
        chosen.consent_channel,
    )
    if not opted_out:
        raise NotificationRequestError("an opt-out confirmation goes only to a patient who opted out of the channel")


def _check_provider_recipient(channel: Channel, recipient: ProviderRecipient) -> None:
    """Provider messages go to an explicit e-mail address, so only e-mail-addressed channels carry them."""
    if channel.recipient_field != "email":
        raise NotificationRequestError(f"messages to a provider cannot go by {channel.name}: use an e-mail channel")
    if not EMAIL_ADDRESS.match(recipient.email) or len(recipient.email) > 254:
        raise NotificationRequestError("the provider's e-mail address is not valid")
    if not recipient.name.strip():
        raise NotificationRequestError("a provider recipient needs a name")


async def enqueue_send(tx: Tx, tenant_id: UUID, notification_id: UUID, round_: int | str) -> None:
    """Queue ``notifications.send``; ``round_`` counts deferrals (or names a recovery), so each is a new effect."""
    from core.outbox.service import enqueue_message

    key = f"notification:{notification_id}:send:{round_}"
    await enqueue_message(
        tx,
        tenant_id=tenant_id,
        actor_name=ACTOR_NAME,
        payload={"notification_id": str(notification_id)},
        queue=QUEUE,
        idempotency_key=key,
    )


async def list_notifications(
    ctx: RequestContext, *, patient_id: UUID | None, status: str | None, limit: int, cursor: str | None
) -> NotificationPage:
    after = decode_cursor(cursor) if cursor else None
    rows = await ctx.tx.fetch(
        f"""select {COLUMNS} from notifications
            where ($1::uuid is null or patient_id = $1) and ($2::text is null or status = $2)
              and ($3::timestamptz is null or (created_at, id) < ($3, $4::uuid))
            order by created_at desc, id desc limit $5""",
        patient_id,
        status,
        after[0] if after else None,
        after[1] if after else None,
        limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    from core.audit.service import record

    await record(
        ctx,
        "notification.list",
        "patient" if patient_id else "notification",
        patient_id,
        {"count": len(rows), "patients": sorted({str(r["patient_id"]) for r in rows if r["patient_id"]})[:200]},
    )
    infos = await attachment_infos(ctx.tx, [r["id"] for r in rows])
    items = [to_notification(r, attachments=infos.get(r["id"])) for r in rows]
    next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more and rows else None
    return NotificationPage(items=items, next_cursor=next_cursor)


async def get_notification(ctx: RequestContext, notification_id: UUID) -> Notification | None:
    row = await ctx.tx.fetchrow(f"select {COLUMNS} from notifications where id = $1", notification_id)
    if row is None:
        return None
    events = await ctx.tx.fetch(
        "select status, source, provider_status, detail, occurred_at from notification_events "
        "where notification_id = $1 order by occurred_at, id",
        notification_id,
    )
    await audit(ctx, "notification.read", notification_id, about(row))
    infos = await attachment_infos(ctx.tx, [notification_id])
    return to_notification(row, [NotificationEvent(**dict(e)) for e in events], infos.get(notification_id))


async def document_of(ctx: RequestContext, notification_id: UUID) -> tuple[str, UUID] | None:
    """The stored letter's key and patient, audited as a download; None when there is none."""
    row = await ctx.tx.fetchrow(
        "select document_key, patient_id from notifications where id = $1 and document_key is not null",
        notification_id,
    )
    if row is None:
        return None
    await audit(ctx, "notification.document", notification_id, {"patient_id": str(row["patient_id"])})
    return row["document_key"], row["patient_id"]
