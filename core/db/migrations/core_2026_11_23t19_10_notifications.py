"""Notifications: per-tenant channel settings (secrets encrypted), templates, notifications and their history."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db.raw import run_statements
from core.db.rls import rls_statements

ID = "2026-11-23T19:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notification channels, templates, notifications, delivery events"

STATUSES = "'queued','deferred','sending','sent','delivered','failed','bounced','suppressed','skipped'"

SCHEMA = [
    """create table notification_channel_configs (
        tenant_id uuid not null references tenants(id),
        channel varchar(40) not null,
        enabled boolean not null default false,
        options jsonb not null default '{}'::jsonb,
        secrets text,
        secret_names varchar(60)[] not null default '{}',
        updated_by uuid,
        updated_at timestamptz not null default now(),
        primary key (tenant_id, channel))""",
    """create table notification_templates (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        name varchar(60) not null,
        channel varchar(40) not null default 'any',
        language varchar(35) not null,
        subject varchar(500),
        body text not null check (length(body) <= 20000),
        updated_by uuid,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        unique (tenant_id, name, channel, language))""",
    f"""create table notifications (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        patient_id uuid not null,
        channel varchar(40) not null,
        template varchar(60) not null,
        language varchar(35),
        context jsonb not null default '{{}}'::jsonb,
        status varchar(16) not null default 'queued' check (status in ({STATUSES})),
        idempotency_key varchar(200) not null,
        not_before timestamptz,
        deferrals integer not null default 0,
        attempts integer not null default 0,
        claimed_at timestamptz,
        provider_message_id varchar(200),
        document_key varchar(300),
        last_error varchar(1000),
        requested_by uuid,
        requested_by_module varchar(40),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        sent_at timestamptz,
        delivered_at timestamptz,
        primary key (tenant_id, id),
        unique (tenant_id, idempotency_key),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id))""",
    "create index notifications_patient on notifications (tenant_id, patient_id, created_at desc)",
    "create index notifications_deferred on notifications (tenant_id, not_before) where status = 'deferred'",
    "create index notifications_provider_id on notifications (tenant_id, provider_message_id)",
    f"""create table notification_events (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        notification_id uuid not null,
        status varchar(16) not null check (status in ({STATUSES})),
        source varchar(16) not null check (source in ('api','worker','provider')),
        provider_status varchar(40),
        detail varchar(1000),
        occurred_at timestamptz not null default now(),
        primary key (tenant_id, id),
        foreign key (tenant_id, notification_id) references notifications (tenant_id, id))""",
    "create index notification_events_notification on notification_events (tenant_id, notification_id, occurred_at)",
    # The scheduler finds tenants with deferred notifications now due without reading any row.
    """create or replace function notifications_due_tenants()
        returns setof uuid language sql stable security definer set search_path = public as $$
            select distinct tenant_id from notifications where status = 'deferred' and not_before <= now()
        $$""",
    "revoke all on function notifications_due_tenants() from public",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run() -> None:
        statements = list(SCHEMA)
        for table in ("notification_channel_configs", "notification_templates", "notifications", "notification_events"):
            statements.extend(rls_statements(table))
        await run_statements(statements)

    manager.add_raw(run)
    return manager
