"""Family members and caregivers (FHIR RelatedPerson), each change audited."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from core.audit.service import record
from core.http.context import RequestContext
from core.http.partial import changed_fields
from core.patients import consents
from core.patients.schemas import Contact, ContactCreate, ContactUpdate

COLUMNS = "id, patient_id, name, relationship, phone, email, may_receive, is_emergency_contact, created_at, updated_at"


def to_contact(row: Any) -> Contact:
    return Contact(**{**dict(row), "may_receive": list(row["may_receive"])})


async def patient_exists(ctx: RequestContext, patient_id: UUID) -> bool:
    return bool(
        await ctx.tx.fetchval("select exists(select 1 from patients where id = $1 and deleted_at is null)", patient_id)
    )


async def list_contacts(ctx: RequestContext, patient_id: UUID) -> list[Contact]:
    rows = await ctx.tx.fetch(
        f"select {COLUMNS} from patient_contacts where patient_id = $1 and deleted_at is null order by created_at, id",
        patient_id,
    )
    await record(ctx, "patient_contact.list", "patient", patient_id, {"count": len(rows)})
    return [to_contact(r) for r in rows]


async def add_contact(ctx: RequestContext, patient_id: UUID, data: ContactCreate) -> Contact:
    row = await ctx.tx.fetchrow(
        f"insert into patient_contacts (tenant_id, patient_id, name, relationship, phone, email, may_receive, "
        f"is_emergency_contact) values ($1, $2, $3, $4, $5, $6, $7, $8) returning {COLUMNS}",
        ctx.tenant_id,
        patient_id,
        data.name,
        data.relationship,
        data.phone,
        data.email,
        sorted(set(data.may_receive)),
        data.is_emergency_contact,
    )
    await record(ctx, "patient_contact.create", "patient_contact", row["id"], {"patient_id": str(patient_id)})
    return to_contact(row)


async def update_contact(
    ctx: RequestContext, patient_id: UUID, contact_id: UUID, data: ContactUpdate
) -> Contact | None:
    changes = changed_fields(data)
    if "may_receive" in changes:
        changes["may_receive"] = sorted(set(changes["may_receive"]))
    sets = "".join(f"{name} = ${i}, " for i, name in enumerate(changes, start=3))
    row = await ctx.tx.fetchrow(
        f"update patient_contacts set {sets}updated_at = now() "
        f"where id = $1 and patient_id = $2 and deleted_at is null returning {COLUMNS}",
        contact_id,
        patient_id,
        *changes.values(),
    )
    if row is None:
        return None
    await record(
        ctx,
        "patient_contact.update",
        "patient_contact",
        contact_id,
        {"patient_id": str(patient_id), "fields": sorted(changes)},
    )
    return to_contact(row)


async def remove_contact(ctx: RequestContext, patient_id: UUID, contact_id: UUID) -> bool:
    """Retire a contact: it leaves the list, and sharing consents naming it are revoked.

    The row stays (soft delete) because consent history and audit events refer to it.
    """
    done = await ctx.tx.fetchval(
        "update patient_contacts set deleted_at = now(), updated_at = now() "
        "where id = $1 and patient_id = $2 and deleted_at is null returning id",
        contact_id,
        patient_id,
    )
    if done is None:
        return False
    revoked = await ctx.tx.fetch(
        f"update patient_consents set status = 'revoked', revoked_at = now() "
        f"where contact_id = $1 and status = 'granted' returning {consents.COLUMNS}",
        contact_id,
    )
    await record(ctx, "patient_contact.delete", "patient_contact", contact_id, {"patient_id": str(patient_id)})
    for row in revoked:
        await ctx.emit("consent_changed", patient_id=patient_id, consent=consents.to_consent(row))
    return True
