"""Piccolo declaration of the survey table (created by ``migrations/metrics_2026_11_24t01_10_surveys.py``)."""

from __future__ import annotations

from piccolo.columns import UUID, Array, Bytea, SmallInt, Timestamptz, Varchar
from piccolo.table import Table


class MetricSurvey(Table, tablename="metric_surveys"):
    """One satisfaction survey: the care event it follows, its hashed token, its delivery and its answer."""

    tenant_id = UUID(primary_key=True)
    id = UUID()
    event_type = Varchar(length=16)
    event_id = UUID()
    event_at = Timestamptz()
    patient_id = UUID()
    coordinator_id = UUID(null=True)
    provider_id = UUID(null=True)
    status = Varchar(length=16)
    reason = Varchar(length=500, null=True)
    token_hash = Bytea(null=True)
    channel = Varchar(length=16, null=True)
    channels_tried = Array(base_column=Varchar(length=16))
    notification_id = UUID(null=True)
    send_at = Timestamptz(null=True)
    sent_at = Timestamptz(null=True)
    expires_at = Timestamptz(null=True)
    answered_at = Timestamptz(null=True)
    score = SmallInt(null=True)
    clarity = SmallInt(null=True)
    comment = Varchar(length=1000, null=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()
