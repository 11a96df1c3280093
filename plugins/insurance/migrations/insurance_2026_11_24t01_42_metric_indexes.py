"""The insurance KPIs find payer decisions by status and time (see plugins/insurance/metrics.py)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.plugins.sdk import run_statements

ID = "2026-11-24T01:42:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index prior authorization transitions by status and time"

SCHEMA = [
    "create index if not exists prior_authorization_transitions_to "
    "on prior_authorization_transitions (tenant_id, to_status, occurred_at)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="insurance", description=DESCRIPTION)

    async def run() -> None:
        await run_statements(SCHEMA)

    manager.add_raw(run)
    return manager
