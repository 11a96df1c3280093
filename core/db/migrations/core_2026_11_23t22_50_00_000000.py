"""The scheduler also finds tenants with a notification whose send was interrupted (its worker died)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db.raw import run_statements

ID = "2026-11-23T22:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notifications_due_tenants finds stale sends"

SCHEMA = [
    # Same signature (grants stay): deferred ones now due, and sends claimed longer ago than a send can last.
    """create or replace function notifications_due_tenants()
        returns setof uuid language sql stable security definer set search_path = public as $$
            select distinct tenant_id from notifications
            where (status = 'deferred' and not_before <= now())
               or (status = 'sending' and claimed_at < now() - interval '600 seconds')
        $$""",
    "revoke all on function notifications_due_tenants() from public",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run() -> None:
        await run_statements(SCHEMA)

    manager.add_raw(run)
    return manager
