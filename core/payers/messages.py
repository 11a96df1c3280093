"""What goes to a payer and what comes back, independent of the wire format (X12, FHIR, a portal).

The shapes follow the X12 5010 transactions (270/271 eligibility, 278 services review) because
that is what payers answer with; an adapter speaking another format maps onto the same fields.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

import msgspec

EligibilityStatus = Literal["active", "inactive", "unknown"]
"""What the payer said about coverage; a check that got no usable answer is ``failed`` (not here)."""

BenefitKind = Literal["copay", "coinsurance", "deductible", "out_of_pocket", "limitation", "other"]

ActionCode = Literal["A1", "A2", "A3", "A4", "A6", "C", "CT"]
"""X12 health care services review action codes (HCR01 / code list 306)."""

DECISIONS: dict[str, str] = {
    "A1": "certified",
    "A2": "partially_certified",
    "A3": "not_certified",
    "A4": "pended",
    "A6": "modified",
    "C": "cancelled",
    "CT": "contact_payer",
}
"""Action code -> the decision the prior-authorization lifecycle records."""

Urgency = Literal["expedited", "standard"]


class Party(msgspec.Struct, frozen=True, kw_only=True):
    """An organization in a transaction: the payer (NM1*PR) or the requesting provider (NM1*1P)."""

    name: str
    identifier: str
    """Payer id (PI) for a payer, NPI (XX) for a provider."""


class Person(msgspec.Struct, frozen=True, kw_only=True):
    """The subscriber (NM1*IL) or a dependent patient (NM1*QC)."""

    last_name: str
    first_name: str
    birth_date: date | None = None
    gender: Literal["M", "F", "U"] | None = None
    member_id: str | None = None
    """The payer's member id (subscribers; a dependent usually has none of its own)."""
    group_number: str | None = None


class EligibilityInquiry(msgspec.Struct, frozen=True, kw_only=True):
    """One eligibility question: is this member covered on ``as_of``, for these service types."""

    payer: Party
    provider: Party
    subscriber: Person
    patient: Person | None = None
    """Set when the patient is a dependent of the subscriber, not the subscriber."""
    relationship: str | None = None
    """X12 individual relationship code of the patient to the subscriber (01 spouse, 19 child...)."""
    as_of: date
    service_types: tuple[str, ...] = ("30",)
    """X12 service type codes (30: health benefit plan coverage)."""
    trace_number: str
    """Our reference, echoed back by the payer (TRN02)."""


class Benefit(msgspec.Struct, frozen=True, kw_only=True):
    """One EB segment of a 271 that carries an amount or a percent."""

    kind: BenefitKind
    service_type: str | None = None
    coverage_level: str | None = None
    """``individual``, ``family``... (EB02)."""
    period: str | None = None
    """``calendar_year``, ``remaining``, ``visit``... (EB06)."""
    amount: Decimal | None = None
    percent: Decimal | None = None
    """In percent (20 means 20 %), where X12 EB08 carries the fraction 0.20."""
    in_network: bool | None = None
    description: str | None = None


class Rejection(msgspec.Struct, frozen=True, kw_only=True):
    """A request validation (AAA) from the payer: why it could not answer."""

    code: str
    message: str
    follow_up: str | None = None
    loop: str | None = None
    """Where it was reported (``payer``, ``provider``, ``subscriber``, ``patient``, ``service``)."""


class EligibilityResult(msgspec.Struct, frozen=True, kw_only=True):
    status: EligibilityStatus
    payer_name: str | None = None
    member_id: str | None = None
    plan_name: str | None = None
    plan_number: str | None = None
    group_number: str | None = None
    coverage_begin: date | None = None
    coverage_end: date | None = None
    copay: Decimal | None = None
    """Co-payment for an office visit (the first in-network copay the payer lists)."""
    coinsurance_percent: Decimal | None = None
    """In percent: 20 means the patient pays 20 %."""
    deductible: Decimal | None = None
    deductible_remaining: Decimal | None = None
    out_of_pocket: Decimal | None = None
    out_of_pocket_remaining: Decimal | None = None
    benefits: tuple[Benefit, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    trace_number: str | None = None
    raw_request: str = ""
    raw_response: str = ""


class ServiceLine(msgspec.Struct, frozen=True, kw_only=True):
    """One service asked for in a prior authorization (loop 2000F of a 278 request)."""

    line: int
    code: str
    code_system: Literal["CPT", "HCPCS"]
    modifiers: tuple[str, ...] = ()
    units: int = 1
    service_from: date | None = None
    service_to: date | None = None


class AuthorizationRequest(msgspec.Struct, frozen=True, kw_only=True):
    payer: Party
    provider: Party
    subscriber: Person
    patient: Person | None = None
    relationship: str | None = None
    diagnosis_codes: tuple[str, ...]
    """ICD-10-CM codes, the first one principal."""
    urgency: Urgency
    service_lines: tuple[ServiceLine, ...]
    trace_number: str
    service_type: str = "3"
    """X12 service type code of the request (UM03): 3 consultation, 1 medical care..."""


class LineDecision(msgspec.Struct, frozen=True, kw_only=True):
    """The payer's answer for one service line (HCR of loop 2000F)."""

    line: int
    action: ActionCode
    code: str | None = None
    approved_units: int | None = None
    authorization_number: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    reason_codes: tuple[str, ...] = ()

    @property
    def decision(self) -> str:
        return DECISIONS[self.action]


class AuthorizationResponse(msgspec.Struct, frozen=True, kw_only=True):
    """The payer's answer to a 278 request. ``lines`` is empty when the request was rejected (AAA)."""

    trace_number: str | None = None
    action: ActionCode | None = None
    """The review-level decision (HCR of loop 2000E), when the payer gives one."""
    authorization_number: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    lines: tuple[LineDecision, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    raw_request: str = ""
    raw_response: str = ""
