"""Payer directory, coverages and their history, documents, eligibility checks, once-only flags, and the
referrals this module has heard of (through the core hook ``referral_status_changed``: the referrals
module's own table is never read)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.plugins.sdk import run_statements, tenant_table_security

ID = "2026-11-23T21:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "insurance payers, coverages, documents, eligibility checks, flags"

TABLES = ("insurance_payers", "coverages", "coverage_changes", "insurance_documents", "eligibility_checks")

SCHEMA = [
    """create table insurance_payers (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        name varchar(120) not null,
        payer_code varchar(80) not null,
        adapter varchar(40) not null,
        adapter_config jsonb not null default '{}',
        adapter_secrets text,
        phone varchar(32),
        portal_url varchar(500),
        active boolean not null default true,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id))""",
    "create unique index insurance_payers_code on insurance_payers (tenant_id, lower(payer_code))",
    """create table coverages (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        patient_id uuid not null,
        payer_id uuid not null,
        member_id varchar(80) not null,
        group_number varchar(50),
        plan_name varchar(200),
        coverage_order varchar(9) not null check (coverage_order in ('primary','secondary','tertiary')),
        relationship varchar(8) not null check (relationship in ('self','spouse','child','other')),
        subscriber_given_name varchar(100),
        subscriber_family_name varchar(100),
        subscriber_birth_date date,
        effective_from date not null,
        effective_to date,
        retired_at timestamptz,
        created_by uuid,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        check (effective_to is null or effective_to >= effective_from),
        check (relationship = 'self' or (subscriber_given_name is not null and subscriber_family_name is not null)),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id),
        foreign key (tenant_id, payer_id) references insurance_payers (tenant_id, id))""",
    "create index coverages_patient on coverages (tenant_id, patient_id, coverage_order) where retired_at is null",
    """create table coverage_changes (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        coverage_id uuid not null,
        action varchar(8) not null check (action in ('created','updated','retired')),
        changes jsonb not null default '{}',
        actor_type varchar(16) not null,
        actor_id uuid,
        occurred_at timestamptz not null default clock_timestamp(),
        primary key (tenant_id, id),
        foreign key (tenant_id, coverage_id) references coverages (tenant_id, id))""",
    "create index coverage_changes_coverage on coverage_changes (tenant_id, coverage_id, occurred_at)",
    """create table insurance_documents (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        owner_type varchar(16) not null check (owner_type in ('coverage','authorization','claim','appeal')),
        owner_id uuid not null,
        patient_id uuid not null,
        kind varchar(12) not null check (kind in ('card_front','card_back','clinical','letter','form','other')),
        filename varchar(200) not null,
        content_type varchar(100) not null,
        size integer not null,
        content bytea not null,
        uploaded_by uuid,
        created_at timestamptz not null default now(),
        primary key (tenant_id, id),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id))""",
    "create index insurance_documents_owner on insurance_documents (tenant_id, owner_type, owner_id)",
    """create table eligibility_checks (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        coverage_id uuid not null,
        patient_id uuid not null,
        status varchar(8) not null default 'queued'
            check (status in ('queued','active','inactive','unknown','failed')),
        reason varchar(12) not null check (reason in ('manual','appointment','batch','coverage')),
        appointment_id uuid,
        as_of date not null,
        trace_number varchar(50) not null,
        requested_by uuid,
        requested_at timestamptz not null default now(),
        checked_at timestamptz,
        payer_name varchar(120),
        plan_name varchar(200),
        plan_number varchar(80),
        group_number varchar(50),
        coverage_begin date,
        coverage_end date,
        copay numeric(12,2),
        coinsurance_percent numeric(6,2),
        deductible numeric(12,2),
        deductible_remaining numeric(12,2),
        out_of_pocket numeric(12,2),
        out_of_pocket_remaining numeric(12,2),
        benefits jsonb not null default '[]',
        rejections jsonb not null default '[]',
        error varchar(1000),
        raw_request text,
        raw_response text,
        primary key (tenant_id, id),
        foreign key (tenant_id, coverage_id) references coverages (tenant_id, id),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id),
        foreign key (tenant_id, appointment_id) references appointments (tenant_id, id))""",
    "create index eligibility_checks_coverage on eligibility_checks (tenant_id, coverage_id, requested_at desc)",
    """create table insurance_flags (
        tenant_id uuid not null references tenants(id),
        subject_type varchar(16) not null,
        subject_id uuid not null,
        flag varchar(40) not null,
        task_id uuid,
        created_at timestamptz not null default now(),
        primary key (tenant_id, subject_type, subject_id, flag))""",
    """create table insurance_referrals (
        tenant_id uuid not null references tenants(id),
        referral_id uuid not null,
        patient_id uuid not null,
        prior_auth_required boolean not null,
        status varchar(16) not null,
        updated_at timestamptz not null default now(),
        primary key (tenant_id, referral_id),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id))""",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="insurance", description=DESCRIPTION)

    async def run() -> None:
        statements = [*SCHEMA]
        for table in (*TABLES, "insurance_flags", "insurance_referrals"):
            statements.extend(tenant_table_security(table))
        await run_statements(statements)

    manager.add_raw(run)
    return manager
