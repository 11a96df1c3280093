"""Piccolo declarations of appointments and their status history (tenant-owned)."""

from __future__ import annotations

from piccolo.columns import UUID, Timestamptz, Varchar
from piccolo.table import Table


class Appointment(Table, tablename="appointments"):
    """A booked or proposed visit (FHIR Appointment)."""

    id = UUID(primary_key=True)
    tenant_id = UUID()
    patient_id = UUID()
    practitioner_id = UUID(null=True)
    location = Varchar(length=200, null=True)
    start_at = Timestamptz()
    end_at = Timestamptz(help_text="after start_at")
    time_zone = Varchar(length=64, help_text="IANA zone the appointment is kept in")
    reason = Varchar(length=500, null=True)
    status = Varchar(length=20, help_text="FHIR Appointment.status")
    cancel_reason = Varchar(length=500, null=True)
    referral_id = UUID(null=True, help_text="a plugin's referral; no foreign key")
    care_plan_activity_id = UUID(null=True)
    created_by = UUID()
    created_at = Timestamptz()
    updated_at = Timestamptz()


class AppointmentStatusHistory(Table, tablename="appointment_status_history"):
    """One status change of an appointment: who, when, from what, to what, why."""

    id = UUID(primary_key=True)
    tenant_id = UUID()
    appointment_id = UUID()
    from_status = Varchar(length=20, null=True, help_text="null for the creation")
    to_status = Varchar(length=20)
    changed_by = UUID()
    changed_at = Timestamptz()
    reason = Varchar(length=500, null=True)
