"""Piccolo declarations of users, refresh tokens, user tokens and API keys (tenant-owned)."""

from __future__ import annotations

from piccolo.columns import UUID, Array, Boolean, Integer, Timestamptz, Varchar
from piccolo.table import Table


class User(Table, tablename="users"):
    id = UUID(primary_key=True)
    tenant_id = UUID()
    email = Varchar(length=254)
    full_name = Varchar(length=200)
    role = Varchar(length=16, help_text="owner | admin | coordinator | clinician | viewer")
    password_hash = Varchar(length=200)
    status = Varchar(length=16, help_text="active | disabled | pending (link not used yet)")
    team_id = UUID(null=True, help_text="the user's team (teams), for metrics per team")
    totp_secret = Varchar(length=64, null=True)
    mfa_enabled = Boolean(default=False)
    totp_last_counter = Integer(null=True, help_text="last accepted TOTP step; blocks replay")
    email_verified_at = Timestamptz(null=True, help_text="when the user proved the address (link or invitation)")
    created_at = Timestamptz()
    updated_at = Timestamptz()


class RefreshToken(Table, tablename="refresh_tokens"):
    id = UUID(primary_key=True)
    tenant_id = UUID()
    user_id = UUID()
    family_id = UUID(help_text="all tokens rotated from one login; revoked together on reuse")
    token_hash = Varchar(length=64)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True)
    revoked_at = Timestamptz(null=True)
    created_at = Timestamptz()


class UserToken(Table, tablename="user_tokens"):
    """A single-use link e-mailed to a user: verify the address, or accept an invitation (core/auth/user_tokens.py)."""

    id = UUID(primary_key=True)
    tenant_id = UUID()
    user_id = UUID()
    purpose = Varchar(length=16, help_text="verify_email | invite")
    token_hash = Varchar(length=64)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True)
    created_at = Timestamptz()


class ApiKey(Table, tablename="api_keys"):
    id = UUID(primary_key=True)
    tenant_id = UUID()
    name = Varchar(length=100)
    prefix = Varchar(length=16)
    secret_hash = Varchar(length=64)
    scopes = Array(base_column=Varchar(length=64))
    created_by = UUID()
    created_at = Timestamptz()
    last_used_at = Timestamptz(null=True)
    revoked_at = Timestamptz(null=True)


class Team(Table, tablename="teams"):
    """A group of staff, e.g. the coordinators of one clinic site; metrics can be grouped by team."""

    tenant_id = UUID(primary_key=True)
    id = UUID()
    name = Varchar(length=100)
    created_at = Timestamptz()
    updated_at = Timestamptz()
