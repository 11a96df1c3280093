"""Piccolo declaration of chart entries: notes and events from outside (consults, ER visits...)."""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, Timestamptz, Varchar
from piccolo.table import Table


class ChartEntry(Table, tablename="chart_entries"):
    id = UUID(primary_key=True)
    tenant_id = UUID()
    patient_id = UUID()
    kind = Varchar(length=32, help_text="note | consult | hospitalization | er_visit | phone_call | other")
    occurred_at = Timestamptz()
    title = Varchar(length=200)
    body = Varchar(length=10000, null=True)
    source = Varchar(length=200, null=True, help_text="where an outside event comes from, e.g. a hospital")
    author_id = UUID(null=True)
    entered_in_error = Boolean(default=False)
    created_at = Timestamptz()
    updated_at = Timestamptz()
