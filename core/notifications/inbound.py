"""Inbound messages: replies patients send to the organization's SMS number or e-mail address.

Providers post them to ``POST /api/v1/notifications/inbound/{sms|email}/{ref}``. ``ref`` is the
tenant's id with our HMAC of it and the channel (a key derived from ``SECRET_KEY``): it is the only
thing that picks the tenant, never the message. SMS posts must also carry a valid
``X-Twilio-Signature`` made with the tenant's SMS auth token, exactly like delivery callbacks;
e-mail posts are authenticated by the (secret, unguessable) address alone.

Each message is stored once per provider message id (a provider's retry stores and announces
nothing), matched to a patient (or a patient's contact) by the sender's number or address and to
the notification it most likely answers, audited with actor ``provider``, and announced to the
tenant's modules with the ``message_received`` hook in the same transaction. Core does not
interpret the text: the modules decide what "STOP" or "C" mean (see ``inbound_opt_outs``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any
from uuid import UUID

from core.audit.service import append_event, record
from core.db.cursors import decode_cursor, encode_cursor
from core.db.tenant import Tx
from core.http.context import RequestContext
from core.notifications.callbacks import public_base_url
from core.notifications.crypto import callback_signature, signature_matches
from core.notifications.inbound_schemas import InboundChannel, InboundMessage, InboundMessagePage, Match
from core.settings import Settings

INBOUND_PATH = "/api/v1/notifications/inbound"
INBOUND_CHANNELS: frozenset[str] = frozenset({"sms", "email"})
MAX_BODY = 10_000
MAX_ADDRESS = 254
MAX_SUBJECT = 500
MAX_PROVIDER_ID = 200
COLUMNS = (
    "id, channel, from_address, to_address, subject, body, body_truncated, match, patient_id, contact_id, "
    "in_reply_to_notification_id, provider_message_id, received_at"
)


# --- signed addresses ---------------------------------------------------------------------------------------------


def _ref_message(channel: str, tenant_id: UUID) -> str:
    return f"notification-inbound:{channel}:{tenant_id.hex}"


def inbound_url(channel: str, tenant_id: UUID, settings: Settings | None = None) -> str:
    """The address the tenant gives its provider for messages arriving on ``channel``."""
    signature = callback_signature(_ref_message(channel, tenant_id), settings)
    return f"{public_base_url(settings)}{INBOUND_PATH}/{channel}/{tenant_id.hex}.{signature}"


def parse_inbound_ref(channel: str, ref: str, settings: Settings | None = None) -> UUID | None:
    """The tenant of a ``ref`` we signed for ``channel``; None for anything else."""
    ident, dot, signature = ref.partition(".")
    if not dot or len(ident) != 32 or channel not in INBOUND_CHANNELS:
        return None
    try:
        tenant_id = UUID(hex=ident)
    except ValueError:
        return None
    if not signature_matches(_ref_message(channel, tenant_id), signature, settings):
        return None
    return tenant_id


# --- cleaning what providers send ---------------------------------------------------------------------------------


def clean(text: str | None, limit: int) -> str | None:
    """Without NUL characters (PostgreSQL refuses them) and cut to ``limit``; None for nothing."""
    if text is None:
        return None
    text = text.replace("\x00", "").strip()
    return text[:limit] or None


def bounded_body(text: str) -> tuple[str, bool]:
    text = text.replace("\x00", "")
    return text[:MAX_BODY], len(text) > MAX_BODY


def provider_id(value: str) -> str:
    """The provider's message id as stored: long ones (some Message-IDs) become a digest, never cut."""
    value = value.strip()
    if len(value) <= MAX_PROVIDER_ID:
        return value
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def email_address(value: str | None) -> str | None:
    """The bare, lower-case address of ``Name <address>`` (None when there is none)."""
    if not value:
        return None
    address = parseaddr(value)[1].strip().lower()
    return address[:MAX_ADDRESS] if "@" in address else None


