"""Prior authorizations: requests, their service lines, status history and exchanges with the payer."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.plugins.sdk import run_statements, tenant_table_security

ID = "2026-11-23T21:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "insurance prior authorizations, lines, transitions, payer exchanges"

TABLES = (
    "prior_authorizations",
    "prior_authorization_lines",
    "prior_authorization_transitions",
    "prior_authorization_exchanges",
)
STATUSES = "'draft','submitted','pended','decided','expired','cancelled'"
DECISIONS = "'certified','partially_certified','not_certified','pended','modified','cancelled','contact_payer'"
ACTIONS = "'A1','A2','A3','A4','A6','C','CT'"

SCHEMA = [
    f"""create table prior_authorizations (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        patient_id uuid not null,
        coverage_id uuid not null,
        referral_id uuid,
        appointment_id uuid,
        urgency varchar(9) not null check (urgency in ('expedited','standard')),
        service_type varchar(2) not null default '3',
        diagnosis_codes varchar(10)[] not null default '{{}}',
        status varchar(10) not null default 'draft' check (status in ({STATUSES})),
        status_reason varchar(500),
        decision varchar(20) check (decision in ({DECISIONS})),
        authorization_number varchar(50),
        valid_from date,
        valid_to date,
        submission_round integer not null default 0 check (submission_round >= 0),
        trace_number varchar(50),
        payer_reference varchar(50),
        submitted_at timestamptz,
        decision_due_at timestamptz,
        decided_at timestamptz,
        last_error varchar(1000),
        notes varchar(10000),
        coordinator_id uuid,
        created_by uuid,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        check (valid_to is null or valid_from is null or valid_to >= valid_from),
        check (status = 'draft' or submitted_at is not null or status = 'cancelled'),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id),
        foreign key (tenant_id, coverage_id) references coverages (tenant_id, id),
        foreign key (tenant_id, appointment_id) references appointments (tenant_id, id))""",
    "create index prior_authorizations_open on prior_authorizations (tenant_id, status, decision_due_at)",
    "create index prior_authorizations_patient on prior_authorizations (tenant_id, patient_id, created_at)",
    """create index prior_authorizations_referral on prior_authorizations (tenant_id, referral_id, created_at)
        where referral_id is not null""",
    """create index prior_authorizations_appointment on prior_authorizations (tenant_id, appointment_id, created_at)
        where appointment_id is not null""",
    f"""create table prior_authorization_lines (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        authorization_id uuid not null,
        line_number smallint not null check (line_number between 1 and 99),
        code varchar(5) not null,
        code_system varchar(5) not null check (code_system in ('CPT','HCPCS')),
        modifiers varchar(2)[] not null default '{{}}',
        units integer not null check (units between 1 and 9999),
        service_from date,
        service_to date,
        decision varchar(20) check (decision in ({DECISIONS})),
        action_code varchar(2) check (action_code in ({ACTIONS})),
        approved_units integer check (approved_units >= 0),
        authorization_number varchar(50),
        valid_from date,
        valid_to date,
        reason_codes varchar(10)[] not null default '{{}}',
        decided_at timestamptz,
        primary key (tenant_id, id),
        unique (tenant_id, authorization_id, line_number),
        check (service_to is null or service_from is null or service_to >= service_from),
        check (valid_to is null or valid_from is null or valid_to >= valid_from),
        foreign key (tenant_id, authorization_id) references prior_authorizations (tenant_id, id) on delete cascade)""",
    f"""create table prior_authorization_transitions (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        authorization_id uuid not null,
        from_status varchar(10) check (from_status in ({STATUSES})),
        to_status varchar(10) not null check (to_status in ({STATUSES})),
        reason varchar(500),
        actor_type varchar(16) not null,
        actor_id uuid,
        occurred_at timestamptz not null default clock_timestamp(),
        primary key (tenant_id, id),
        foreign key (tenant_id, authorization_id) references prior_authorizations (tenant_id, id))""",
    """create index prior_authorization_transitions_authorization
        on prior_authorization_transitions (tenant_id, authorization_id, occurred_at)""",
    f"""create table prior_authorization_exchanges (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        authorization_id uuid not null,
        submission_round integer not null check (submission_round >= 1),
        trace_number varchar(50),
        outcome varchar(12) not null check (outcome in ('answered','rejected','failed','not_sent')),
        action_code varchar(2) check (action_code in ({ACTIONS})),
        error varchar(1000),
        rejections jsonb not null default '[]',
        raw_request text,
        raw_response text,
        occurred_at timestamptz not null default clock_timestamp(),
        primary key (tenant_id, id),
        unique (tenant_id, authorization_id, submission_round),
        foreign key (tenant_id, authorization_id) references prior_authorizations (tenant_id, id))""",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="insurance", description=DESCRIPTION)

    async def run() -> None:
        statements = [*SCHEMA]
        for table in TABLES:
            statements.extend(tenant_table_security(table))
        await run_statements(statements)

    manager.add_raw(run)
    return manager
