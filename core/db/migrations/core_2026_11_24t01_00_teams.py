"""Teams of staff (coordinators grouped for metrics and worklists); a user belongs to at most one."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db.raw import run_statements
from core.db.rls import rls_statements

ID = "2026-11-24T01:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "teams"

SCHEMA = [
    """create table teams (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        name varchar(100) not null check (length(trim(name)) > 0),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id))""",
    "create unique index teams_name on teams (tenant_id, lower(name))",
    """alter table users
        add column team_id uuid,
        add constraint users_team_fk foreign key (tenant_id, team_id) references teams (tenant_id, id)""",
    "create index users_team on users (tenant_id, team_id) where team_id is not null",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run() -> None:
        await run_statements([*SCHEMA, *rls_statements("teams")])

    manager.add_raw(run)
    return manager