def message_ids(*headers: str | None) -> list[str]:
    """Every ``<id>`` of In-Reply-To / References, in order (a bare id is taken as one)."""
    found: list[str] = []
    for header in headers:
        if not header:
            continue
        ids = re.findall(r"<[^<>\s]{1,300}>", header)
        if not ids and header.strip() and " " not in header.strip():
            ids = [f"<{header.strip().strip('<>')}>"]
        found.extend(i for i in ids if i not in found)
    return found[:50]


def phone_candidates(number: str, default_prefix: str | None) -> list[str]:
    """The digit strings a patient's stored phone may have for ``number`` (as sent: E.164).

    ``+15552010101`` matches ``15552010101``; with the channel's ``default_country_prefix`` ``+1``
    also the national ``5552010101`` (and ``05552010101``): how ``e164`` built the number we texted.
    """
    digits = re.sub(r"\D", "", number)
    if len(digits) < 5:
        return []
    candidates = [digits]
    prefix = re.sub(r"\D", "", default_prefix or "")
    if prefix and digits.startswith(prefix) and len(digits) > len(prefix) + 4:
        national = digits[len(prefix) :]
        candidates += [national, f"0{national}"]
    return candidates


# --- matching -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Matched:
    match: Match
    patient_id: UUID | None = None
    contact_id: UUID | None = None
    in_reply_to: UUID | None = None


async def _latest_sent(tx: Tx, patient_ids: Sequence[UUID], channel: str) -> tuple[UUID, UUID] | None:
    """(notification, patient) of the newest message sent to one of ``patient_ids`` on ``channel``."""
    row = await tx.fetchrow(
        "select id, patient_id from notifications where patient_id = any($1::uuid[]) and channel = $2 "
        "and recipient_kind = 'patient' and sent_at is not null order by sent_at desc, id desc limit 1",
        list(patient_ids),
        channel,
    )
    return (row["id"], row["patient_id"]) if row is not None else None


async def _by_sender(tx: Tx, channel: str, patient_sql: str, contact_sql: str, key: Any) -> Matched:
    patients = [r["id"] for r in await tx.fetch(patient_sql, key)]
    if len(patients) == 1:
        latest = await _latest_sent(tx, patients, channel) if channel == "sms" else None
        return Matched("patient", patients[0], None, latest[0] if latest else None)
    if len(patients) > 1:
        # A shared number or address: the reply most likely answers the newest message among them.
        latest = await _latest_sent(tx, patients, channel) if channel == "sms" else None
        return Matched("ambiguous", latest[1] if latest else None, None, latest[0] if latest else None)
    contacts = await tx.fetch(contact_sql, key)
    if len(contacts) == 1:
        return Matched("contact", contacts[0]["patient_id"], contacts[0]["id"])
    return Matched("ambiguous" if contacts else "none")


async def match_phone(tx: Tx, number: str, default_prefix: str | None) -> Matched:
    """Sender of an SMS -> patient (``phone_digits``) or, failing that, a patient's contact."""
    candidates = phone_candidates(number, default_prefix)
    if not candidates:
        return Matched("none")
    return await _by_sender(
        tx,
        "sms",
        "select id from patients where phone_digits = any($1::text[]) and deleted_at is null order by id",
        "select c.id, c.patient_id from patient_contacts c join patients p on p.id = c.patient_id "
        "where c.deleted_at is null and p.deleted_at is null "
        "and regexp_replace(coalesce(c.phone, ''), '\\D', '', 'g') = any($1::text[]) order by c.id",
        candidates,
    )


async def match_email(tx: Tx, address: str, reply_ids: Sequence[str]) -> Matched:
    """Sender of an e-mail -> patient or contact by address; In-Reply-To/References -> our notification."""
    found = await _by_sender(
        tx,
        "email",
        "select id from patients where lower(email) = $1 and deleted_at is null order by id",
        "select c.id, c.patient_id from patient_contacts c join patients p on p.id = c.patient_id "
        "where c.deleted_at is null and p.deleted_at is null and lower(c.email) = $1 order by c.id",
        address,
    )
    if not reply_ids:
        return found
    answered = await tx.fetchrow(
        "select id, patient_id from notifications where provider_message_id = any($1::text[]) "
        "order by sent_at desc nulls last limit 1",
        list(reply_ids),
    )
    if answered is None or (found.patient_id is not None and answered["patient_id"] != found.patient_id):
        return found  # never link a message to another patient's notification
    return Matched(found.match, found.patient_id, found.contact_id, answered["id"])


