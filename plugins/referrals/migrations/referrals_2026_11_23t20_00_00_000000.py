"""Referrals and their transition log, with row-level security."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.plugins.sdk import run_statements, tenant_table_security

ID = "2026-11-23T20:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "referrals, referral transitions"

STATUSES = (
    "'draft','sent','received','accepted','rejected','scheduled','seen','closed','on_hold','cancelled','replaced'"
)

SCHEMA = [
    f"""create table referrals (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        patient_id uuid not null,
        referring_practitioner_id uuid,
        target_practitioner_id uuid,
        target_organization_id uuid,
        specialty varchar(100) not null,
        reason varchar(1000) not null,
        diagnosis_codes varchar(10)[] not null default '{{}}',
        priority varchar(8) not null check (priority in ('routine','urgent','asap','stat')),
        clinical_notes varchar(10000),
        prior_auth_required boolean not null default false,
        coordinator_id uuid,
        appointment_id uuid,
        consult_report varchar(20000),
        status varchar(16) not null default 'draft' check (status in ({STATUSES})),
        held_from varchar(16),
        status_reason varchar(500),
        replaces_id uuid,
        replaced_by_id uuid,
        sent_at timestamptz,
        closed_at timestamptz,
        created_by uuid,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        check (target_practitioner_id is not null or target_organization_id is not null),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id),
        foreign key (tenant_id, referring_practitioner_id) references practitioners (tenant_id, id),
        foreign key (tenant_id, target_practitioner_id) references practitioners (tenant_id, id),
        foreign key (tenant_id, target_organization_id) references provider_organizations (tenant_id, id),
        foreign key (tenant_id, appointment_id) references appointments (tenant_id, id),
        foreign key (tenant_id, replaces_id) references referrals (tenant_id, id))""",
    "create index referrals_open on referrals (tenant_id, status, priority, created_at)",
    "create index referrals_patient on referrals (tenant_id, patient_id, created_at)",
    "create index referrals_coordinator on referrals (tenant_id, coordinator_id) where coordinator_id is not null",
    f"""create table referral_transitions (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        referral_id uuid not null,
        from_status varchar(16) check (from_status in ({STATUSES})),
        to_status varchar(16) not null check (to_status in ({STATUSES})),
        reason varchar(500),
        actor_type varchar(16) not null,
        actor_id uuid,
        occurred_at timestamptz not null default clock_timestamp(),
        primary key (tenant_id, id),
        foreign key (tenant_id, referral_id) references referrals (tenant_id, id))""",
    "create index referral_transitions_referral on referral_transitions (tenant_id, referral_id, occurred_at)",
    "create index referral_transitions_to on referral_transitions (tenant_id, to_status, occurred_at)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="referrals", description=DESCRIPTION)

    async def run() -> None:
        await run_statements(
            [*SCHEMA, *tenant_table_security("referrals"), *tenant_table_security("referral_transitions")]
        )

    manager.add_raw(run)
    return manager
