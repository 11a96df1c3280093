"""Wire formats of appointments (FHIR Appointment) and their status history.

Times are ISO 8601 with an offset; ``time_zone`` is the IANA zone the appointment
is kept in (the one reminders and day views use).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from core.care.appointments.states import Status
from core.patients.schemas import TenantIdIgnored
from core.tenancy.schemas import check_time_zone

TimeZone = Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="IANA time zone, e.g. America/Chicago")]
Location = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
InitialStatus = Literal["proposed", "booked"]


def check_period(start: datetime, end: datetime) -> None:
    """Both times carry an offset and the appointment ends after it starts."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start needs a time zone offset")
    if end.tzinfo is None or end.utcoffset() is None:
        raise ValueError("end needs a time zone offset")
    if end <= start:
        raise ValueError("end must be after start")


class AppointmentCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    patient_id: UUID
    start: datetime
    end: datetime
    time_zone: TimeZone
    status: InitialStatus = "booked"
    """``booked`` holds the slot now (conflicts are checked); ``proposed`` only suggests it."""
    practitioner_id: UUID | None = None
    location: Location | None = None
    reason: Reason | None = None
    referral_id: UUID | None = None
    """The referral this appointment schedules (referrals live in a plugin; not checked here)."""
    care_plan_activity_id: UUID | None = None
    tenant_id: TenantIdIgnored = msgspec.UNSET

    def __post_init__(self) -> None:
        check_period(self.start, self.end)
        check_time_zone(self.time_zone)


class Reschedule(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    start: datetime
    end: datetime
    time_zone: TimeZone | None = None
    """A new zone, when the appointment moves to one; absent keeps the current zone."""

    def __post_init__(self) -> None:
        check_period(self.start, self.end)
        check_time_zone(self.time_zone)


class Transition(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    status: Status
    reason: Reason | None = None
    """Why: kept in the history; for ``cancelled`` it also becomes ``cancel_reason``."""


class Appointment(msgspec.Struct, kw_only=True):
    id: UUID
    patient_id: UUID
    practitioner_id: UUID | None
    location: str | None
    start: datetime
    end: datetime
    time_zone: str
    reason: str | None
    status: str
    cancel_reason: str | None
    referral_id: UUID | None
    care_plan_activity_id: UUID | None
    created_by: UUID
    created_at: datetime
    updated_at: datetime


class AppointmentPage(msgspec.Struct, kw_only=True):
    items: list[Appointment]
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; null on the last page."""


class StatusChange(msgspec.Struct, kw_only=True):
    id: UUID
    appointment_id: UUID
    from_status: str | None
    """Null on the entry that records the creation."""
    to_status: str
    changed_by: UUID
    changed_at: datetime
    reason: str | None
