"""Patient records: create, read, partial update, soft delete, search; each one audited."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import msgspec

from core.audit.service import record
from core.db.filters import Filter
from core.http.context import RequestContext
from core.http.partial import changed_fields
from core.patients.schemas import (
    Address,
    CommunicationPreferences,
    Patient,
    PatientCreate,
    PatientPage,
    PatientUpdate,
)
from core.patients.search import apply_query, decode_cursor, digits, encode_cursor

COLUMNS = (
    "id, mrn, given_name, family_name, birth_date, sex, phone, email, address, communication, created_at, updated_at"
)
_JSON_FIELDS = {"address", "communication"}


def to_patient(row: Any) -> Patient:
    address = msgspec.json.decode(row["address"], type=Address) if row["address"] else None
    communication = msgspec.json.decode(row["communication"], type=CommunicationPreferences)
    return Patient(
        id=row["id"],
        mrn=row["mrn"],
        given_name=row["given_name"],
        family_name=row["family_name"],
        birth_date=row["birth_date"],
        sex=row["sex"],
        phone=row["phone"],
        email=row["email"],
        address=address,
        communication=communication,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _json(value: Any) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode()


async def create_patient(ctx: RequestContext, data: PatientCreate) -> Patient:
    row = await ctx.tx.fetchrow(
        f"insert into patients (tenant_id, mrn, given_name, family_name, birth_date, sex, phone, phone_digits, "
        f"email, address, communication) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb) "
        f"returning {COLUMNS}",
        ctx.tenant_id,
        data.mrn,
        data.given_name,
        data.family_name,
        data.birth_date,
        data.sex,
        data.phone,
        digits(data.phone),
        data.email,
        _json(data.address),
        _json(data.communication),
    )
    await record(ctx, "patient.create", "patient", row["id"])
    patient = to_patient(row)
    await ctx.emit("patient_created", patient=patient)
    return patient


async def read_patient(ctx: RequestContext, patient_id: UUID) -> Patient | None:
    """The patient, or None when absent, deleted or another tenant's (RLS hides those)."""
    row = await ctx.tx.fetchrow(f"select {COLUMNS} from patients where id = $1 and deleted_at is null", patient_id)
    if row is None:
        return None
    await record(ctx, "patient.read", "patient", patient_id)
    return to_patient(row)


async def update_patient(ctx: RequestContext, patient_id: UUID, data: PatientUpdate) -> Patient | None:
    changes = changed_fields(data)
    changes.pop("tenant_id", None)
    values: dict[str, Any] = {}
    for name, value in changes.items():
        values[name] = _json(value) if name in _JSON_FIELDS else value
    if "phone" in changes:
        values["phone_digits"] = digits(changes["phone"])
    sets = ", ".join(
        f"{name} = ${i}{'::jsonb' if name in _JSON_FIELDS else ''}" for i, name in enumerate(values, start=2)
    )
    sql = (
        f"update patients set {sets + ', ' if sets else ''}updated_at = now() "
        f"where id = $1 and deleted_at is null returning {COLUMNS}"
    )
    row = await ctx.tx.fetchrow(sql, patient_id, *values.values())
    if row is None:
        return None
    await record(ctx, "patient.update", "patient", patient_id, {"fields": sorted(changes)})
    patient = to_patient(row)
    await ctx.emit("patient_updated", patient=patient, changed=sorted(changes))
    return patient


async def delete_patient(ctx: RequestContext, patient_id: UUID) -> bool:
    """Soft delete: the record leaves lists and reads but stays for the audit trail."""
    done = await ctx.tx.fetchval(
        "update patients set deleted_at = now(), updated_at = now() where id = $1 and deleted_at is null returning id",
        patient_id,
    )
    if done is None:
        return False
    await record(ctx, "patient.delete", "patient", patient_id)
    await ctx.emit("patient_deleted", patient_id=patient_id)
    return True


async def search_patients(
    ctx: RequestContext,
    *,
    q: str | None,
    mrn: str | None,
    birth_date: date | None,
    phone: str | None,
    name: str | None,
    limit: int,
    cursor: str | None,
    ids: list[UUID] | None = None,
) -> PatientPage:
    """One page of patients ordered by family name, given name, id (keyset pagination).

    ``ids`` narrows to those patients (a worklist or day view naming the patients of its rows).
    """
    flt = Filter()
    flt.clauses.append("deleted_at is null")
    if q:
        apply_query(flt, q)
    if mrn:
        flt.add("mrn = {}", mrn)
    if birth_date:
        flt.add("birth_date = {}", birth_date)
    if phone:
        flt.add("phone_digits = {}", digits(phone))
    if name:
        apply_query(flt, name)
    if ids is not None:
        flt.add("id = any({}::uuid[])", ids)
    if cursor:
        family, given, last_id = decode_cursor(cursor)
        flt.add("(lower(family_name), lower(given_name), id) > ({}, {}, {})", family, given, last_id)
    flt.args.append(limit + 1)
    rows = await ctx.tx.fetch(
        f"select {COLUMNS}, lower(family_name) as family_key, lower(given_name) as given_key "
        f"from patients where {' and '.join(flt.clauses)} "
        f"order by lower(family_name), lower(given_name), id limit ${len(flt.args)}",
        *flt.args,
    )
    page, more = rows[:limit], len(rows) > limit
    # The cursor carries the database's lower(), not Python's: they differ for some letters (İ, ẞ).
    next_cursor = encode_cursor(page[-1]["family_key"], page[-1]["given_key"], page[-1]["id"]) if more else None
    await record(
        ctx, "patient.search", "patient", None, {"count": len(page), "resource_ids": [str(r["id"]) for r in page]}
    )
    return PatientPage(items=[to_patient(r) for r in page], next_cursor=next_cursor)
