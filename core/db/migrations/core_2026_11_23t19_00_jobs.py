"""Jobs: effect idempotency, dead letters, unrouted messages, the outbox relay's tenant finder."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db.raw import run_statements
from core.db.rls import rls_statements

ID = "2026-11-23T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "job effects, dead letters, outbox relay support"

SCHEMA = [
    """create table job_effects (
        tenant_id uuid not null references tenants(id),
        idempotency_key varchar(200) not null,
        actor_name varchar(100) not null,
        message_id varchar(64) not null,
        done_at timestamptz not null default now(),
        primary key (tenant_id, idempotency_key))""",
    """create table dead_letters (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        message_id varchar(64) not null,
        actor_name varchar(100) not null,
        queue varchar(50) not null,
        payload jsonb not null,
        effect_key varchar(200) not null,
        error varchar(2000) not null,
        retries integer not null default 0,
        failed_at timestamptz not null default now(),
        replayed_at timestamptz,
        replay_count integer not null default 0,
        primary key (tenant_id, id),
        unique (tenant_id, message_id))""",
    "create index dead_letters_recent on dead_letters (tenant_id, failed_at desc)",
    # Messages that name no (valid) tenant: kept for operators, invisible to the app role.
    """create table unrouted_messages (
        id bigserial primary key,
        message_id varchar(64),
        actor_name varchar(100),
        queue varchar(50),
        reason varchar(500) not null,
        message jsonb not null,
        received_at timestamptz not null default now())""",
    """create table job_pings (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        note varchar(200) not null,
        worker_pid integer not null,
        processed_at timestamptz not null default now(),
        primary key (tenant_id, id))""",
    "alter table outbox add column last_error varchar(500)",
    # The key the consuming actor records its effect under; replays reuse the original one.
    "alter table outbox add column effect_key varchar(200)",
    # Committed outbox rows wake the relay at once; NOTIFY is delivered only on commit.
    """create or replace function outbox_notify() returns trigger language plpgsql as $$
        begin
            perform pg_notify('carecoord_outbox', new.tenant_id::text);
            return null;
        end $$""",
    "create trigger outbox_notify after insert on outbox for each row execute function outbox_notify()",
    # The relay's sweep must find tenants with unpublished rows without reading any row:
    # a narrow SECURITY DEFINER function answers tenant ids only.
    """create or replace function outbox_pending_tenants(older_than interval)
        returns setof uuid language sql stable security definer set search_path = public as $$
            select distinct tenant_id from outbox
            where published_at is null and created_at <= now() - older_than
        $$""",
    "revoke all on function outbox_pending_tenants(interval) from public",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run() -> None:
        statements = list(SCHEMA)
        for table in ("job_effects", "dead_letters", "job_pings"):
            statements.extend(rls_statements(table))
        await run_statements(statements)

    manager.add_raw(run)
    return manager
