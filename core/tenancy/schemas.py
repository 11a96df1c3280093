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
ClockTime = Annotated[str, msgspec.Meta(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$", description="HH:MM")]
IsoWeekday = Annotated[int, msgspec.Meta(ge=1, le=7, description="ISO weekday: 1 Monday ... 7 Sunday")]


def check_time_zone(value: str | msgspec.UnsetType | None) -> None:
    if isinstance(value, str) and value not in _ZONES:
        raise ValueError(f"time_zone {value!r} is not an IANA time zone")


class BusinessHours(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """When the organization works, in its own time zone: the same hours on each listed weekday."""

    days: Annotated[list[IsoWeekday], msgspec.Meta(min_length=1, max_length=7)] = msgspec.field(
        default_factory=lambda: [1, 2, 3, 4, 5]
    )
    start: ClockTime = "08:00"
    end: ClockTime = "17:00"

    def __post_init__(self) -> None:
        if len(set(self.days)) != len(self.days):
            raise ValueError("business_hours.days lists a weekday twice")
        if self.start >= self.end:  # zero-padded HH:MM compares like the times it spells
            raise ValueError("business_hours.start must be before business_hours.end")
        self.days.sort()


class SignupRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    organization_name: Name
    slug: Slug
    owner_email: Email
    owner_password: Password
    owner_name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    time_zone: TimeZone = "UTC"
    plan: Literal["starter", "professional", "enterprise"] = "starter"
    verify_email: bool = False
    """True: the owner stays ``pending`` (no login) until the link e-mailed to them is used, and the
    organization requires MFA. False: the owner can log in at once (the API's historical behaviour)."""

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
    business_hours: BusinessHours
    setup_completed_at: datetime | None = None
    """When the owner finished the portal's guided setup; null until then."""
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
    business_hours: BusinessHours | msgspec.UnsetType = msgspec.UNSET
    """Replaces the whole setting (days, start and end)."""

    def __post_init__(self) -> None:
        check_time_zone(self.time_zone)
