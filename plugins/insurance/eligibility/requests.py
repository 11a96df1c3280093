"""Asking for an eligibility check: a queued row and an outbox message, in the caller's transaction."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any, Literal
from uuid import UUID

from core.plugins.sdk import PluginContext

Reason = Literal["manual", "appointment", "batch", "coverage"]
ACTOR = "insurance.check_eligibility"


def new_trace_number() -> str:
    """Our reference for one question (TRN02): 15 characters, echoed back by the payer."""
    return "CC" + secrets.token_hex(7).upper()[:13]


async def request_check(
    ctx: PluginContext,
    coverage_id: UUID,
    patient_id: UUID,
    reason: Reason,
    *,
    as_of: date,
    appointment_id: UUID | None = None,
) -> Any:
    """Queue a check of ``coverage_id`` on ``as_of`` (the day of service); the row as inserted.

    A check already queued for the same coverage and day is reused, so a burst of bookings asks once.
    """
    queued = await ctx.tx.fetchrow(
        "select id from eligibility_checks where coverage_id = $1 and as_of = $2 and status = 'queued'",
        coverage_id,
        as_of,
    )
    if queued is not None:
        return queued
    row = await ctx.tx.fetchrow(
        "insert into eligibility_checks (tenant_id, coverage_id, patient_id, reason, appointment_id, as_of, "
        "trace_number, requested_by) values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
        ctx.tenant_id,
        coverage_id,
        patient_id,
        reason,
        appointment_id,
        as_of,
        new_trace_number(),
        None if ctx.principal.kind == "system" else ctx.principal.actor_id,
    )
    await ctx.enqueue(ACTOR, {"check_id": str(row["id"])}, idempotency_key=f"eligibility:{row['id']}")
    details = {"patient_id": str(patient_id), "coverage_id": str(coverage_id), "reason": reason}
    await ctx.audit("insurance.eligibility_request", "eligibility_check", row["id"], details)
    return row
