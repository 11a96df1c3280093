"""Piccolo declarations of the reminder tables (created by ``migrations/``)."""

from __future__ import annotations

from piccolo.columns import UUID, Array, Boolean, Integer, Timestamptz, Varchar
from piccolo.table import Table


class ReminderTouch(Table, tablename="reminder_touches"):
    """One planned reminder: unique per (kind, subject, touch key, subject time)."""

    tenant_id = UUID(primary_key=True)
    id = UUID()
    kind = Varchar(length=24)
    subject_id = UUID()
    subject_at = Timestamptz()
    patient_id = UUID()
    touch_key = Varchar(length=16)
    offset_seconds = Integer()
    due_at = Timestamptz()
    send_at = Timestamptz(null=True)
    status = Varchar(length=16)
    reason = Varchar(length=500, null=True)
    immediate = Boolean()
    rescheduled = Boolean()
    channel = Varchar(length=16, null=True)
    notification_ids = Array(base_column=UUID())
    failures = Integer()
    round = Integer()
    resend_requested_at = Timestamptz(null=True)
    claimed_at = Timestamptz(null=True)
    sent_at = Timestamptz(null=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class ReminderDelivery(Table, tablename="reminder_deliveries"):
    """One channel tried for one touch (per resend round and recipient)."""

    tenant_id = UUID(primary_key=True)
    id = UUID()
    touch_id = UUID()
    round = Integer()
    channel = Varchar(length=16)
    contact_id = UUID(null=True)
    notification_id = UUID(null=True)
    status = Varchar(length=16)
    detail = Varchar(length=1000, null=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class ReminderFlag(Table, tablename="reminder_flags"):
    """A worklist task raised once per subject and flag."""

    tenant_id = UUID(primary_key=True)
    subject_type = Varchar(length=24)
    subject_id = UUID()
    flag = Varchar(length=40)
    task_id = UUID(null=True)
    raised_at = Timestamptz()