# --- storing and announcing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    channel: InboundChannel
    from_address: str
    to_address: str | None
    subject: str | None
    body: str
    provider_message_id: str


def to_message(row: Any) -> InboundMessage:
    return InboundMessage(**dict(row))


async def receive(ctx: RequestContext, incoming: Incoming, matched: Matched) -> tuple[InboundMessage, bool]:
    """Store ``incoming`` (once per provider message id), audit it and fire ``message_received``.

    Returns the stored message and whether it is new: a provider's retry returns the first one,
    is not audited again and fires nothing.
    """
    body, truncated = bounded_body(incoming.body)
    row = await ctx.tx.fetchrow(
        f"""insert into inbound_messages (tenant_id, channel, from_address, to_address, subject, body, body_truncated,
                match, patient_id, contact_id, in_reply_to_notification_id, provider_message_id)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            on conflict (tenant_id, channel, provider_message_id) do nothing returning {COLUMNS}""",
        ctx.tenant_id,
        incoming.channel,
        incoming.from_address,
        incoming.to_address,
        incoming.subject,
        body,
        truncated,
        matched.match,
        matched.patient_id,
        matched.contact_id,
        matched.in_reply_to,
        provider_id(incoming.provider_message_id),
    )
    if row is None:
        existing = await ctx.tx.fetchrow(
            f"select {COLUMNS} from inbound_messages where channel = $1 and provider_message_id = $2",
            incoming.channel,
            provider_id(incoming.provider_message_id),
        )
        return to_message(existing), False
    message = to_message(row)
    await append_event(
        ctx.tx,
        tenant_id=ctx.tenant_id,
        actor_type="provider",
        actor_id=None,
        action="notification.inbound",
        resource_type="inbound_message",
        resource_id=message.id,
        ip=ctx.ip,
        request_id=ctx.request_id,
        details={
            "channel": message.channel,
            "match": message.match,
            "patient_id": str(message.patient_id) if message.patient_id else None,
            "contact_id": str(message.contact_id) if message.contact_id else None,
            "in_reply_to_notification_id": (
                str(message.in_reply_to_notification_id) if message.in_reply_to_notification_id else None
            ),
        },
    )
    await ctx.emit("message_received", message=message)
    return message, True


# --- reading ------------------------------------------------------------------------------------------------------


async def list_inbound(
    ctx: RequestContext,
    *,
    patient_id: UUID | None,
    channel: str | None,
    unmatched: bool,
    limit: int,
    cursor: str | None,
) -> InboundMessagePage:
    """Inbound messages, newest first; audited like reading notifications."""
    after = decode_cursor(cursor) if cursor else None
    rows = await ctx.tx.fetch(
        f"""select {COLUMNS} from inbound_messages
            where ($1::uuid is null or patient_id = $1) and ($2::text is null or channel = $2)
              and (not $3::boolean or patient_id is null)
              and ($4::timestamptz is null or (received_at, id) < ($4, $5::uuid))
            order by received_at desc, id desc limit $6""",
        patient_id,
        channel,
        unmatched,
        after[0] if after else None,
        after[1] if after else None,
        limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    await record(
        ctx,
        "notification.inbound_list",
        "patient" if patient_id else "inbound_message",
        patient_id,
        {"count": len(rows), "patients": sorted({str(r["patient_id"]) for r in rows if r["patient_id"]})[:200]},
    )
    next_cursor = encode_cursor(rows[-1]["received_at"], rows[-1]["id"]) if more and rows else None
    return InboundMessagePage(items=[to_message(r) for r in rows], next_cursor=next_cursor)
