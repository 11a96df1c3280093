"""Piccolo declarations of the notification tables (created by migration core_2026_11_23t19_10)."""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, Array, Boolean, Bytea, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class NotificationChannelConfig(Table, tablename="notification_channel_configs"):
    """A tenant's settings of one channel; ``secrets`` is a Fernet token, never returned by the API."""

    tenant_id = UUID(primary_key=True)
    channel = Varchar(length=40)
    enabled = Boolean(default=False)
    options = JSONB(help_text="non-secret settings: sender, provider URL, quiet hours...")
    secrets = Text(null=True, help_text="Fernet token of a JSON object (SMTP password, auth token)")
    secret_names = Array(base_column=Varchar(length=60), help_text="which secrets are set (names only)")
    updated_by = UUID(null=True)
    updated_at = Timestamptz()


class NotificationTemplate(Table, tablename="notification_templates"):
    """A tenant's override of a message template for one channel (or ``any``) and language."""

    tenant_id = UUID(primary_key=True)
    id = UUID()
    name = Varchar(length=60)
    channel = Varchar(length=40, help_text="a channel name, or 'any'")
    language = Varchar(length=35)
    subject = Varchar(length=500, null=True)
    body = Text()
    updated_by = UUID(null=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Notification(Table, tablename="notifications"):
    """One message about a patient (or to a staff user) on one channel, and where its delivery stands."""

    tenant_id = UUID(primary_key=True)
    id = UUID()
    patient_id = UUID(null=True, help_text="the patient it is about; null for a message to a user")
    channel = Varchar(length=40)
    template = Varchar(length=60)
    language = Varchar(length=35, null=True)
    context = JSONB(help_text="template variables given by the requester")
    status = Varchar(
        length=16, help_text="queued | deferred | sending | sent | delivered | failed | bounced | suppressed | skipped"
    )
    idempotency_key = Varchar(length=200)
    not_before = Timestamptz(null=True)
    deferrals = Integer()
    attempts = Integer()
    claimed_at = Timestamptz(null=True)
    provider_message_id = Varchar(length=200, null=True)
    document_key = Varchar(length=300, null=True)
    last_error = Varchar(length=1000, null=True)
    requested_by = UUID(null=True)
    requested_by_module = Varchar(length=40, null=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    sent_at = Timestamptz(null=True)
    delivered_at = Timestamptz(null=True)
    recipient_kind = Varchar(
        length=16,
        help_text="patient | provider (an explicit address, no patient consent) | contact (a caregiver, by consent) "
        "| user (a staff user of the organization: a report e-mail)",
    )
    recipient_name = Varchar(length=200, null=True)
    recipient_address = Varchar(length=254, null=True)
    contact_id = UUID(null=True)
    share_as = Varchar(length=32, null=True, help_text="what the contact may receive that this is (sharing consent)")
    user_id = UUID(null=True, help_text="the staff user a 'user' notification goes to")


class NotificationEvent(Table, tablename="notification_events"):
    """One step of a notification's history: queued, deferred, sent, a provider's report..."""

    tenant_id = UUID(primary_key=True)
    id = UUID()
    notification_id = UUID()
    status = Varchar(length=16)
    source = Varchar(length=16, help_text="api | worker | provider")
    provider_status = Varchar(length=40, null=True)
    detail = Varchar(length=1000, null=True)
    occurred_at = Timestamptz()


class NotificationAttachment(Table, tablename="notification_attachments"):
    """A file sent with a notification (allow-listed type, at most 10 MB); the API shows metadata only."""

    tenant_id = UUID(primary_key=True)
    id = UUID()
    notification_id = UUID()
    filename = Varchar(length=200)
    content_type = Varchar(length=100)
    size = Integer()
    content = Bytea()
    created_at = Timestamptz()
