"""Clinical attachments of referrals (sent with the specialist packet), with row-level security."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.plugins.sdk import run_statements, tenant_table_security

ID = "2026-11-23T20:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "referral attachments"

SCHEMA = [
    """create table referral_attachments (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        referral_id uuid not null,
        filename varchar(150) not null,
        content_type varchar(60) not null,
        size integer not null check (size > 0),
        content bytea not null,
        uploaded_by uuid,
        created_at timestamptz not null default now(),
        primary key (tenant_id, id),
        foreign key (tenant_id, referral_id) references referrals (tenant_id, id))""",
    "create index referral_attachments_referral on referral_attachments (tenant_id, referral_id, created_at)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="referrals", description=DESCRIPTION)

    async def run() -> None:
        await run_statements([*SCHEMA, *tenant_table_security("referral_attachments")])

    manager.add_raw(run)
    return manager
