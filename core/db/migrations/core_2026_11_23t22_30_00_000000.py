"""Inbound messages (patients' SMS and e-mail replies) and permanent per-channel opt-outs."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db.raw import run_statements
from core.db.rls import rls_statements

ID = "2026-11-23T22:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "inbound messages, channel opt-outs"

SCHEMA = [
    """create table inbound_messages (
        tenant_id uuid not null references tenants(id),
        id uuid not null default gen_random_uuid(),
        channel varchar(16) not null check (channel in ('sms', 'email')),
        from_address varchar(254) not null,
        to_address varchar(254),
        subject varchar(500),
        body text not null check (length(body) <= 10000),
        body_truncated boolean not null default false,
        match varchar(16) not null check (match in ('patient', 'contact', 'ambiguous', 'none')),
        patient_id uuid,
        contact_id uuid,
        in_reply_to_notification_id uuid,
        provider_message_id varchar(200) not null,
        received_at timestamptz not null default clock_timestamp(),
        primary key (tenant_id, id),
        -- a provider's retry of the same message is stored (and announced) once
        unique (tenant_id, channel, provider_message_id),
        check (contact_id is null or patient_id is not null),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id),
        foreign key (tenant_id, contact_id) references patient_contacts (tenant_id, id),
        foreign key (tenant_id, in_reply_to_notification_id) references notifications (tenant_id, id))""",
    "create index inbound_messages_received on inbound_messages (tenant_id, received_at desc, id desc)",
    "create index inbound_messages_patient on inbound_messages (tenant_id, patient_id, received_at desc)",
    """create table channel_opt_outs (
        tenant_id uuid not null references tenants(id),
        patient_id uuid not null,
        channel varchar(16) not null check (channel in ('sms', 'email', 'voice', 'letter')),
        source varchar(200) not null,
        inbound_message_id uuid,
        created_at timestamptz not null default now(),
        primary key (tenant_id, patient_id, channel),
        foreign key (tenant_id, patient_id) references patients (tenant_id, id),
        foreign key (tenant_id, inbound_message_id) references inbound_messages (tenant_id, id))""",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run() -> None:
        await run_statements([*SCHEMA, *rls_statements("inbound_messages"), *rls_statements("channel_opt_outs")])

    manager.add_raw(run)
    return manager
