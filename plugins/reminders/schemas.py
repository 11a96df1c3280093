"""Wire formats of the reminders API."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from plugins.reminders.settings import Channel


class EffectiveRule(msgspec.Struct, kw_only=True):
    offsets: list[str]
    channels: list[str]
    min_lead_minutes: int


class Rules(msgspec.Struct, kw_only=True):
    settings: dict[str, Any]
    """The organization's settings (``ReminderSettings``; defaults for what it did not set)."""
    effective: EffectiveRule
    """What applies to ``practitioner_id`` (or to an appointment with no practitioner)."""


class Delivery(msgspec.Struct, kw_only=True):
    id: UUID
    touch_id: UUID
    round: int
    """0 for the planned send, n for the n-th manual resend."""
    channel: str
    contact_id: UUID | None
    """Set on a caregiver's copy."""
    notification_id: UUID | None
    status: str
    detail: str | None
    created_at: datetime
    updated_at: datetime


class Touch(msgspec.Struct, kw_only=True):
    id: UUID
    kind: str
    subject_id: UUID
    subject_at: datetime
    """The appointment start this touch was planned for."""
    patient_id: UUID
    touch_key: str
    status: str
    reason: str | None
    send_at: datetime | None
    immediate: bool
    rescheduled: bool
    channel: str | None
    """The channel tried last."""
    notification_ids: list[UUID]
    round: int
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime
    deliveries: list[Delivery] = []


class DeliveryLogEntry(msgspec.Struct, kw_only=True):
    delivery: Delivery
    kind: str
    subject_id: UUID
    subject_at: datetime
    touch_key: str
    touch_status: str


class ResendIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    channel: Channel | None = None
    """Send on this channel first (then the usual order); absent: the usual order."""
