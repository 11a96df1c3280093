"""Wire formats of coverages (FHIR Coverage, simplified) and their change history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from core.patients.schemas import TenantIdIgnored

Order = Literal["primary", "secondary", "tertiary"]
Relationship = Literal["self", "spouse", "child", "other"]
MemberId = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{1,79}$", description="As on the card: letters, digits, dashes")
]
GroupNumber = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]{0,49}$")]
PlanName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class Subscriber(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The policy holder, when it is not the patient."""

    given_name: Name
    family_name: Name
    birth_date: date | None = None


def check_period(effective_from: date | None, effective_to: date | None) -> None:
    if effective_from is not None and effective_to is not None and effective_to < effective_from:
        raise ValueError("effective_to must not be before effective_from")


def check_subscriber(relationship: str, subscriber: Subscriber | None) -> None:
    if relationship != "self" and subscriber is None:
        raise ValueError(f"a {relationship} relationship needs the subscriber's name")


class CoverageCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    patient_id: UUID
    payer_id: UUID
    member_id: MemberId
    group_number: GroupNumber | None = None
    plan_name: PlanName | None = None
    order: Order = "primary"
    relationship: Relationship = "self"
    """The patient's relationship to the subscriber (``self``: the patient holds the policy)."""
    subscriber: Subscriber | None = None
    effective_from: date
    effective_to: date | None = None
    tenant_id: TenantIdIgnored = msgspec.UNSET

    def __post_init__(self) -> None:
        check_period(self.effective_from, self.effective_to)
        check_subscriber(self.relationship, self.subscriber)


class CoverageUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Partial update: absent fields stay; ``null`` clears an optional one. Every change is kept in the history."""

    payer_id: UUID | msgspec.UnsetType = msgspec.UNSET
    member_id: MemberId | msgspec.UnsetType = msgspec.UNSET
    group_number: GroupNumber | msgspec.UnsetType | None = msgspec.UNSET
    plan_name: PlanName | msgspec.UnsetType | None = msgspec.UNSET
    order: Order | msgspec.UnsetType = msgspec.UNSET
    relationship: Relationship | msgspec.UnsetType = msgspec.UNSET
    subscriber: Subscriber | msgspec.UnsetType | None = msgspec.UNSET
    effective_from: date | msgspec.UnsetType = msgspec.UNSET
    effective_to: date | msgspec.UnsetType | None = msgspec.UNSET
    tenant_id: TenantIdIgnored = msgspec.UNSET


class PayerRef(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    payer_code: str


class EligibilityState(msgspec.Struct, kw_only=True):
    """The latest eligibility answer of a coverage, as the chart shows it."""

    status: str
    """``unverified`` (never asked), ``queued``, ``active``, ``inactive``, ``unknown`` or ``failed``."""
    check_id: UUID | None = None
    checked_at: datetime | None = None
    stale: bool = True
    """No answer yet, an answer older than the freshness window, or one given before the coverage changed."""


class Coverage(msgspec.Struct, kw_only=True):
    id: UUID
    patient_id: UUID
    payer: PayerRef
    member_id: str
    group_number: str | None
    plan_name: str | None
    order: Order
    relationship: Relationship
    subscriber: Subscriber | None
    effective_from: date
    effective_to: date | None
    retired_at: datetime | None
    eligibility: EligibilityState
    created_at: datetime
    updated_at: datetime


class CoverageChange(msgspec.Struct, kw_only=True):
    id: UUID
    action: Literal["created", "updated", "retired"]
    changes: dict[str, Any]
    """``field: [before, after]`` for an update; the whole record for ``created``."""
    actor_type: str
    actor_id: UUID | None
    occurred_at: datetime
