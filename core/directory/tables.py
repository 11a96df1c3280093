"""Piccolo declarations of the provider directory and community resources (tenant-owned)."""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, Array, Boolean, Timestamptz, Varchar
from piccolo.table import Table


class Practitioner(Table, tablename="practitioners"):
    """A clinician patients are referred or booked to (FHIR Practitioner + PractitionerRole)."""

    id = UUID(primary_key=True)
    tenant_id = UUID()
    given_name = Varchar(length=100)
    family_name = Varchar(length=100)
    specialty = Varchar(length=100, help_text="free text or a SNOMED/NUCC code")
    identifier = Varchar(length=32, null=True, help_text="NPI-like identifier, unique per tenant")
    organization_id = UUID(null=True)
    phone = Varchar(length=32, null=True)
    fax = Varchar(length=32, null=True)
    email = Varchar(length=254, null=True)
    address = JSONB(null=True)
    accepts_referrals = Boolean(default=True)
    languages = Array(base_column=Varchar(length=35))
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class ProviderOrganization(Table, tablename="provider_organizations"):
    """A clinic, hospital or practice (FHIR Organization)."""

    id = UUID(primary_key=True)
    tenant_id = UUID()
    name = Varchar(length=200)
    kind = Varchar(length=32, help_text="clinic | hospital | practice | lab | pharmacy | other")
    specialty = Varchar(length=100, null=True)
    identifier = Varchar(length=32, null=True)
    phone = Varchar(length=32, null=True)
    fax = Varchar(length=32, null=True)
    email = Varchar(length=254, null=True)
    address = JSONB(null=True)
    accepts_referrals = Boolean(default=True)
    languages = Array(base_column=Varchar(length=35))
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class CommunityResource(Table, tablename="community_resources"):
    """A service in the community: interpreters, transport, prescription assistance, food, housing."""

    id = UUID(primary_key=True)
    tenant_id = UUID()
    name = Varchar(length=200)
    category = Varchar(length=32, help_text="interpreter | transport | prescription | food | housing | other")
    description = Varchar(length=2000, null=True)
    phone = Varchar(length=32, null=True)
    email = Varchar(length=254, null=True)
    website = Varchar(length=300, null=True)
    address = JSONB(null=True)
    languages = Array(base_column=Varchar(length=35))
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()
