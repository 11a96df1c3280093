"""Wire formats of the reminders API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from plugins.reminders.settings import Channel

ScreeningName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


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
    confirmed_at: datetime | None = None
    """Appointment touches: when the patient confirmed the appointment at ``subject_at`` (a reply), else null."""


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


class Confirmation(msgspec.Struct, kw_only=True):
    appointment_id: UUID
    start: datetime
    """The appointment's current start."""
    confirmed: bool
    """Whether the patient confirmed this start (a confirmation of an earlier time does not count)."""
    confirmed_at: datetime | None
    channel: str | None
    inbound_message_id: UUID | None
    text: str | None


SCREENING_DUE_RANGE = (date(1900, 1, 1), date(2200, 12, 31))
"""Due dates a screening may have: its reminders are computed days before it, which year 1 cannot hold."""


class ScreeningIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: ScreeningName
    """e.g. "mammogram", "colonoscopy", "flu shot" (used in the message as written)."""
    due_on: date

    def __post_init__(self) -> None:
        first, last = SCREENING_DUE_RANGE
        if not first <= self.due_on <= last:
            raise ValueError(f"due_on must be between {first.isoformat()} and {last.isoformat()}")


class Screening(msgspec.Struct, kw_only=True):
    id: UUID
    patient_id: UUID
    name: str
    due_on: date
    created_at: datetime
    touches: list[Touch] = []
