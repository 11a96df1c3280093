"""Create ``partner_example_notes`` with row-level security."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.plugins.sdk import run_statements, tenant_table_security

ID = "2026-11-24T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "partner example notes"

SCHEMA = [
    """create table partner_example_notes (
        tenant_id uuid not null,
        id uuid not null default gen_random_uuid(),
        patient_id uuid not null,
        body varchar(500) not null,
        created_at timestamptz not null default now(),
        primary key (tenant_id, id),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id))""",
    "create index partner_example_notes_patient on partner_example_notes (tenant_id, patient_id, created_at)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="partner_example", description=DESCRIPTION)

    async def run() -> None:
        await run_statements([*SCHEMA, *tenant_table_security("partner_example_notes")])

    manager.add_raw(run)
    return manager
