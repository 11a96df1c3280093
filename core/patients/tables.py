"""Piccolo declarations of patients, their contacts and consents (tenant-owned)."""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, Array, Boolean, Date, Timestamptz, Varchar
from piccolo.table import Table


class Patient(Table, tablename="patients"):
    id = UUID(primary_key=True)
    tenant_id = UUID()
    mrn = Varchar(length=64, help_text="medical record number, unique per tenant")
    given_name = Varchar(length=100)
    family_name = Varchar(length=100)
    birth_date = Date()
    sex = Varchar(length=16, null=True, help_text="FHIR administrative gender")
    phone = Varchar(length=32, null=True)
    phone_digits = Varchar(length=32, null=True, help_text="phone without punctuation, for search")
    email = Varchar(length=254, null=True)
    address = JSONB(null=True)
    communication = JSONB(help_text="channels, language, interpreter, quiet hours, time zone")
    created_at = Timestamptz()
    updated_at = Timestamptz()
    deleted_at = Timestamptz(null=True)


class PatientContact(Table, tablename="patient_contacts"):
    id = UUID(primary_key=True)
    tenant_id = UUID()
    patient_id = UUID()
    name = Varchar(length=200)
    relationship = Varchar(length=32, help_text="FHIR RelatedPerson relationship code")
    phone = Varchar(length=32, null=True)
    email = Varchar(length=254, null=True)
    may_receive = Array(base_column=Varchar(length=32), help_text="what the contact may be told")
    is_emergency_contact = Boolean(default=False)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    deleted_at = Timestamptz(null=True)


class PatientConsent(Table, tablename="patient_consents"):
    id = UUID(primary_key=True)
    tenant_id = UUID()
    patient_id = UUID()
    kind = Varchar(length=16, help_text="channel | sharing")
    channel = Varchar(length=16, null=True, help_text="sms | email | voice | letter")
    contact_id = UUID(null=True, help_text="for sharing: the contact information may go to")
    status = Varchar(length=16, help_text="granted | revoked")
    granted_at = Timestamptz()
    expires_at = Timestamptz(null=True)
    revoked_at = Timestamptz(null=True)
    recorded_by = UUID()
    note = Varchar(length=500, null=True)
    created_at = Timestamptz()
