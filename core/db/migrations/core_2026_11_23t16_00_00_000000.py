"""Kernel schema: tenants, users, tokens, API keys, patients, contacts, consents, audit.

Written as explicit SQL: composite keys lead with ``tenant_id`` (ready for Citus
distribution), composite foreign keys keep children inside their parent's
tenant, and every tenant table gets forced row-level security.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db.raw import run_statements
from core.db.rls import rls_statements

ID = "2026-11-23T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "kernel schema with row-level security"

TENANT_TABLES = [
    "users",
    "refresh_tokens",
    "api_keys",
    "patients",
    "patient_contacts",
    "patient_consents",
    "audit_events",
    "audit_heads",
]

SCHEMA = [
    """create table tenants (
        id uuid primary key default gen_random_uuid(),
        slug varchar(63) not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$'),
        name varchar(200) not null,
        status varchar(16) not null default 'trial' check (status in ('trial','active','suspended','closed')),
        plan varchar(32) not null default 'starter',
        time_zone varchar(64) not null default 'UTC',
        mfa_required boolean not null default false,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now())""",
    """create table users (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        email varchar(254) not null,
        full_name varchar(200) not null default '',
        role varchar(16) not null check (role in ('owner','admin','coordinator','clinician','viewer')),
        password_hash varchar(200) not null,
        status varchar(16) not null default 'active' check (status in ('active','disabled')),
        totp_secret varchar(64),
        mfa_enabled boolean not null default false,
        totp_last_counter bigint,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id))""",
    "create unique index users_tenant_email on users (tenant_id, lower(email))",
    """create table refresh_tokens (
        tenant_id uuid not null,
        id uuid not null default gen_random_uuid(),
        user_id uuid not null,
        family_id uuid not null,
        token_hash varchar(64) not null,
        expires_at timestamptz not null,
        used_at timestamptz,
        revoked_at timestamptz,
        created_at timestamptz not null default now(),
        primary key (tenant_id, id),
        foreign key (tenant_id, user_id) references users (tenant_id, id))""",
    "create unique index refresh_tokens_hash on refresh_tokens (tenant_id, token_hash)",
    "create index refresh_tokens_family on refresh_tokens (tenant_id, family_id)",
    """create table api_keys (
        tenant_id uuid not null,
        id uuid not null default gen_random_uuid(),
        name varchar(100) not null,
        prefix varchar(16) not null,
        secret_hash varchar(64) not null,
        scopes varchar(64)[] not null,
        created_by uuid not null,
        created_at timestamptz not null default now(),
        last_used_at timestamptz,
        revoked_at timestamptz,
        primary key (tenant_id, id),
        foreign key (tenant_id, created_by) references users (tenant_id, id))""",
    """create table patients (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        mrn varchar(64) not null,
        given_name varchar(100) not null,
        family_name varchar(100) not null,
        birth_date date not null,
        sex varchar(16),
        phone varchar(32),
        phone_digits varchar(32),
        email varchar(254),
        address jsonb,
        communication jsonb not null default '{}'::jsonb,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        deleted_at timestamptz,
        primary key (tenant_id, id))""",
    "create unique index patients_tenant_mrn on patients (tenant_id, mrn)",
    """create index patients_tenant_name on patients
        (tenant_id, lower(family_name) text_pattern_ops, lower(given_name) text_pattern_ops, id)""",
    "create index patients_tenant_given on patients (tenant_id, lower(given_name) text_pattern_ops)",
    "create index patients_tenant_birth on patients (tenant_id, birth_date)",
    "create index patients_tenant_phone on patients (tenant_id, phone_digits)",
    """create table patient_contacts (
        tenant_id uuid not null,
        id uuid not null default gen_random_uuid(),
        patient_id uuid not null,
        name varchar(200) not null,
        relationship varchar(32) not null,
        phone varchar(32),
        email varchar(254),
        may_receive varchar(32)[] not null default '{}',
        is_emergency_contact boolean not null default false,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        deleted_at timestamptz,
        primary key (tenant_id, id),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id))""",
    "create index patient_contacts_patient on patient_contacts (tenant_id, patient_id)",
    """create table patient_consents (
        tenant_id uuid not null,
        id uuid not null default gen_random_uuid(),
        patient_id uuid not null,
        kind varchar(16) not null check (kind in ('channel','sharing')),
        channel varchar(16) check (channel in ('sms','email','voice','letter')),
        contact_id uuid,
        status varchar(16) not null default 'granted' check (status in ('granted','revoked')),
        granted_at timestamptz not null default now(),
        expires_at timestamptz,
        revoked_at timestamptz,
        recorded_by uuid not null,
        note varchar(500),
        created_at timestamptz not null default now(),
        primary key (tenant_id, id),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id),
        foreign key (tenant_id, contact_id) references patient_contacts (tenant_id, id),
        check ((kind = 'channel' and channel is not null) or (kind = 'sharing' and contact_id is not null)))""",
    "create index patient_consents_patient on patient_consents (tenant_id, patient_id)",
    """create table audit_events (
        tenant_id uuid not null,
        id uuid not null default gen_random_uuid(),
        seq bigint not null,
        occurred_at timestamptz not null,
        actor_type varchar(16) not null,
        actor_id uuid,
        action varchar(64) not null,
        resource_type varchar(64) not null,
        resource_id uuid,
        ip varchar(64),
        request_id varchar(64),
        details jsonb not null default '{}'::jsonb,
        prev_hash varchar(64) not null,
        hash varchar(64) not null,
        primary key (tenant_id, id),
        unique (tenant_id, seq))""",
    "create index audit_events_resource on audit_events (tenant_id, resource_id)",
    "create index audit_events_time on audit_events (tenant_id, occurred_at)",
    """create table audit_heads (
        tenant_id uuid primary key references tenants(id),
        seq bigint not null default 0,
        last_hash varchar(64) not null)""",
    """create function audit_events_append_only() returns trigger language plpgsql as $$
        begin raise exception 'audit_events is append-only'; end $$""",
    """create trigger audit_events_no_change before update or delete on audit_events
        for each row execute function audit_events_append_only()""",
    "create trigger audit_events_no_truncate before truncate on audit_events "
    "for each statement execute function audit_events_append_only()",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run() -> None:
        statements = list(SCHEMA)
        for table in TENANT_TABLES:
            statements.extend(rls_statements(table))
        await run_statements(statements)

    manager.add_raw(run)
    return manager
