"""Appointments and their status history."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db.raw import run_statements
from core.db.rls import rls_statements

ID = "2026-11-23T18:02:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "appointments and appointment status history"

_STATUSES = "'proposed','pending','booked','arrived','checked-in','fulfilled','cancelled','noshow','entered-in-error'"

SCHEMA = [
    f"""create table appointments (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        patient_id uuid not null,
        practitioner_id uuid,
        location varchar(200),
        start_at timestamptz not null,
        end_at timestamptz not null,
        time_zone varchar(64) not null,
        reason varchar(500),
        status varchar(20) not null check (status in ({_STATUSES})),
        cancel_reason varchar(500),
        referral_id uuid,
        care_plan_activity_id uuid,
        created_by uuid not null,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id),
        foreign key (tenant_id, practitioner_id) references practitioners (tenant_id, id),
        check (end_at > start_at))""",
    "create index appointments_patient on appointments (tenant_id, patient_id, start_at)",
    "create index appointments_practitioner on appointments (tenant_id, practitioner_id, start_at)",
    "create index appointments_start on appointments (tenant_id, start_at, id)",
    f"""create table appointment_status_history (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        appointment_id uuid not null,
        from_status varchar(20) check (from_status in ({_STATUSES})),
        to_status varchar(20) not null check (to_status in ({_STATUSES})),
        changed_by uuid not null,
        changed_at timestamptz not null default now(),
        reason varchar(500),
        primary key (tenant_id, id),
        foreign key (tenant_id, appointment_id) references appointments (tenant_id, id))""",
    """create index appointment_status_history_appointment
        on appointment_status_history (tenant_id, appointment_id, changed_at)""",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run() -> None:
        statements = list(SCHEMA)
        for table in ("appointments", "appointment_status_history"):
            statements.extend(rls_statements(table))
        await run_statements(statements)

    manager.add_raw(run)
    return manager
