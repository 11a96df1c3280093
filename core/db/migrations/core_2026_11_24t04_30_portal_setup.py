"""The portal's guided setup: when an organization finished it (null: the owner is taken to it at login).

Organizations that existed before the portal count as set up."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db.raw import run_statements

ID = "2026-11-24T04:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "tenants.setup_completed_at for the portal's guided setup"

SCHEMA = [
    "alter table tenants add column if not exists setup_completed_at timestamptz",
    "update tenants set setup_completed_at = created_at where setup_completed_at is null",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run() -> None:
        await run_statements(SCHEMA)

    manager.add_raw(run)
    return manager
