"""Piccolo declarations of the referral tables (created by ``migrations/``)."""

from __future__ import annotations

from piccolo.columns import UUID, Array, Boolean, Bytea, Integer, Timestamptz, Varchar
from piccolo.table import Table


class Referral(Table, tablename="referrals"):
    """A request to a specialist to see a patient, from sending to the consult report (loop closure)."""

    tenant_id = UUID(primary_key=True)
    id = UUID()
    patient_id = UUID()
    referring_practitioner_id = UUID(null=True)
    target_practitioner_id = UUID(null=True)
    target_organization_id = UUID(null=True)
    specialty = Varchar(length=100)
    reason = Varchar(length=1000)
    diagnosis_codes = Array(base_column=Varchar(length=10))
    priority = Varchar(length=8)
    clinical_notes = Varchar(length=10000, null=True)
    prior_auth_required = Boolean()
    coordinator_id = UUID(null=True)
    appointment_id = UUID(null=True)
    consult_report = Varchar(length=20000, null=True)
    status = Varchar(length=16)
    held_from = Varchar(length=16, null=True)
    status_reason = Varchar(length=500, null=True)
    replaces_id = UUID(null=True)
    replaced_by_id = UUID(null=True)
    sent_at = Timestamptz(null=True)
    closed_at = Timestamptz(null=True)
    created_by = UUID(null=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    packet_status = Varchar(length=16, help_text="not_sent | queued | sent | failed | acknowledged")
    packet_notification_id = UUID(null=True, help_text="the notification that e-mailed the packet")
    packet_detail = Varchar(length=500, null=True, help_text="why the packet was not sent, or how it failed")
    sla_stopped_at = Timestamptz(null=True, help_text="when the SLA clock stopped (first stop status after sent)")
    sla_stop_status = Varchar(length=16, null=True, help_text="the status that stopped the SLA clock")
    sla_met = Boolean(null=True, help_text="whether the clock stopped before its deadline (null: not evaluated)")
    first_sent_at = Timestamptz(null=True, help_text="first move to sent, from the log")
    first_scheduled_at = Timestamptz(null=True, help_text="first move to scheduled, from the log")
    first_seen_at = Timestamptz(null=True, help_text="first move to seen, from the log")
    ended_at = Timestamptz(null=True, help_text="move to closed, cancelled or replaced, from the log")


class ReferralTransition(Table, tablename="referral_transitions"):
    """One status change: the log metrics are computed from (never from "last modified")."""

    tenant_id = UUID(primary_key=True)
    id = UUID()
    referral_id = UUID()
    from_status = Varchar(length=16, null=True)
    to_status = Varchar(length=16)
    reason = Varchar(length=500, null=True)
    actor_type = Varchar(length=16)
    actor_id = UUID(null=True)
    occurred_at = Timestamptz()
    left_at = Timestamptz(null=True, help_text="when the referral made its next move (end of this stay)")


class ReferralSlaEvent(Table, tablename="referral_sla_events"):
    """An at-risk or breached event that fired for a referral (once: the key is referral and event)."""

    tenant_id = UUID(primary_key=True)
    referral_id = UUID()
    event = Varchar(length=16)
    fired_at = Timestamptz()
    due_at = Timestamptz(null=True)
    task_id = UUID(null=True)


class ReferralAttachment(Table, tablename="referral_attachments"):
    """A clinical document of a referral (a letter, a lab result), sent with the specialist packet."""

    tenant_id = UUID(primary_key=True)
    id = UUID()
    referral_id = UUID()
    filename = Varchar(length=150)
    content_type = Varchar(length=60)
    size = Integer()
    content = Bytea()
    uploaded_by = UUID(null=True)
    created_at = Timestamptz()
