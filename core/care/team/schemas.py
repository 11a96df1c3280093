"""Wire formats of care team members (FHIR CareTeam.participant) and the caseload."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

import msgspec

from core.patients.schemas import TenantIdIgnored

CareTeamRole = Literal[
    "care_coordinator",
    "primary_care_physician",
    "specialist",
    "nurse",
    "social_worker",
    "pharmacist",
    "behavioral_health",
    "community_health_worker",
    "caregiver",
    "other",
]


def check_period(start: date | msgspec.UnsetType, end: date | msgspec.UnsetType | None) -> None:
    if isinstance(start, date) and isinstance(end, date) and end < start:
        raise ValueError("period_end must not be before period_start")


class MemberCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Exactly one of ``user_id`` (a user of this organization) or ``practitioner_id`` (the directory)."""

    role: CareTeamRole
    user_id: UUID | None = None
    practitioner_id: UUID | None = None
    period_start: date | None = None
    """Default: today in the organization's time zone."""
    period_end: date | None = None
    is_primary_coordinator: bool = False
    tenant_id: TenantIdIgnored = msgspec.UNSET

    def __post_init__(self) -> None:
        if (self.user_id is None) == (self.practitioner_id is None):
            raise ValueError("name exactly one of user_id or practitioner_id")
        check_period(self.period_start or msgspec.UNSET, self.period_end)
        if self.is_primary_coordinator and self.user_id is None:
            raise ValueError("the primary coordinator is a user")


class MemberUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Partial update: absent fields stay; ``period_end: null`` reopens the membership."""

    role: CareTeamRole | msgspec.UnsetType = msgspec.UNSET
    period_start: date | msgspec.UnsetType = msgspec.UNSET
    period_end: date | msgspec.UnsetType | None = msgspec.UNSET
    is_primary_coordinator: bool | msgspec.UnsetType = msgspec.UNSET
    tenant_id: TenantIdIgnored = msgspec.UNSET

    def __post_init__(self) -> None:
        check_period(self.period_start, self.period_end)


class CareTeamMember(msgspec.Struct, kw_only=True):
    id: UUID
    patient_id: UUID
    user_id: UUID | None
    practitioner_id: UUID | None
    display_name: str
    """The user's full name (or e-mail) or the practitioner's name."""
    role: str
    period_start: date
    period_end: date | None
    is_primary_coordinator: bool
    active: bool
    """The period covers today in the organization's time zone."""
    created_at: datetime
    updated_at: datetime


class CaseloadPatient(msgspec.Struct, kw_only=True):
    id: UUID
    mrn: str
    given_name: str
    family_name: str
    birth_date: date


class CaseloadEntry(msgspec.Struct, kw_only=True):
    patient: CaseloadPatient
    member_id: UUID
    role: str
    is_primary_coordinator: bool
    period_start: date
    period_end: date | None
