"""Piccolo declaration of report runs (created by migration core_2026_11_23t19_20)."""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, Array, BigInt, Integer, SmallInt, Timestamptz, Varchar
from piccolo.table import Table


class ReportRun(Table, tablename="report_runs"):
    """One request to build a report: its parameters, progress, and the file it produced."""

    tenant_id = UUID(primary_key=True)
    id = UUID()
    report = Varchar(length=120, help_text="core report name, or {module}.{name} for a plugin's")
    format = Varchar(length=8, help_text="csv | xlsx | pdf")
    params = JSONB()
    status = Varchar(length=16, help_text="queued | running | done | failed | expired")
    progress = SmallInt()
    rows = Integer(null=True)
    file_size = BigInt(null=True)
    file_key = Varchar(length=300, null=True)
    content_type = Varchar(length=100, null=True)
    requested_by = UUID(null=True)
    created_at = Timestamptz()
    started_at = Timestamptz(null=True)
    finished_at = Timestamptz(null=True)
    expires_at = Timestamptz(null=True)
    attempts = Integer()
    error = Varchar(length=2000, null=True)
    email_to = Array(base_column=UUID(), help_text="users e-mailed the file once built (core_2026_11_24t01_30)")
