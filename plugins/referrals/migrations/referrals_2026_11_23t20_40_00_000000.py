"""The specialist packet's state on each referral: queued, sent, failed, acknowledged."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.plugins.sdk import run_statements

ID = "2026-11-23T20:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "referral packet status"

SCHEMA = [
    """alter table referrals
        add column packet_status varchar(16) not null default 'not_sent'
            check (packet_status in ('not_sent', 'queued', 'sent', 'failed', 'acknowledged')),
        add column packet_notification_id uuid,
        add column packet_detail varchar(500)""",
    "create index referrals_packet_notification on referrals (tenant_id, packet_notification_id) "
    "where packet_notification_id is not null",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="referrals", description=DESCRIPTION)

    async def run() -> None:
        await run_statements(SCHEMA)

    manager.add_raw(run)
    return manager
