"""Replies applied (once per inbound message), confirmations, preventive screenings, referrals heard of;
touches may be anchored on their own time (offset 0: a screening's due-date touch, a referral follow-up)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.plugins.sdk import run_statements, tenant_table_security

ID = "2026-11-23T23:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "reminder replies, confirmations, screenings, referrals"

SCHEMA = [
    "alter table reminder_touches drop constraint reminder_touches_offset_seconds_check",
    "alter table reminder_touches add constraint reminder_touches_offset_seconds_check check (offset_seconds >= 0)",
    # One row per inbound message the module acted on: applying the same message twice does nothing more.
    """create table reminder_replies (
        tenant_id uuid not null references tenants(id),
        inbound_message_id uuid not null,
        patient_id uuid,
        channel varchar(16) not null,
        appointment_id uuid,
        kind varchar(16),
        alternative varchar(16),
        action varchar(40),
        detail varchar(1000),
        created_at timestamptz not null default now(),
        primary key (tenant_id, inbound_message_id))""",
    "create index reminder_replies_patient on reminder_replies (tenant_id, patient_id, created_at)",
    # A confirmation is for one start time: a rescheduled appointment is not confirmed until the patient says so again.
    """create table reminder_confirmations (
        tenant_id uuid not null references tenants(id),
        appointment_id uuid not null,
        subject_at timestamptz not null,
        patient_id uuid not null,
        channel varchar(16) not null,
        inbound_message_id uuid,
        text varchar(1000),
        confirmed_at timestamptz not null default now(),
        primary key (tenant_id, appointment_id, subject_at),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id))""",
    """create table reminder_screenings (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        patient_id uuid not null,
        name varchar(200) not null check (length(btrim(name)) > 0),
        due_on date not null,
        created_at timestamptz not null default now(),
        primary key (tenant_id, id),
        unique (tenant_id, patient_id, name, due_on),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id))""",
    # What the module heard of referrals (referral_status_changed): it does not read the referrals module's tables.
    """create table reminder_referrals (
        tenant_id uuid not null references tenants(id),
        referral_id uuid not null,
        patient_id uuid not null,
        status varchar(24) not null,
        specialty varchar(200),
        target_practitioner_id uuid,
        updated_at timestamptz not null default now(),
        primary key (tenant_id, referral_id),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id))""",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="reminders", description=DESCRIPTION)

    async def run() -> None:
        await run_statements(
            [
                *SCHEMA,
                *tenant_table_security("reminder_replies"),
                *tenant_table_security("reminder_confirmations"),
                *tenant_table_security("reminder_screenings"),
                *tenant_table_security("reminder_referrals"),
            ]
        )

    manager.add_raw(run)
    return manager
