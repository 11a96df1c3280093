"""The reminders KPIs find touches by when they went out and when they first reached the patient."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.plugins.sdk import run_statements

ID = "2026-11-24T01:44:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index reminder touches by claim and send time"

SCHEMA = [
    "create index if not exists reminder_touches_claimed on reminder_touches (tenant_id, claimed_at) "
    "where claimed_at is not null",
    "create index if not exists reminder_touches_sent on reminder_touches (tenant_id, kind, sent_at) "
    "where sent_at is not null",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="reminders", description=DESCRIPTION)

    async def run() -> None:
        await run_statements(SCHEMA)

    manager.add_raw(run)
    return manager
