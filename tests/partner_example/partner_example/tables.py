"""The plugin's table, declared for piccolo; created by the migration in ``piccolo_migrations``."""

from __future__ import annotations

from piccolo.columns import UUID, Timestamptz, Varchar
from piccolo.table import Table


class PartnerExampleNote(Table, tablename="partner_example_notes"):
    """A note on a patient; tenant-owned (row-level security on ``tenant_id``)."""

    tenant_id = UUID(primary_key=True)
    id = UUID()
    patient_id = UUID()
    body = Varchar(length=500)
    created_at = Timestamptz()
