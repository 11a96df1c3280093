"""What the insurance module tells other modules through query hooks (no import of the module)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec


class CoverageSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A patient's primary coverage as the referral packet and the chart show it."""

    coverage_id: UUID
    payer_name: str
    member_id: str
    group_number: str | None = None
    plan_name: str | None = None
    eligibility: str
    """``active``, ``inactive``, ``unknown``, ``failed`` or ``unverified`` (never checked)."""
    checked_at: datetime | None = None
    stale: bool = True
    """No answer, or an answer older than the tenant's freshness window."""


class AuthorizationSummary(msgspec.Struct, frozen=True, kw_only=True):
    """The latest prior authorization of a referral or appointment."""

    authorization_id: UUID
    status: str
    """The lifecycle status: draft, submitted, pended, decided, expired, cancelled."""
    decision: str | None = None
    """Overall decision once decided: certified, partially_certified, not_certified..."""
    authorization_number: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    decision_due_at: datetime | None = None
