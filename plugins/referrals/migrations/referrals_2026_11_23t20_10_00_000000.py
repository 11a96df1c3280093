"""SLA events that fired, one row per referral and event: the unique key makes each fire once."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.plugins.sdk import run_statements, tenant_table_security

ID = "2026-11-23T20:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "referral SLA events"

SCHEMA = [
    """create table referral_sla_events (
        tenant_id uuid not null references tenants(id),
        referral_id uuid not null,
        event varchar(16) not null check (event in ('at_risk', 'breached', 'open_loop')),
        fired_at timestamptz not null default now(),
        due_at timestamptz,
        task_id uuid,
        primary key (tenant_id, referral_id, event),
        foreign key (tenant_id, referral_id) references referrals (tenant_id, id))""",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="referrals", description=DESCRIPTION)

    async def run() -> None:
        await run_statements([*SCHEMA, *tenant_table_security("referral_sla_events")])

    manager.add_raw(run)
    return manager
