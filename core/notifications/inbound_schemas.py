"""Wire formats of inbound messages: what providers post, what the API and the hook hand out."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

InboundChannel = Literal["sms", "email"]
Match = Literal["patient", "contact", "ambiguous", "none"]
"""How the sender was recognised: a patient's own address, a contact's, several patients', or nobody's."""


class InboundMessage(msgspec.Struct, kw_only=True, frozen=True):
    """A message someone sent to the organization (a reply to a reminder, STOP, a question).

    Core stores and announces it (``message_received``); what it *means* is for the modules to decide.
    """

    id: UUID
    channel: InboundChannel
    from_address: str
    """The sender's number (E.164 as the provider gave it) or e-mail address (lower case)."""
    to_address: str | None
    """The organization's number or address it was sent to."""
    subject: str | None
    """E-mail only."""
    body: str
    """The text (e-mail: the plain-text part), at most 10,000 characters."""
    body_truncated: bool
    match: Match
    patient_id: UUID | None
    """The patient the sender is (or, for a contact, the patient the contact belongs to); None: unknown."""
    contact_id: UUID | None
    in_reply_to_notification_id: UUID | None
    """The notification this answers: the e-mail's In-Reply-To, or the latest SMS sent to the patient."""
    provider_message_id: str
    received_at: datetime


class InboundMessagePage(msgspec.Struct, kw_only=True):
    items: list[InboundMessage]
    next_cursor: str | None


class InboundEmail(msgspec.Struct, kw_only=True):
    """The JSON an e-mail provider's inbound-parse webhook posts (map your provider's fields to these)."""

    from_: str = msgspec.field(name="from")
    """``Name <address>`` or a bare address."""
    message_id: str
    """The e-mail's Message-ID: a retry with the same one is stored once."""
    to: str | None = None
    subject: str | None = None
    text: str = ""
    in_reply_to: str | None = None
    references: str | None = None
    """Message-IDs of the thread (space-separated); searched when In-Reply-To names none of ours."""
