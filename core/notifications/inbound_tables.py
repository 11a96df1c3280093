"""Piccolo declarations of the inbound-message tables (created by migration core_2026_11_23t22_30)."""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, Text, Timestamptz, Varchar
from piccolo.table import Table


class InboundMessage(Table, tablename="inbound_messages"):
    """A message a patient (or anyone) sent to the organization's SMS number or inbound e-mail address."""

    tenant_id = UUID(primary_key=True)
    id = UUID()
    channel = Varchar(length=16, help_text="sms | email")
    from_address = Varchar(length=254)
    to_address = Varchar(length=254, null=True)
    subject = Varchar(length=500, null=True)
    body = Text(help_text="at most 10,000 characters; longer bodies are cut (body_truncated)")
    body_truncated = Boolean(default=False)
    match = Varchar(length=16, help_text="patient | contact | ambiguous | none")
    patient_id = UUID(null=True)
    contact_id = UUID(null=True)
    in_reply_to_notification_id = UUID(null=True)
    provider_message_id = Varchar(length=200, help_text="unique per tenant and channel: retries are stored once")
    received_at = Timestamptz()


class ChannelOptOut(Table, tablename="channel_opt_outs"):
    """A patient's permanent opt-out of a channel: only an explicit opt-in removes it."""

    tenant_id = UUID(primary_key=True)
    patient_id = UUID()
    channel = Varchar(length=16, help_text="sms | email | voice | letter (a consent channel)")
    source = Varchar(length=200)
    inbound_message_id = UUID(null=True)
    created_at = Timestamptz()
