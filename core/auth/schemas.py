"""Wire formats of login, tokens, MFA, users and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from core.auth.permissions import Role
from core.tenancy.schemas import Email, Password

Scope = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$", max_length=64)]
TotpCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$", description="6-digit TOTP code")]


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    tenant: Annotated[str, msgspec.Meta(min_length=1, max_length=63, description="organization slug")]
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    totp: TotpCode | None = None


class TokenResponse(msgspec.Struct, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    mfa_enrolment_required: bool = False


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: Annotated[str, msgspec.Meta(min_length=10, max_length=200)]


class MfaEnrolment(msgspec.Struct, kw_only=True):
    secret: str
    otpauth_uri: str


class MfaCode(msgspec.Struct, forbid_unknown_fields=True):
    code: TotpCode


class UserCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: Email
    password: Password
    role: Role
    full_name: Annotated[str, msgspec.Meta(max_length=200)] = ""


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    role: Role | msgspec.UnsetType = msgspec.UNSET
    status: Literal["active", "disabled"] | msgspec.UnsetType = msgspec.UNSET
    full_name: Annotated[str, msgspec.Meta(max_length=200)] | msgspec.UnsetType = msgspec.UNSET
    team_id: UUID | msgspec.UnsetType | None = msgspec.UNSET
    """The user's team; null takes them out of any team."""


class UserOut(msgspec.Struct, kw_only=True):
    id: UUID
    email: str
    full_name: str
    role: str
    status: str
    """``active``, ``disabled``, or ``pending`` (invited or signed up, link not used yet: cannot log in)."""
    mfa_enabled: bool
    team_id: UUID | None = None
    email_verified_at: datetime | None = None
    """When the user confirmed the address through an e-mailed link (verification or invitation)."""
    created_at: datetime


TeamName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"\S")]


class TeamIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: TeamName


class TeamOut(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    members: int
    created_at: datetime


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    scopes: Annotated[list[Scope], msgspec.Meta(min_length=1, max_length=20)]


class ApiKeyOut(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(msgspec.Struct, kw_only=True):
    key: str
    """Shown once; only its hash is stored."""
    api_key: ApiKeyOut
