"""Notifications to a patient's contact (a caregiver's copy of a reminder), allowed by a sharing consent."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db.raw import run_statements

ID = "2026-11-23T22:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notifications to contacts"

SCHEMA = [
    """alter table notifications
        drop constraint notifications_recipient_kind_check,
        drop constraint notifications_provider_address,
        add constraint notifications_recipient_kind_check
            check (recipient_kind in ('patient', 'provider', 'contact')),
        add constraint notifications_provider_address
            check (recipient_kind <> 'provider' or recipient_address is not null),
        add column contact_id uuid,
        add column share_as varchar(32),
        add constraint notifications_contact
            check ((recipient_kind = 'contact') = (contact_id is not null and share_as is not null)),
        add constraint notifications_contact_fk
            foreign key (tenant_id, contact_id) references patient_contacts (tenant_id, id)""",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run() -> None:
        await run_statements(SCHEMA)

    manager.add_raw(run)
    return manager
