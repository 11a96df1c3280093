"""Claim records and their lifecycle, inside the request's tenant transaction.

Every change writes the claim, a row of the transition log (with the amounts and codes after the
move) and an audit event in one transaction.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from core.plugins.sdk import PluginContext
from plugins.insurance.claims import rules, states
from plugins.insurance.claims.errors import (
    ConflictError,
    IllegalTransitionError,
    InvalidFieldError,
    UnknownReferenceError,
)
from plugins.insurance.claims.moves import plan_move
from plugins.insurance.claims.schemas import Claim, ClaimCreate, ClaimTransition, ClaimTransitionIn
from plugins.insurance.claims.tenant_time import tenant_today

COLUMNS = (
    "id, patient_id, coverage_id, authorization_id, appointment_id, claim_number, payer_claim_number, service_from, "
    "service_to, billed_amount, allowed_amount, paid_amount, patient_responsibility, status, carc_codes, rarc_codes, "
    "denial_reason, status_reason, remittance_date, submitted_at, adjudicated_at, created_at, updated_at"
)
TRANSITION_COLUMNS = (
    "id, from_status, to_status, reason, carc_codes, rarc_codes, billed_amount, allowed_amount, paid_amount, "
    "patient_responsibility, payer_claim_number, appeal_id, actor_type, actor_id, occurred_at"
)
CLOCK_SKEW = timedelta(minutes=5)


def to_claim(row: Any) -> Claim:
    return msgspec.convert(dict(row), Claim, strict=False)


def to_transition(row: Any) -> ClaimTransition:
    return msgspec.convert(dict(row), ClaimTransition, strict=False)


async def check_patient_records(
    ctx: PluginContext,
    patient_id: UUID,
    *,
    coverage_id: UUID | None = None,
    authorization_id: UUID | None = None,
    appointment_id: UUID | None = None,
) -> None:
    """The patient must be this organization's, and each other record this patient's (RLS hides the others)."""
    if await ctx.tx.fetchval("select 1 from patients where id = $1 and deleted_at is null", patient_id) is None:
        raise UnknownReferenceError("patient_id", "patient")
    for field, table, what, value in (
        ("coverage_id", "coverages", "coverage", coverage_id),
        ("authorization_id", "prior_authorizations", "prior authorization", authorization_id),
        ("appointment_id", "appointments", "appointment", appointment_id),
    ):
        if value is None:
            continue
        owner = await ctx.tx.fetchval(f"select patient_id from {table} where id = $1", value)
        if owner is None:
            raise UnknownReferenceError(field, what)
        if owner != patient_id:
            raise InvalidFieldError(field, f"the {what} belongs to another patient")


async def _log(
    ctx: PluginContext, claim: Any, previous: str | None, reason: str | None, appeal_id: UUID | None = None
) -> None:
    await ctx.tx.execute(
        "insert into claim_transitions (tenant_id, claim_id, from_status, to_status, reason, carc_codes, rarc_codes, "
        "billed_amount, allowed_amount, paid_amount, patient_responsibility, payer_claim_number, appeal_id, "
        "actor_type, actor_id) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        ctx.tenant_id,
        claim["id"],
        previous,
        claim["status"],
        reason,
        claim["carc_codes"],
        claim["rarc_codes"],
        claim["billed_amount"],
        claim["allowed_amount"],
        claim["paid_amount"],
        claim["patient_responsibility"],
        claim["payer_claim_number"],
        appeal_id,
        ctx.principal.kind,
        None if ctx.principal.kind == "system" else ctx.principal.actor_id,
    )


async def create_claim(ctx: PluginContext, data: ClaimCreate) -> Claim:
    await check_patient_records(
        ctx,
        data.patient_id,
        coverage_id=data.coverage_id,
        authorization_id=data.authorization_id,
        appointment_id=data.appointment_id,
    )
    service_to = data.service_to or data.service_from
    now = datetime.now(UTC)
    submitted_at = data.submitted_at or now
    errors = rules.check_amounts(data.billed_amount, None, None, None)
    if service_to < data.service_from:
        errors.append(("service_to", "service_to must not be before service_from"))
    if submitted_at.tzinfo is None:
        errors.append(("submitted_at", "submitted_at needs a time zone offset"))
    elif submitted_at > now + CLOCK_SKEW:
        errors.append(("submitted_at", "submitted_at must not be in the future"))
    elif data.service_from > submitted_at.date() + timedelta(days=1):
        errors.append(("service_from", "a claim is for services already given: service_from is after submission"))
    if errors:
        raise InvalidFieldError.of(errors)
    number = data.claim_number or f"CLM-{secrets.token_hex(6).upper()}"
    if await ctx.tx.fetchval("select 1 from claims where lower(claim_number) = lower($1)", number):
        raise ConflictError(f"Claim number {number} is already in use", field="claim_number")
    row = await ctx.tx.fetchrow(
        "insert into claims (tenant_id, patient_id, coverage_id, authorization_id, appointment_id, claim_number, "
        "service_from, service_to, billed_amount, submitted_at, created_by) "
        f"values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning {COLUMNS}",
        ctx.tenant_id,
        data.patient_id,
        data.coverage_id,
        data.authorization_id,
        data.appointment_id,
        number,
        data.service_from,
        service_to,
        data.billed_amount,
        submitted_at,
        None if ctx.principal.kind == "system" else ctx.principal.actor_id,
    )
    await _log(ctx, row, None, None)
    await ctx.audit("insurance.claim_create", "claim", row["id"], {"patient_id": str(row["patient_id"])})
    return to_claim(row)


async def get_claim(ctx: PluginContext, claim_id: UUID) -> Claim | None:
    row = await ctx.tx.fetchrow(f"select {COLUMNS} from claims where id = $1", claim_id)
    if row is None:
        return None
    await ctx.audit("insurance.claim_read", "claim", claim_id, {"patient_id": str(row["patient_id"])})
    return to_claim(row)


async def list_claims(
    ctx: PluginContext,
    *,
    status: list[str] | None,
    patient_id: UUID | None,
    coverage_id: UUID | None,
    authorization_id: UUID | None,
    limit: int,
) -> list[Claim]:
    rows = await ctx.tx.fetch(
        f"select {COLUMNS} from claims where ($1::text[] is null or status = any($1)) "
        "and ($2::uuid is null or patient_id = $2) and ($3::uuid is null or coverage_id = $3) "
        "and ($4::uuid is null or authorization_id = $4) order by submitted_at desc, id limit $5",
        status,
        patient_id,
        coverage_id,
        authorization_id,
        limit,
    )
    claims = [to_claim(r) for r in rows]
    details = {
        "ids": [str(c.id) for c in claims],
        "patient_ids": sorted({str(c.patient_id) for c in claims}),
    }
    if patient_id is not None:
        details["patient_id"] = str(patient_id)  # type: ignore[assignment]
    await ctx.audit("insurance.claim_list", "claim", None, details)
    return claims


async def lock_claim(ctx: PluginContext, claim_id: UUID) -> Any:
    return await ctx.tx.fetchrow(f"select {COLUMNS} from claims where id = $1 for no key update", claim_id)


async def document_owner(ctx: PluginContext, claim_id: UUID) -> UUID | None:
    """The claim's patient (the claim locked against concurrent uploads), or None: for the document routes."""
    row = await lock_claim(ctx, claim_id)
    return None if row is None else UUID(str(row["patient_id"]))


