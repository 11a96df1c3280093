"""Report runs e-mailed to users: the run's recipients, and notifications addressed to a staff user.

A notification so far was always about a patient. A report e-mail goes to a user of the organization
(``recipient_kind = 'user'``): it names the user instead of a patient, so ``patient_id`` becomes
nullable, and exactly one of the two is set. Report files travel as attachments, so CSV and XLSX
join the attachment types.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db.raw import run_statements

ID = "2026-11-24T01:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "report run recipients, notifications to users, CSV/XLSX attachments"

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

SCHEMA = [
    "alter table report_runs add column email_to uuid[] not null default '{}'::uuid[]",
    """alter table notifications
        alter column patient_id drop not null,
        add column user_id uuid,
        drop constraint notifications_recipient_kind_check,
        add constraint notifications_recipient_kind_check
            check (recipient_kind in ('patient', 'provider', 'contact', 'user')),
        add constraint notifications_user
            check ((recipient_kind = 'user') = (user_id is not null)
                   and (recipient_kind = 'user') = (patient_id is null)),
        add constraint notifications_user_fk foreign key (tenant_id, user_id) references users (tenant_id, id)""",
    "create index notifications_user on notifications (tenant_id, user_id, created_at desc) where user_id is not null",
    f"""alter table notification_attachments
        drop constraint notification_attachments_content_type_check,
        add constraint notification_attachments_content_type_check
            check (content_type in ('application/pdf', 'image/png', 'image/jpeg', 'text/plain', 'text/csv',
                                    '{XLSX}'))""",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run() -> None:
        await run_statements(SCHEMA)

    manager.add_raw(run)
    return manager
