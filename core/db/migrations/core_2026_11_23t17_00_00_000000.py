"""Plugin host: per-tenant modules, plugin failure counters, the transactional outbox."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db.raw import run_statements
from core.db.rls import rls_statements

ID = "2026-11-23T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "tenant modules, plugin failures, outbox"

SCHEMA = [
    "alter table tenants add column modules_version bigint not null default 0",
    """create table tenant_modules (
        tenant_id uuid not null references tenants(id),
        module varchar(40) not null,
        enabled boolean not null default false,
        settings jsonb not null default '{}'::jsonb,
        updated_by uuid,
        updated_at timestamptz not null default now(),
        primary key (tenant_id, module))""",
    """create table plugin_failures (
        tenant_id uuid not null references tenants(id),
        module varchar(40) not null,
        hook varchar(64) not null,
        failures bigint not null default 0,
        last_error varchar(500) not null,
        last_failed_at timestamptz not null default now(),
        primary key (tenant_id, module, hook))""",
    """create table outbox (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        actor_name varchar(100) not null,
        queue varchar(50) not null default 'default',
        payload jsonb not null,
        idempotency_key varchar(200),
        created_at timestamptz not null default now(),
        published_at timestamptz,
        attempts integer not null default 0,
        primary key (tenant_id, id),
        unique (tenant_id, idempotency_key))""",
    "create index outbox_unpublished on outbox (tenant_id, created_at) where published_at is null",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run() -> None:
        statements = list(SCHEMA)
        for table in ("tenant_modules", "plugin_failures", "outbox"):
            statements.extend(rls_statements(table))
        await run_statements(statements)

    manager.add_raw(run)
    return manager
