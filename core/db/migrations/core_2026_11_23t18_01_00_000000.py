"""Provider directory (practitioners, organizations) and community resources."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db.raw import run_statements
from core.db.rls import rls_statements

ID = "2026-11-23T18:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "provider directory and community resources"

_CONTACT = """
        phone varchar(32),
        fax varchar(32),
        email varchar(254),
        address jsonb,"""

SCHEMA = [
    f"""create table provider_organizations (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        name varchar(200) not null,
        kind varchar(32) not null default 'clinic'
            check (kind in ('clinic','hospital','practice','lab','pharmacy','other')),
        specialty varchar(100),
        identifier varchar(32),{_CONTACT}
        accepts_referrals boolean not null default true,
        languages varchar(35)[] not null default '{{}}',
        active boolean not null default true,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id))""",
    "create unique index provider_organizations_identifier on provider_organizations (tenant_id, identifier)",
    "create index provider_organizations_name on provider_organizations (tenant_id, lower(name) text_pattern_ops)",
    f"""create table practitioners (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        given_name varchar(100) not null,
        family_name varchar(100) not null,
        specialty varchar(100) not null,
        identifier varchar(32),
        organization_id uuid,{_CONTACT}
        accepts_referrals boolean not null default true,
        languages varchar(35)[] not null default '{{}}',
        active boolean not null default true,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        foreign key (tenant_id, organization_id) references provider_organizations (tenant_id, id))""",
    "create unique index practitioners_identifier on practitioners (tenant_id, identifier)",
    "create index practitioners_specialty on practitioners (tenant_id, lower(specialty))",
    "create index practitioners_name on practitioners (tenant_id, lower(family_name) text_pattern_ops)",
    """create table community_resources (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        name varchar(200) not null,
        category varchar(32) not null
            check (category in ('interpreter','transport','prescription','food','housing','other')),
        description varchar(2000),
        phone varchar(32),
        email varchar(254),
        website varchar(300),
        address jsonb,
        languages varchar(35)[] not null default '{}',
        active boolean not null default true,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id))""",
    "create index community_resources_category on community_resources (tenant_id, category)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run() -> None:
        statements = list(SCHEMA)
        for table in ("provider_organizations", "practitioners", "community_resources"):
            statements.extend(rls_statements(table))
        await run_statements(statements)

    manager.add_raw(run)
    return manager
