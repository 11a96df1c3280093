"""Indexes for the core KPIs (plugins/metrics/core_metrics.py): outcomes of appointments by start,
open tasks by due time, task closings by time, live patients by registration time, deleted patients."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db.raw import run_statements

ID = "2026-11-24T01:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes for the core metrics"

SCHEMA = [
    "create index if not exists appointments_outcome on appointments (tenant_id, start_at) "
    "where status in ('fulfilled', 'noshow')",
    "create index if not exists tasks_open_due on tasks (tenant_id, due_at) "
    "where status not in ('rejected', 'cancelled', 'failed', 'completed', 'entered-in-error')",
    "create index if not exists task_status_history_to on task_status_history (tenant_id, to_status, changed_at)",
    "create index if not exists patients_created on patients (tenant_id, created_at) where deleted_at is null",
    # Facts leave out deleted patients with an anti-join on these few rows instead of a join on every patient.
    "create index if not exists patients_deleted on patients (tenant_id, id) where deleted_at is not null",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run() -> None:
        await run_statements(SCHEMA)

    manager.add_raw(run)
    return manager
