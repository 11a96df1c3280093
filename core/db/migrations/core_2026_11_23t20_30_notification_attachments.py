"""Notification attachments (bytes kept per tenant) and provider-directed notifications."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db.raw import run_statements
from core.db.rls import rls_statements

ID = "2026-11-23T20:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notification attachments, provider recipients"

SCHEMA = [
    # A notification goes to the patient (their own addresses) or to a provider at an explicit address.
    """alter table notifications
        add column recipient_kind varchar(16) not null default 'patient'
            check (recipient_kind in ('patient', 'provider')),
        add column recipient_name varchar(200),
        add column recipient_address varchar(254),
        add constraint notifications_provider_address
            check (recipient_kind = 'patient' or recipient_address is not null)""",
    """create table notification_attachments (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        notification_id uuid not null,
        filename varchar(200) not null,
        content_type varchar(100) not null
            check (content_type in ('application/pdf', 'image/png', 'image/jpeg', 'text/plain')),
        size integer not null check (size between 1 and 10485760),
        content bytea not null,
        created_at timestamptz not null default clock_timestamp(),  -- keeps the order they were given in
        primary key (tenant_id, id),
        check (octet_length(content) = size),
        foreign key (tenant_id, notification_id) references notifications (tenant_id, id))""",
    "create index notification_attachments_notification on notification_attachments (tenant_id, notification_id)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run() -> None:
        await run_statements([*SCHEMA, *rls_statements("notification_attachments")])

    manager.add_raw(run)
    return manager
