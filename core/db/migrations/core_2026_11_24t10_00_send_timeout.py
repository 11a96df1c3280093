"""The stale-send threshold becomes the ``NOTIFICATION_SEND_TIMEOUT_SECONDS`` setting.

``notifications_due_tenants`` took its 10 minutes from the function body; it now takes the threshold as an
argument, so the scheduler's sweep, the delivery's claim and an operator's setting agree.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db.raw import run_statements

ID = "2026-11-24T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notifications_due_tenants(stale_after interval)"

SCHEMA = [
    "drop function if exists notifications_due_tenants()",
    """create or replace function notifications_due_tenants(stale_after interval)
        returns setof uuid language sql stable security definer set search_path = public as $$
            select distinct tenant_id from notifications
            where (status = 'deferred' and not_before <= now())
               or (status = 'sending' and claimed_at < now() - stale_after)
        $$""",
    "revoke all on function notifications_due_tenants(interval) from public",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run() -> None:
        await run_statements(SCHEMA)

    manager.add_raw(run)
    return manager
