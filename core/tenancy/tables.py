"""Piccolo declaration of the tenant registry (a platform table, not tenant-owned)."""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, BigInt, Boolean, Timestamptz, Varchar
from piccolo.table import Table


class Tenant(Table, tablename="tenants"):
    id = UUID(primary_key=True)
    slug = Varchar(length=63, unique=True, help_text="URL-safe unique name used at login")
    name = Varchar(length=200)
    status = Varchar(length=16, help_text="trial | active | suspended | closed")
    plan = Varchar(length=32)
    time_zone = Varchar(length=64)
    mfa_required = Boolean(default=False)
    business_hours = JSONB(help_text='{"days": [1, 2, 3, 4, 5], "start": "08:00", "end": "17:00"}')
    modules_version = BigInt(help_text="bumped on every module change; invalidates per-process caches")
    setup_completed_at = Timestamptz(null=True, help_text="when the portal's guided setup was finished")
    deletion_requested_at = Timestamptz(null=True, help_text="when the organization asked to be deleted")
    purge_after = Timestamptz(null=True, help_text="when its data may be purged (the grace period's end)")
    created_at = Timestamptz()
    updated_at = Timestamptz()


class TenantModule(Table, tablename="tenant_modules"):
    """A module's enablement and settings for one tenant; absent row means disabled."""

    tenant_id = UUID(primary_key=True)
    module = Varchar(length=40)
    enabled = Boolean(default=False)
    settings = JSONB()
    updated_by = UUID(null=True)
    updated_at = Timestamptz()


class PluginFailure(Table, tablename="plugin_failures"):
    """How often a plugin's hook failed for a tenant, and the last error, for the tenant's admins."""

    tenant_id = UUID(primary_key=True)
    module = Varchar(length=40)
    hook = Varchar(length=64)
    failures = BigInt()
    last_error = Varchar(length=500)
    last_failed_at = Timestamptz()
