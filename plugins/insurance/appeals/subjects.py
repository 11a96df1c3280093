"""What an appeal is of: a claim or a prior authorization, and whether its decision can be appealed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from core.plugins.sdk import PluginContext
from plugins.insurance.claims.errors import UnknownReferenceError

ADVERSE_AUTHORIZATION_DECISIONS = frozenset({"not_certified", "partially_certified", "modified"})
"""Authorization decisions that refuse some or all of what was asked."""


@dataclass(frozen=True)
class Subject:
    column: str
    """``claim_id`` or ``authorization_id``."""
    id: UUID
    what: str
    patient_id: UUID
    status: str
    appealable: bool
    refusal: str
    """Why it cannot be appealed (when it cannot)."""
    adverse_on: date | None
    """The date of the decision appealed, which the filing deadline counts from."""
    billed_amount: Decimal | None = None

    @property
    def status_key(self) -> str:
        return "claim_status" if self.column == "claim_id" else "authorization_status"


def _day(moment: Any, zone: ZoneInfo) -> date | None:
    return None if moment is None else moment.astimezone(zone).date()


async def claim_subject(ctx: PluginContext, claim_id: UUID, zone: ZoneInfo) -> Subject | None:
    row = await ctx.tx.fetchrow(
        "select id, patient_id, status, billed_amount, paid_amount, remittance_date, adjudicated_at from claims "
        "where id = $1",
        claim_id,
    )
    if row is None:
        return None
    underpaid = row["status"] == "paid" and row["paid_amount"] < row["billed_amount"]
    return Subject(
        column="claim_id",
        id=row["id"],
        what="claim",
        patient_id=row["patient_id"],
        status=row["status"],
        appealable=row["status"] == "denied" or underpaid,
        refusal=f"The claim is {row['status']}: only a denied claim or one paid less than billed can be appealed",
        adverse_on=row["remittance_date"] or _day(row["adjudicated_at"], zone),
        billed_amount=row["billed_amount"],
    )


async def authorization_subject(ctx: PluginContext, authorization_id: UUID, zone: ZoneInfo) -> Subject | None:
    row = await ctx.tx.fetchrow(
        "select id, patient_id, status, decision, decided_at from prior_authorizations where id = $1",
        authorization_id,
    )
    if row is None:
        return None
    decision = row["decision"] or "none"
    return Subject(
        column="authorization_id",
        id=row["id"],
        what="prior authorization",
        patient_id=row["patient_id"],
        status=row["status"],
        appealable=row["status"] == "decided" and decision in ADVERSE_AUTHORIZATION_DECISIONS,
        refusal=(
            f"The prior authorization is {row['status']} (decision {decision}): only a decided authorization "
            "that was not certified, partially certified or modified can be appealed"
        ),
        adverse_on=_day(row["decided_at"], zone),
    )


async def find_subject(
    ctx: PluginContext, *, claim_id: UUID | None, authorization_id: UUID | None, zone: ZoneInfo
) -> Subject:
    """The record named in a body; :class:`UnknownReferenceError` when it is not this organization's."""
    if claim_id is not None:
        found = await claim_subject(ctx, claim_id, zone)
        if found is None:
            raise UnknownReferenceError("claim_id", "claim")
        return found
    found = None if authorization_id is None else await authorization_subject(ctx, authorization_id, zone)
    if found is None:
        raise UnknownReferenceError("authorization_id", "prior authorization")
    return found
