"""Wire formats of ``/api/v1/insurance/claims``.

Money travels as decimal strings with two places (``"125.00"``); numbers are accepted on input.
Rules that need more than one field or the record's state (amounts in order, codes well formed,
a reason for a denial) are checked by the service and answered with 422 naming each field.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import msgspec

from core.patients.schemas import TenantIdIgnored
from plugins.insurance.claims.states import Status

ClaimNumber = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,37}$",
        description="Our claim number (patient control number, CLM01): letters, digits, dashes, up to 38",
    ),
]
PayerClaimNumber = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,49}$",
        description="The payer's claim control number (ICN/DCN) from the acknowledgement or remittance",
    ),
]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=8)]
Codes = Annotated[list[Code], msgspec.Meta(max_length=20)]


class ClaimCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A claim as it goes to the payer; it is recorded as ``submitted``."""

    patient_id: UUID
    coverage_id: UUID
    """The patient's coverage the claim is billed to."""
    service_from: date
    service_to: date | None = None
    """Last day of service; default: ``service_from``."""
    billed_amount: Decimal
    authorization_id: UUID | None = None
    """The prior authorization the services were approved under, if any."""
    appointment_id: UUID | None = None
    claim_number: ClaimNumber | None = None
    """Default: a new ``CLM-...`` number."""
    submitted_at: datetime | None = None
    """When it went to the payer; default: now."""
    tenant_id: TenantIdIgnored = msgspec.UNSET


class ClaimTransitionIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A move of the claim, with what the payer said.

    ``rejected``, ``pended``, ``denied`` and ``voided`` need a ``reason``; ``denied`` also needs the
    payer's CARC code(s); ``paid`` needs ``allowed_amount`` and ``paid_amount``. Amounts not given
    stay as they were; together they must keep ``paid <= allowed <= billed``.
    """

    to: Status
    reason: Reason | None = None
    carc_codes: Codes = []
    """Claim adjustment reason codes with their group (``CO-50``, ``PR-1``); the group may be left out."""
    rarc_codes: Codes = []
    """Remittance advice remark codes (``N115``, ``MA130``)."""
    billed_amount: Decimal | None = None
    """Only on resubmission (``rejected -> submitted``), for a corrected claim."""
    allowed_amount: Decimal | None = None
    paid_amount: Decimal | None = None
    patient_responsibility: Decimal | None = None
    payer_claim_number: PayerClaimNumber | None = None
    remittance_date: date | None = None
    """Date of the payer's remittance or notice (``paid``/``denied``); default: today. Appeal deadlines run from it."""
    tenant_id: TenantIdIgnored = msgspec.UNSET


class Claim(msgspec.Struct, kw_only=True):
    id: UUID
    patient_id: UUID
    coverage_id: UUID
    authorization_id: UUID | None
    appointment_id: UUID | None
    claim_number: str
    payer_claim_number: str | None
    service_from: date
    service_to: date
    billed_amount: Decimal
    allowed_amount: Decimal | None
    paid_amount: Decimal | None
    patient_responsibility: Decimal | None
    status: Status
    carc_codes: list[str]
    rarc_codes: list[str]
    denial_reason: str | None
    status_reason: str | None
    remittance_date: date | None
    submitted_at: datetime
    adjudicated_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ClaimTransition(msgspec.Struct, kw_only=True):
    """One move, with the amounts and codes the claim carried after it."""

    id: UUID
    from_status: str | None
    to_status: str
    reason: str | None
    carc_codes: list[str]
    rarc_codes: list[str]
    billed_amount: Decimal
    allowed_amount: Decimal | None
    paid_amount: Decimal | None
    patient_responsibility: Decimal | None
    payer_claim_number: str | None
    appeal_id: UUID | None
    """The overturned appeal that reopened the claim, on a move back from ``denied``/``paid``."""
    actor_type: str
    actor_id: UUID | None
    occurred_at: datetime


class AppealCounts(msgspec.Struct, kw_only=True):
    decided: int
    overturned: int
    partially_overturned: int
    upheld: int
    overturn_rate: float | None
    """(overturned + partially overturned) / decided, 0..1; None when none was decided."""
    amount_recovered: Decimal


class ClaimSummary(msgspec.Struct, kw_only=True):
    """Claim and appeal figures of a period (dates in the organization's time zone, both included).

    ``by_status`` counts the claims first submitted in the period by their status now. The denial
    rate is the initial denial rate: of the claims first adjudicated in the period, the share whose
    first adjudication was a denial (from the transition log, so later edits do not change it).
    """

    from_date: date
    to_date: date
    submitted: int
    by_status: dict[str, int]
    adjudicated: int
    denied: int
    denial_rate: float | None
    """denied / adjudicated, 0..1; None when nothing was adjudicated."""
    billed_amount: Decimal
    paid_amount: Decimal
    """Totals of the claims first adjudicated in the period, as they stand now."""
    appeals: AppealCounts
    """Appeals decided in the period (claims' and authorizations')."""
