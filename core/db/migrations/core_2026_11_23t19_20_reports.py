"""Reports: one row per run of a report, with its progress and the stored file it produced."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db.raw import run_statements
from core.db.rls import rls_statements

ID = "2026-11-23T19:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "report runs"

SCHEMA = [
    """create table report_runs (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        report varchar(120) not null,
        format varchar(8) not null check (format in ('csv','xlsx','pdf')),
        params jsonb not null default '{}'::jsonb,
        status varchar(16) not null default 'queued'
            check (status in ('queued','running','done','failed','expired')),
        progress smallint not null default 0 check (progress between 0 and 100),
        rows integer,
        file_size bigint,
        file_key varchar(300),
        content_type varchar(100),
        requested_by uuid,
        created_at timestamptz not null default now(),
        started_at timestamptz,
        finished_at timestamptz,
        expires_at timestamptz,
        attempts integer not null default 0,
        error varchar(2000),
        primary key (tenant_id, id))""",
    "create index report_runs_recent on report_runs (tenant_id, created_at desc, id desc)",
    "create index report_runs_expiring on report_runs (tenant_id, expires_at) where status = 'done'",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run() -> None:
        await run_statements([*SCHEMA, *rls_statements("report_runs")])

    manager.add_raw(run)
    return manager
