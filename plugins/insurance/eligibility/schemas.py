"""Wire formats of eligibility checks."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec


class CheckRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    as_of: date | None = None
    """The day of service to ask about; default today (or the coverage's first day)."""


class EligibilityCheck(msgspec.Struct, kw_only=True):
    id: UUID
    coverage_id: UUID
    patient_id: UUID
    status: str
    """``queued`` until answered; then ``active``, ``inactive``, ``unknown`` (the payer could not say) or ``failed``."""
    stale: bool
    reason: str
    appointment_id: UUID | None
    as_of: date
    trace_number: str
    requested_at: datetime
    checked_at: datetime | None
    payer_name: str | None
    plan_name: str | None
    plan_number: str | None
    group_number: str | None
    coverage_begin: date | None
    coverage_end: date | None
    copay: Decimal | None
    coinsurance_percent: Decimal | None
    deductible: Decimal | None
    deductible_remaining: Decimal | None
    out_of_pocket: Decimal | None
    out_of_pocket_remaining: Decimal | None
    benefits: list[dict[str, Any]]
    rejections: list[dict[str, Any]]
    """The payer's reasons for not answering (X12 AAA): code, message, follow-up."""
    error: str | None


class RawExchange(msgspec.Struct, kw_only=True):
    """What went to the payer and what came back, verbatim (X12 270 and 271 for the built-in adapter)."""

    request: str | None
    response: str | None
