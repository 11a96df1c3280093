"""Reminder touches (the plan), their deliveries per channel, and once-only flags, with row-level security."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.plugins.sdk import run_statements, tenant_table_security

ID = "2026-11-23T23:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "reminder touches, deliveries, flags"

KINDS = "'appointment','referral_followup','screening','documents'"
TOUCH_STATUSES = "'planned','sending','sent','delivered','failed','skipped','cancelled'"
CHANNELS = "'sms','email','voice','letter'"

SCHEMA = [
    f"""create table reminder_touches (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        kind varchar(24) not null check (kind in ({KINDS})),
        subject_id uuid not null,
        subject_at timestamptz not null,
        patient_id uuid not null,
        touch_key varchar(16) not null,
        offset_seconds integer not null check (offset_seconds > 0),
        due_at timestamptz not null,
        send_at timestamptz,
        status varchar(16) not null check (status in ({TOUCH_STATUSES})),
        reason varchar(500),
        immediate boolean not null default false,
        rescheduled boolean not null default false,
        channel varchar(16) check (channel in ({CHANNELS})),
        notification_ids uuid[] not null default '{{}}',
        failures integer not null default 0,
        round integer not null default 0,
        resend_requested_at timestamptz,
        claimed_at timestamptz,
        sent_at timestamptz,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        unique (tenant_id, kind, subject_id, touch_key, subject_at),
        check (status <> 'planned' or send_at is not null),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id))""",
    "create index reminder_touches_due on reminder_touches (tenant_id, send_at) where status = 'planned'",
    "create index reminder_touches_patient on reminder_touches (tenant_id, patient_id, subject_at)",
    f"""create table reminder_deliveries (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        touch_id uuid not null,
        round integer not null default 0,
        channel varchar(16) not null check (channel in ({CHANNELS})),
        contact_id uuid,
        notification_id uuid,
        status varchar(16) not null,
        detail varchar(1000),
        created_at timestamptz not null default clock_timestamp(),
        updated_at timestamptz not null default now(),
        primary key (tenant_id, id),
        foreign key (tenant_id, touch_id) references reminder_touches (tenant_id, id))""",
    # Each touch goes out once per channel (and resend round, and recipient): every insert is idempotent.
    "create unique index reminder_deliveries_once on reminder_deliveries "
    "(tenant_id, touch_id, round, channel, coalesce(contact_id, '00000000-0000-0000-0000-000000000000'::uuid))",
    "create index reminder_deliveries_notification on reminder_deliveries (tenant_id, notification_id) "
    "where notification_id is not null",
    """create table reminder_flags (
        tenant_id uuid not null references tenants(id),
        subject_type varchar(24) not null,
        subject_id uuid not null,
        flag varchar(40) not null,
        task_id uuid,
        raised_at timestamptz not null default now(),
        primary key (tenant_id, subject_type, subject_id, flag))""",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="reminders", description=DESCRIPTION)

    async def run() -> None:
        await run_statements(
            [
                *SCHEMA,
                *tenant_table_security("reminder_touches"),
                *tenant_table_security("reminder_deliveries"),
                *tenant_table_security("reminder_flags"),
            ]
        )

    manager.add_raw(run)
    return manager
