"""Piccolo declaration of the tenant registry (a platform table, not tenant-owned)."""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, Timestamptz, Varchar
from piccolo.table import Table


class Tenant(Table, tablename="tenants"):
    id = UUID(primary_key=True)
    slug = Varchar(length=63, unique=True, help_text="URL-safe unique name used at login")
    name = Varchar(length=200)
    status = Varchar(length=16, help_text="trial | active | suspended | closed")
    plan = Varchar(length=32)
    time_zone = Varchar(length=64)
    mfa_required = Boolean(default=False)
    created_at = Timestamptz()
    updated_at = Timestamptz()
