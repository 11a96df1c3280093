"""Wire formats of sign-up and tenant settings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID
from zoneinfo import available_timezones

import msgspec

Slug = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", description="lower-case letters, digits and dashes, 3-63 long"
    ),
]
Email = Annotated[str, msgspec.Meta(pattern=r"^[^@\s]{1,64}@[^@\s]{1,185}\.[^@\s]{2,63}$", max_length=254)]
Password = Annotated[str, msgspec.Meta(min_length=12, max_length=256)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
TimeZone = Annotated[str, msgspec.Meta(max_length=64, description="IANA time zone, e.g. America/Chicago")]
TenantStatus = Literal["trial", "active", "suspended", "closed"]

_ZONES = frozenset(available_timezones())


def check_time_zone(value: str | msgspec.UnsetType | None) -> None:
    if isinstance(value, str) and value not in _ZONES:
        raise ValueError(f"time_zone {value!r} is not an IANA time zone")


class SignupRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    organization_name: Name
    slug: Slug
    owner_email: Email
    owner_password: Password
    owner_name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    time_zone: TimeZone = "UTC"
    plan: Literal["starter", "professional", "enterprise"] = "starter"

    def __post_init__(self) -> None:
        check_time_zone(self.time_zone)


class TenantOut(msgspec.Struct, kw_only=True):
    id: UUID
    slug: str
    name: str
    status: TenantStatus
    plan: str
    time_zone: str
    mfa_required: bool
    created_at: datetime


class OwnerOut(msgspec.Struct, kw_only=True):
    id: UUID
    email: str
    role: str


class SignupResponse(msgspec.Struct, kw_only=True):
    tenant: TenantOut
    owner: OwnerOut


class TenantUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    time_zone: TimeZone | msgspec.UnsetType = msgspec.UNSET
    mfa_required: bool | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        check_time_zone(self.time_zone)
