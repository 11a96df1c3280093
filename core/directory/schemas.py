"""Wire formats of the provider directory and the community resource directory.

Names follow FHIR (Practitioner, Organization, HealthcareService) so a FHIR facade
can map them without renaming. Directory entries are shared reference data of the
tenant, not patient data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from core.patients.schemas import Address, Language, PersonName, Phone, TenantIdIgnored
from core.tenancy.schemas import Email

OrganizationKind = Literal["clinic", "hospital", "practice", "lab", "pharmacy", "other"]
ResourceCategory = Literal["interpreter", "transport", "prescription", "food", "housing", "other"]
Identifier = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$",
        description="NPI-like identifier: letters, digits, dot, dash, slash; unique per organization",
    ),
]
Specialty = Annotated[str, msgspec.Meta(min_length=1, max_length=100, description="free text or a SNOMED/NUCC code")]
OrganizationName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Languages = Annotated[list[Language], msgspec.Meta(max_length=20, description="BCP 47 tags the staff speak")]
Website = Annotated[str, msgspec.Meta(max_length=300, pattern=r"^https?://[^\s]+$")]
Description = Annotated[str, msgspec.Meta(max_length=2000)]


def check_languages(value: list[str] | msgspec.UnsetType) -> None:
    if isinstance(value, list) and len({v.lower() for v in value}) != len(value):
        raise ValueError("languages must not repeat")


def check_text(name: str, value: str | msgspec.UnsetType | None) -> None:
    """Names must carry something besides spaces."""
    if isinstance(value, str) and not value.strip():
        raise ValueError(f"{name} must not be blank")


# -- organizations ----------------------------------------------------------------------------------------


class OrganizationCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: OrganizationName
    kind: OrganizationKind = "clinic"
    specialty: Specialty | None = None
    identifier: Identifier | None = None
    phone: Phone | None = None
    fax: Phone | None = None
    email: Email | None = None
    address: Address | None = None
    accepts_referrals: bool = True
    languages: Languages = []
    tenant_id: TenantIdIgnored = msgspec.UNSET

    def __post_init__(self) -> None:
        check_text("name", self.name)
        check_languages(self.languages)


class OrganizationUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Partial update: absent fields stay; ``null`` clears an optional field; ``active`` restores."""

    name: OrganizationName | msgspec.UnsetType = msgspec.UNSET
    kind: OrganizationKind | msgspec.UnsetType = msgspec.UNSET
    specialty: Specialty | msgspec.UnsetType | None = msgspec.UNSET
    identifier: Identifier | msgspec.UnsetType | None = msgspec.UNSET
    phone: Phone | msgspec.UnsetType | None = msgspec.UNSET
    fax: Phone | msgspec.UnsetType | None = msgspec.UNSET
    email: Email | msgspec.UnsetType | None = msgspec.UNSET
    address: Address | msgspec.UnsetType | None = msgspec.UNSET
    accepts_referrals: bool | msgspec.UnsetType = msgspec.UNSET
    languages: Languages | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
    tenant_id: TenantIdIgnored = msgspec.UNSET

    def __post_init__(self) -> None:
        check_text("name", self.name)
        check_languages(self.languages)


class Organization(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    kind: str
    specialty: str | None
    identifier: str | None
    phone: str | None
    fax: str | None
    email: str | None
    address: Address | None
    accepts_referrals: bool
    languages: list[str]
    active: bool
    """False once deleted: the entry leaves lists but stays readable for records that name it."""
    created_at: datetime
    updated_at: datetime


class OrganizationPage(msgspec.Struct, kw_only=True):
    items: list[Organization]
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; null on the last page."""


# -- practitioners ----------------------------------------------------------------------------------------


class PractitionerCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    given_name: PersonName
    family_name: PersonName
    specialty: Specialty
    identifier: Identifier | None = None
    organization_id: UUID | None = None
    phone: Phone | None = None
    fax: Phone | None = None
    email: Email | None = None
    address: Address | None = None
    accepts_referrals: bool = True
    languages: Languages = []
    tenant_id: TenantIdIgnored = msgspec.UNSET

    def __post_init__(self) -> None:
        check_text("given_name", self.given_name)
        check_text("family_name", self.family_name)
        check_text("specialty", self.specialty)
        check_languages(self.languages)


class PractitionerUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Partial update: absent fields stay; ``null`` clears an optional field; ``active`` restores."""

    given_name: PersonName | msgspec.UnsetType = msgspec.UNSET
    family_name: PersonName | msgspec.UnsetType = msgspec.UNSET
    specialty: Specialty | msgspec.UnsetType = msgspec.UNSET
    identifier: Identifier | msgspec.UnsetType | None = msgspec.UNSET
    organization_id: UUID | msgspec.UnsetType | None = msgspec.UNSET
    phone: Phone | msgspec.UnsetType | None = msgspec.UNSET
    fax: Phone | msgspec.UnsetType | None = msgspec.UNSET
    email: Email | msgspec.UnsetType | None = msgspec.UNSET
    address: Address | msgspec.UnsetType | None = msgspec.UNSET
    accepts_referrals: bool | msgspec.UnsetType = msgspec.UNSET
    languages: Languages | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
    tenant_id: TenantIdIgnored = msgspec.UNSET

    def __post_init__(self) -> None:
        check_text("given_name", self.given_name)
        check_text("family_name", self.family_name)
        check_text("specialty", self.specialty)
        check_languages(self.languages)


class Practitioner(msgspec.Struct, kw_only=True):
    id: UUID
    given_name: str
    family_name: str
    specialty: str
    identifier: str | None
    organization_id: UUID | None
    phone: str | None
    fax: str | None
    email: str | None
    address: Address | None
    accepts_referrals: bool
    languages: list[str]
    active: bool
    """False once deleted: the entry leaves lists but stays readable for records that name it."""
    created_at: datetime
    updated_at: datetime


class PractitionerPage(msgspec.Struct, kw_only=True):
    items: list[Practitioner]
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; null on the last page."""


# -- community resources ----------------------------------------------------------------------------------


class CommunityResourceCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: OrganizationName
    category: ResourceCategory
    description: Description | None = None
    phone: Phone | None = None
    email: Email | None = None
    website: Website | None = None
    address: Address | None = None
    languages: Languages = []
    tenant_id: TenantIdIgnored = msgspec.UNSET

    def __post_init__(self) -> None:
        check_text("name", self.name)
        check_languages(self.languages)


class CommunityResourceUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Partial update: absent fields stay; ``null`` clears an optional field; ``active`` restores."""

    name: OrganizationName | msgspec.UnsetType = msgspec.UNSET
    category: ResourceCategory | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType | None = msgspec.UNSET
    phone: Phone | msgspec.UnsetType | None = msgspec.UNSET
    email: Email | msgspec.UnsetType | None = msgspec.UNSET
    website: Website | msgspec.UnsetType | None = msgspec.UNSET
    address: Address | msgspec.UnsetType | None = msgspec.UNSET
    languages: Languages | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
    tenant_id: TenantIdIgnored = msgspec.UNSET

    def __post_init__(self) -> None:
        check_text("name", self.name)
        check_languages(self.languages)


class CommunityResource(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    category: str
    description: str | None
    phone: str | None
    email: str | None
    website: str | None
    address: Address | None
    languages: list[str]
    active: bool
    """False once deleted: the entry leaves lists but stays readable for requests that name it."""
    created_at: datetime
    updated_at: datetime


class CommunityResourcePage(msgspec.Struct, kw_only=True):
    items: list[CommunityResource]
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; null on the last page."""
