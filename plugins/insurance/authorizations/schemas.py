"""Wire formats of ``/api/v1/insurance/prior-authorizations``.

Shapes are checked here (400 when a body does not fit); codes and references are checked by the
service, which answers 422 naming each offending field (``lines[1].code``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from core.patients.schemas import TenantIdIgnored
from plugins.insurance.authorizations.deadlines import Urgency
from plugins.insurance.authorizations.states import Decision, LineDecision, Status

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=10)]
ServiceType = Annotated[
    str, msgspec.Meta(pattern=r"^[0-9A-Z]{1,2}$", description="X12 service type code (UM03): 3 consultation...")
]
Modifier = Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Za-z]{2}$")]
AuthorizationNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Notes = Annotated[str, msgspec.Meta(max_length=10000)]
Channel = Literal["phone", "portal", "fax", "mail", "other"]


class LineIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One service asked for: a CPT or HCPCS code, how many units, for when."""

    code: Code
    code_system: Literal["CPT", "HCPCS"] | None = None
    """Derived from the code when left out; when given it must match the code's shape."""
    modifiers: Annotated[list[Modifier], msgspec.Meta(max_length=4)] = []
    units: int = 1
    service_from: date | None = None
    service_to: date | None = None


class AuthorizationCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new prior-authorization request, created as a draft."""

    patient_id: UUID
    coverage_id: UUID
    """The patient's coverage (not retired, in effect) the payer is asked under."""
    lines: Annotated[list[LineIn], msgspec.Meta(min_length=1, max_length=50)]
    diagnosis_codes: Annotated[list[Code], msgspec.Meta(min_length=1, max_length=12)]
    """ICD-10-CM codes, the principal one first; stored upper-case."""
    urgency: Urgency = "standard"
    service_type: ServiceType = "3"
    referral_id: UUID | None = None
    appointment_id: UUID | None = None
    notes: Notes | None = None
    coordinator_id: UUID | None = None
    """The user following the request up; default: its creator."""
    tenant_id: TenantIdIgnored = msgspec.UNSET


class AuthorizationUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Changes to a draft; ``lines`` replaces every line."""

    coverage_id: UUID | msgspec.UnsetType = msgspec.UNSET
    lines: Annotated[list[LineIn], msgspec.Meta(min_length=1, max_length=50)] | msgspec.UnsetType = msgspec.UNSET
    diagnosis_codes: Annotated[list[Code], msgspec.Meta(min_length=1, max_length=12)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    urgency: Urgency | msgspec.UnsetType = msgspec.UNSET
    service_type: ServiceType | msgspec.UnsetType = msgspec.UNSET
    referral_id: UUID | msgspec.UnsetType | None = msgspec.UNSET
    appointment_id: UUID | msgspec.UnsetType | None = msgspec.UNSET
    notes: Notes | msgspec.UnsetType | None = msgspec.UNSET
    coordinator_id: UUID | msgspec.UnsetType | None = msgspec.UNSET
    tenant_id: TenantIdIgnored = msgspec.UNSET


class LineDecisionIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The payer's decision on one line, as a coordinator heard or read it."""

    line: Annotated[int, msgspec.Meta(ge=1, le=99)]
    decision: LineDecision
    approved_units: Annotated[int, msgspec.Meta(ge=0, le=9999)] | None = None
    """Certified lines default to the units asked for; a partial certification must say how many."""
    authorization_number: AuthorizationNumber | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    reason_codes: Annotated[list[Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Za-z]{1,10}$")]],
                            msgspec.Meta(max_length=10)] = []  # fmt: skip


class DecisionIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A decision received outside the automated exchange (phone, portal, fax).

    Lines left out keep the decision they had; after this every line must have one. Approved lines
    need an authorization number and a validity period, on the line or here for all of them.
    """

    lines: Annotated[list[LineDecisionIn], msgspec.Meta(min_length=1, max_length=50)]
    channel: Channel = "phone"
    authorization_number: AuthorizationNumber | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    payer_reference: Annotated[str, msgspec.Meta(min_length=1, max_length=50)] | None = None
    """The payer's reference for the call or the portal case."""
    note: Reason | None = None


class CancelIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Reason


class Line(msgspec.Struct, kw_only=True):
    line: int
    code: str
    code_system: str
    modifiers: list[str]
    units: int
    service_from: date | None
    service_to: date | None
    decision: LineDecision | None
    action_code: str | None
    approved_units: int | None
    authorization_number: str | None
    valid_from: date | None
    valid_to: date | None
    reason_codes: list[str]


class Authorization(msgspec.Struct, kw_only=True):
    id: UUID
    patient_id: UUID
    coverage_id: UUID
    referral_id: UUID | None
    appointment_id: UUID | None
    urgency: Urgency
    service_type: str
    diagnosis_codes: list[str]
    status: Status
    status_reason: str | None
    decision: Decision | None
    """The payer's decision on the whole request; ``decided`` with ``not_certified`` is a denial."""
    approved: bool
    """True only while decided with (some) services approved: certified, partially certified or modified."""
    authorization_number: str | None
    valid_from: date | None
    valid_to: date | None
    submission_round: int
    trace_number: str | None
    payer_reference: str | None
    submitted_at: datetime | None
    decision_due_at: datetime | None
    overdue: bool
    """The payer's decision is past due and still not in."""
    decided_at: datetime | None
    last_error: str | None
    notes: str | None
    coordinator_id: UUID | None
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime
    lines: list[Line]


class Transition(msgspec.Struct, kw_only=True):
    id: UUID
    from_status: str | None
    to_status: str
    reason: str | None
    actor_type: str
    actor_id: UUID | None
    occurred_at: datetime


class Exchange(msgspec.Struct, kw_only=True):
    """One submission round's request to the payer and what came back, raw."""

    id: UUID
    submission_round: int
    trace_number: str | None
    outcome: Literal["answered", "rejected", "failed", "not_sent"]
    action_code: str | None
    error: str | None
    rejections: list[dict[str, str | None]]
    raw_request: str | None
    raw_response: str | None
    occurred_at: datetime
