"""Figures of the dashboard's closed periods, kept for an hour so a dashboard computes only the current one."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.plugins.sdk import run_statements, tenant_table_security

ID = "2026-11-24T02:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "metric dashboard cache"

SCHEMA = [
    """create table metric_dashboard_cache (
        tenant_id uuid not null references tenants(id),
        metric varchar(80) not null,
        period varchar(8) not null check (period in ('day', 'week', 'month')),
        time_zone varchar(64) not null,
        period_start date not null,
        value double precision,
        facts integer not null,
        computed_at timestamptz not null,
        primary key (tenant_id, metric, period, time_zone, period_start))""",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="metrics", description=DESCRIPTION)

    async def run() -> None:
        await run_statements([*SCHEMA, *tenant_table_security("metric_dashboard_cache")])

    manager.add_raw(run)
    return manager
