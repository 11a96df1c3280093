"""Piccolo declaration of care team members (tenant-owned)."""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, Date, Timestamptz, Varchar
from piccolo.table import Table


class CareTeamMember(Table, tablename="care_team_members"):
    """A user or a practitioner on a patient's care team (FHIR CareTeam.participant)."""

    id = UUID(primary_key=True)
    tenant_id = UUID()
    patient_id = UUID()
    user_id = UUID(null=True)
    practitioner_id = UUID(null=True)
    role = Varchar(length=32)
    period_start = Date()
    period_end = Date(null=True)
    is_primary_coordinator = Boolean(default=False)
    created_at = Timestamptz()
    updated_at = Timestamptz()