async def _overturning_appeal(ctx: PluginContext, claim_id: UUID, current: str) -> UUID | None:
    """An appeal of the claim won (fully or partly) after the claim last became ``current``."""
    found = await ctx.tx.fetchval(
        "select a.id from appeals a where a.claim_id = $1 and a.status = 'decided' "
        "and a.outcome in ('overturned', 'partially_overturned') and a.decided_at >= "
        "(select max(t.occurred_at) from claim_transitions t where t.claim_id = $1 and t.to_status = $2) "
        "order by a.decided_at desc, a.id limit 1",
        claim_id,
        current,
    )
    return None if found is None else UUID(str(found))


async def transition(ctx: PluginContext, claim_id: UUID, data: ClaimTransitionIn) -> Claim | None:
    """Move a claim along its lifecycle; None when it does not exist (in this organization)."""
    row = await lock_claim(ctx, claim_id)
    if row is None:
        return None
    current, target = row["status"], data.to
    appeal_id = None
    if states.needs_overturn(current, target):
        appeal_id = await _overturning_appeal(ctx, claim_id, current)
        if appeal_id is None:
            raise IllegalTransitionError(
                "claim", current, target, "only after an appeal of the claim is overturned (fully or partly)"
            )
    elif not states.can_move(current, target):
        raise IllegalTransitionError("claim", current, target)
    values, errors = plan_move(row, data, await tenant_today(ctx))
    if errors:
        raise InvalidFieldError.of(errors)
    updated = await ctx.tx.fetchrow(
        "update claims set status = $2::varchar, status_reason = $3, billed_amount = $4, allowed_amount = $5, "
        "paid_amount = $6, patient_responsibility = $7, carc_codes = $8, rarc_codes = $9, remittance_date = $10, "
        "payer_claim_number = coalesce($11, payer_claim_number), "
        "denial_reason = case when $2::varchar = 'denied' then $3 else denial_reason end, "
        "adjudicated_at = case when $2::varchar in ('paid', 'denied') then clock_timestamp() "
        "when $2::varchar = 'voided' then adjudicated_at end, "
        f"updated_at = now() where id = $1 returning {COLUMNS}",
        claim_id,
        target,
        data.reason,
        values["billed"],
        values["allowed"],
        values["paid"],
        values["patient_responsibility"],
        values["carc"],
        values["rarc"],
        values["remittance_date"],
        data.payer_claim_number,
    )
    await _log(ctx, updated, current, data.reason, appeal_id)
    details: dict[str, Any] = {"from": current, "patient_id": str(updated["patient_id"])}
    if appeal_id is not None:
        details["appeal_id"] = str(appeal_id)
    await ctx.audit(f"insurance.claim_{target}", "claim", claim_id, details)
    return to_claim(updated)


async def list_transitions(ctx: PluginContext, claim_id: UUID) -> list[ClaimTransition] | None:
    patient = await ctx.tx.fetchval("select patient_id from claims where id = $1", claim_id)
    if patient is None:
        return None
    rows = await ctx.tx.fetch(
        f"select {TRANSITION_COLUMNS} from claim_transitions where claim_id = $1 order by occurred_at, id", claim_id
    )
    await ctx.audit("insurance.claim_history", "claim", claim_id, {"patient_id": str(patient)})
    return [to_transition(r) for r in rows]
