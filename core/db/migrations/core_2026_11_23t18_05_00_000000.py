"""Chart entries: notes and outside events on a patient's chart."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db.raw import run_statements
from core.db.rls import rls_statements

ID = "2026-11-23T18:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "chart entries"

SCHEMA = [
    """create table chart_entries (
        tenant_id uuid not null,
        id uuid not null default gen_random_uuid(),
        patient_id uuid not null,
        kind varchar(32) not null
            check (kind in ('note','consult','hospitalization','er_visit','phone_call','other')),
        occurred_at timestamptz not null,
        title varchar(200) not null,
        body varchar(10000),
        source varchar(200),
        author_id uuid,
        entered_in_error boolean not null default false,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id))""",
    "create index chart_entries_patient_time on chart_entries (tenant_id, patient_id, occurred_at)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run() -> None:
        await run_statements([*SCHEMA, *rls_statements("chart_entries")])

    manager.add_raw(run)
    return manager
