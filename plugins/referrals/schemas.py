"""Wire formats of ``/api/v1/referrals``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from core.payers.summaries import AuthorizationSummary
from plugins.referrals.states import Status

Priority = Literal["routine", "urgent", "asap", "stat"]
PacketStatus = Literal["not_sent", "queued", "sent", "failed", "acknowledged"]
Icd10Code = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-TV-Za-tv-z][0-9][0-9A-Za-z](\.[0-9A-Za-z]{1,4})?$",
        description="An ICD-10 code such as E11.9 or I10 (letter, two characters, optional dot and 1-4 more); "
        "stored upper-case",
    ),
]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class ReferralCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new referral, created as a draft. It names a target practitioner, organization, or both."""

    patient_id: UUID
    specialty: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    reason: Text
    priority: Priority = "routine"
    target_practitioner_id: UUID | None = None
    target_organization_id: UUID | None = None
    referring_practitioner_id: UUID | None = None
    diagnosis_codes: Annotated[list[Icd10Code], msgspec.Meta(max_length=12)] = []
    clinical_notes: Annotated[str, msgspec.Meta(max_length=10000)] | None = None
    prior_auth_required: bool = False
    coordinator_id: UUID | None = None
    """The user who owns the referral's follow-up; default: its creator."""

    def __post_init__(self) -> None:
        if self.target_practitioner_id is None and self.target_organization_id is None:
            raise ValueError("name target_practitioner_id or target_organization_id (or both)")


class TransitionIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    to: Status
    reason: Reason | None = None
    appointment_id: UUID | None = None
    """Required to move to ``scheduled``: the booked appointment with the specialist."""
    consult_report: Annotated[str, msgspec.Meta(min_length=1, max_length=20000)] | None = None
    """Required to move to ``closed``: the specialist's consult report closes the loop."""


class RerouteIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Reason
    target_practitioner_id: UUID | None = None
    target_organization_id: UUID | None = None
    specialty: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None

    def __post_init__(self) -> None:
        if self.target_practitioner_id is None and self.target_organization_id is None:
            raise ValueError("name the new target_practitioner_id or target_organization_id")


class Sla(msgspec.Struct, kw_only=True):
    """The clock from ``sent`` to ``scheduled``, counted in the organization's business hours."""

    target_hours: float
    started_at: datetime | None
    due_at: datetime | None
    remaining_seconds: float | None
    """Business seconds left (negative: overdue); None before the referral is sent."""
    state: Literal["not_started", "on_track", "at_risk", "breached", "paused", "met", "missed"]


class Referral(msgspec.Struct, kw_only=True):
    id: UUID
    patient_id: UUID
    status: Status
    priority: Priority
    specialty: str
    reason: str
    target_practitioner_id: UUID | None
    target_organization_id: UUID | None
    referring_practitioner_id: UUID | None
    diagnosis_codes: list[str]
    clinical_notes: str | None
    prior_auth_required: bool
    coordinator_id: UUID | None
    appointment_id: UUID | None
    consult_report: str | None
    status_reason: str | None
    held_from: str | None
    replaces_id: UUID | None
    replaced_by_id: UUID | None
    sent_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    sla: Sla | None = None
    prior_authorization: AuthorizationSummary | None = None
    """The latest prior authorization for this referral, from the insurance module when it is enabled."""
    packet_status: PacketStatus = "not_sent"
    """The specialist packet: ``queued`` when sent, ``sent`` once e-mailed, ``failed`` (see ``packet_detail``),
    ``acknowledged`` when the specialist received the referral."""
    packet_notification_id: UUID | None = None
    packet_detail: str | None = None


class Transition(msgspec.Struct, kw_only=True):
    id: UUID
    from_status: str | None
    to_status: str
    reason: str | None
    actor_type: str
    actor_id: UUID | None
    occurred_at: datetime


class RerouteOut(msgspec.Struct, kw_only=True):
    replaced: Referral
    referral: Referral
    """The new referral (a draft) to the new specialist."""
