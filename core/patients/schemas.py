"""Wire formats of patients, contacts, consents and communication preferences.

Names follow FHIR (Patient, RelatedPerson, Consent) so a FHIR facade can map
them without renaming.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from core.tenancy.schemas import Email, check_time_zone

Channel = Literal["sms", "email", "voice", "letter"]
Sex = Literal["female", "male", "other", "unknown"]
Mrn = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$")]
PersonName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Phone = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^\+?[0-9 ().-]{7,24}$",
        max_length=32,
        description="digits with optional +, spaces, dots, dashes, brackets",
    ),
]
Language = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[a-zA-Z]{2,3}(-[A-Za-z0-9]{2,8})*$",
        max_length=35,
        description="BCP 47 language tag, e.g. es or pt-BR",
    ),
]
Relationship = Literal[
    "parent", "child", "spouse", "partner", "sibling", "guardian", "caregiver", "friend", "emergency", "other"
]
Shareable = Literal["appointment_reminders", "care_updates", "billing", "clinical_results"]
TenantIdIgnored = UUID | msgspec.UnsetType
"""``tenant_id`` is accepted in bodies and always ignored: the tenant is the caller's."""


def check_birth_date(value: date | msgspec.UnsetType | None) -> None:
    if isinstance(value, date) and not (date(1880, 1, 1) <= value <= date.today()):
        raise ValueError("birth_date must be between 1880-01-01 and today")


class Address(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    line: Annotated[list[Annotated[str, msgspec.Meta(max_length=200)]], msgspec.Meta(max_length=4)] = []
    city: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    state: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    postal_code: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    country: Annotated[str, msgspec.Meta(max_length=2, min_length=2)] | None = None


class CommunicationPreferences(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    channels: Annotated[list[Channel], msgspec.Meta(max_length=4)] = []
    """Preferred channels in order; sending still needs a granted channel consent."""
    language: Language | None = None
    interpreter_needed: bool = False
    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None
    time_zone: Annotated[str, msgspec.Meta(max_length=64)] | None = None

    def __post_init__(self) -> None:
        check_time_zone(self.time_zone)
        if (self.quiet_hours_start is None) != (self.quiet_hours_end is None):
            raise ValueError("quiet_hours_start and quiet_hours_end go together")
        if len(set(self.channels)) != len(self.channels):
            raise ValueError("channels must not repeat")


class PatientCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    mrn: Mrn
    given_name: PersonName
    family_name: PersonName
    birth_date: date
    sex: Sex | None = None
    phone: Phone | None = None
    email: Email | None = None
    address: Address | None = None
    communication: CommunicationPreferences = msgspec.field(default_factory=CommunicationPreferences)
    tenant_id: TenantIdIgnored = msgspec.UNSET

    def __post_init__(self) -> None:
        check_birth_date(self.birth_date)


class PatientUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Partial update: absent fields stay; ``null`` clears an optional field."""

    mrn: Mrn | msgspec.UnsetType = msgspec.UNSET
    given_name: PersonName | msgspec.UnsetType = msgspec.UNSET
    family_name: PersonName | msgspec.UnsetType = msgspec.UNSET
    birth_date: date | msgspec.UnsetType = msgspec.UNSET
    sex: Sex | msgspec.UnsetType | None = msgspec.UNSET
    phone: Phone | msgspec.UnsetType | None = msgspec.UNSET
    email: Email | msgspec.UnsetType | None = msgspec.UNSET
    address: Address | msgspec.UnsetType | None = msgspec.UNSET
    communication: CommunicationPreferences | msgspec.UnsetType = msgspec.UNSET
    tenant_id: TenantIdIgnored = msgspec.UNSET

    def __post_init__(self) -> None:
        check_birth_date(self.birth_date)


class Patient(msgspec.Struct, kw_only=True):
    id: UUID
    mrn: str
    given_name: str
    family_name: str
    birth_date: date
    sex: str | None
    phone: str | None
    email: str | None
    address: Address | None
    communication: CommunicationPreferences
    created_at: datetime
    updated_at: datetime


class PatientPage(msgspec.Struct, kw_only=True):
    items: list[Patient]
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; null on the last page."""


class ContactCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    relationship: Relationship
    phone: Phone | None = None
    email: Email | None = None
    may_receive: Annotated[list[Shareable], msgspec.Meta(max_length=4)] = []
    is_emergency_contact: bool = False
    tenant_id: TenantIdIgnored = msgspec.UNSET


class ContactUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | msgspec.UnsetType = msgspec.UNSET
    relationship: Relationship | msgspec.UnsetType = msgspec.UNSET
    phone: Phone | msgspec.UnsetType | None = msgspec.UNSET
    email: Email | msgspec.UnsetType | None = msgspec.UNSET
    may_receive: Annotated[list[Shareable], msgspec.Meta(max_length=4)] | msgspec.UnsetType = msgspec.UNSET
    is_emergency_contact: bool | msgspec.UnsetType = msgspec.UNSET


class Contact(msgspec.Struct, kw_only=True):
    id: UUID
    patient_id: UUID
    name: str
    relationship: str
    phone: str | None
    email: str | None
    may_receive: list[str]
    is_emergency_contact: bool
    created_at: datetime
    updated_at: datetime


class ConsentCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Either a channel consent (``channel``) or a sharing consent (``contact_id``)."""

    kind: Literal["channel", "sharing"]
    channel: Channel | None = None
    contact_id: UUID | None = None
    expires_at: datetime | None = None
    note: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    tenant_id: TenantIdIgnored = msgspec.UNSET

    def __post_init__(self) -> None:
        if self.kind == "channel" and (self.channel is None or self.contact_id is not None):
            raise ValueError("a channel consent names a channel and no contact")
        if self.kind == "sharing" and self.contact_id is None:
            raise ValueError("a sharing consent names the contact_id it allows sharing with")
        if self.expires_at is not None and self.expires_at.tzinfo is None:
            raise ValueError("expires_at needs a time zone offset")


class Consent(msgspec.Struct, kw_only=True):
    id: UUID
    patient_id: UUID
    kind: str
    channel: str | None
    contact_id: UUID | None
    status: Literal["granted", "revoked"]
    active: bool
    """Granted, not revoked and not expired, right now."""
    granted_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    note: str | None
