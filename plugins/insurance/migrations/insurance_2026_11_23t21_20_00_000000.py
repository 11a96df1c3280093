"""Claims with their adjudication history, appeals of claims and prior authorizations, and their history."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.plugins.sdk import run_statements, tenant_table_security

ID = "2026-11-23T21:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "insurance claims, claim transitions, appeals, appeal transitions"

TABLES = ("claims", "appeals", "claim_transitions", "appeal_transitions")
CLAIM_STATUSES = "'submitted','accepted','rejected','pended','paid','denied','voided'"
APPEAL_STATUSES = "'draft','submitted','in_review','decided','withdrawn'"
OUTCOMES = "'upheld','overturned','partially_overturned'"

SCHEMA = [
    f"""create table claims (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        patient_id uuid not null,
        coverage_id uuid not null,
        authorization_id uuid,
        appointment_id uuid,
        claim_number varchar(38) not null,
        payer_claim_number varchar(50),
        service_from date not null,
        service_to date not null,
        billed_amount numeric(12,2) not null check (billed_amount >= 0),
        allowed_amount numeric(12,2) check (allowed_amount >= 0),
        paid_amount numeric(12,2) check (paid_amount >= 0),
        patient_responsibility numeric(12,2) check (patient_responsibility >= 0),
        status varchar(10) not null default 'submitted' check (status in ({CLAIM_STATUSES})),
        carc_codes varchar(8)[] not null default '{{}}',
        rarc_codes varchar(8)[] not null default '{{}}',
        denial_reason varchar(1000),
        status_reason varchar(1000),
        remittance_date date,
        submitted_at timestamptz not null default now(),
        adjudicated_at timestamptz,
        created_by uuid,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        check (service_to >= service_from),
        check (allowed_amount is null or allowed_amount <= billed_amount),
        check (paid_amount is null or paid_amount <= coalesce(allowed_amount, billed_amount)),
        check (status <> 'paid' or (paid_amount is not null and allowed_amount is not null)),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id),
        foreign key (tenant_id, coverage_id) references coverages (tenant_id, id),
        foreign key (tenant_id, authorization_id) references prior_authorizations (tenant_id, id),
        foreign key (tenant_id, appointment_id) references appointments (tenant_id, id))""",
    "create unique index claims_number on claims (tenant_id, lower(claim_number))",
    "create index claims_patient on claims (tenant_id, patient_id, created_at)",
    "create index claims_status on claims (tenant_id, status, submitted_at)",
    "create index claims_authorization on claims (tenant_id, authorization_id) where authorization_id is not null",
    f"""create table appeals (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        patient_id uuid not null,
        claim_id uuid,
        authorization_id uuid,
        level smallint not null default 1 check (level between 1 and 4),
        previous_appeal_id uuid,
        status varchar(10) not null default 'draft' check (status in ({APPEAL_STATUSES})),
        outcome varchar(20) check (outcome in ({OUTCOMES})),
        urgency varchar(9) not null default 'standard' check (urgency in ('expedited','standard')),
        filing_deadline date not null,
        decision_due_at timestamptz,
        arguments varchar(20000),
        payer_reference varchar(80),
        amount_requested numeric(12,2) check (amount_requested >= 0),
        amount_recovered numeric(12,2) check (amount_recovered >= 0),
        decision_notes varchar(4000),
        status_reason varchar(1000),
        submitted_at timestamptz,
        decided_at timestamptz,
        created_by uuid,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        check (num_nonnulls(claim_id, authorization_id) = 1),
        check ((status = 'decided') = (outcome is not null)),
        check (status in ('draft','withdrawn') or submitted_at is not null),
        check (claim_id is not null or (amount_requested is null and amount_recovered is null)),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id),
        foreign key (tenant_id, claim_id) references claims (tenant_id, id),
        foreign key (tenant_id, authorization_id) references prior_authorizations (tenant_id, id),
        foreign key (tenant_id, previous_appeal_id) references appeals (tenant_id, id))""",
    "create unique index appeals_one_open_per_claim on appeals (tenant_id, claim_id) "
    "where claim_id is not null and status in ('draft','submitted','in_review')",
    "create unique index appeals_one_open_per_authorization on appeals (tenant_id, authorization_id) "
    "where authorization_id is not null and status in ('draft','submitted','in_review')",
    "create unique index appeals_escalated_once on appeals (tenant_id, previous_appeal_id) "
    "where previous_appeal_id is not null and status <> 'withdrawn'",
    "create index appeals_patient on appeals (tenant_id, patient_id, created_at)",
    "create index appeals_open on appeals (tenant_id, status) where status in ('draft','submitted','in_review')",
    f"""create table claim_transitions (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        claim_id uuid not null,
        from_status varchar(10) check (from_status in ({CLAIM_STATUSES})),
        to_status varchar(10) not null check (to_status in ({CLAIM_STATUSES})),
        reason varchar(1000),
        carc_codes varchar(8)[] not null default '{{}}',
        rarc_codes varchar(8)[] not null default '{{}}',
        billed_amount numeric(12,2) not null,
        allowed_amount numeric(12,2),
        paid_amount numeric(12,2),
        patient_responsibility numeric(12,2),
        payer_claim_number varchar(50),
        appeal_id uuid,
        actor_type varchar(16) not null,
        actor_id uuid,
        occurred_at timestamptz not null default clock_timestamp(),
        primary key (tenant_id, id),
        foreign key (tenant_id, claim_id) references claims (tenant_id, id),
        foreign key (tenant_id, appeal_id) references appeals (tenant_id, id))""",
    "create index claim_transitions_claim on claim_transitions (tenant_id, claim_id, occurred_at)",
    "create index claim_transitions_to on claim_transitions (tenant_id, to_status, occurred_at)",
    f"""create table appeal_transitions (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        appeal_id uuid not null,
        from_status varchar(10) check (from_status in ({APPEAL_STATUSES})),
        to_status varchar(10) not null check (to_status in ({APPEAL_STATUSES})),
        outcome varchar(20) check (outcome in ({OUTCOMES})),
        reason varchar(1000),
        amount_recovered numeric(12,2),
        actor_type varchar(16) not null,
        actor_id uuid,
        occurred_at timestamptz not null default clock_timestamp(),
        primary key (tenant_id, id),
        foreign key (tenant_id, appeal_id) references appeals (tenant_id, id))""",
    "create index appeal_transitions_appeal on appeal_transitions (tenant_id, appeal_id, occurred_at)",
    "create index appeal_transitions_to on appeal_transitions (tenant_id, to_status, occurred_at)",
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
