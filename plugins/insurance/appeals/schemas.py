"""Wire formats of ``/api/v1/insurance/appeals``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import msgspec

from core.patients.schemas import TenantIdIgnored
from plugins.insurance.appeals.states import Outcome, Status, Urgency

Arguments = Annotated[str, msgspec.Meta(min_length=1, max_length=20000)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
Notes = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
PayerReference = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
Level = Annotated[int, msgspec.Meta(ge=1, le=4)]


class AppealCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new appeal (a draft) of a denied or underpaid claim, or of an adverse prior-authorization decision.

    Name exactly one of ``claim_id`` and ``authorization_id``; the patient is theirs.
    """

    claim_id: UUID | None = None
    authorization_id: UUID | None = None
    level: Level = 1
    """1 first-level internal, 2 second-level internal, 3 external review, 4 further/administrative.
    Later levels are normally opened with ``POST /appeals/{id}/escalate``; a level above 1 here records
    an appeal whose earlier levels were handled outside carecoord."""
    urgency: Urgency = "standard"
    """``expedited`` when waiting could seriously jeopardize the patient's health (72-hour decisions)."""
    filing_deadline: date | None = None
    """Last day to file; default from the date of the adverse decision (see the module docs)."""
    arguments: Arguments | None = None
    """Why the decision is wrong: the appeal letter's reasoning (required to submit)."""
    payer_reference: PayerReference | None = None
    amount_requested: Decimal | None = None
    """For a claim appeal: the amount asked for."""
    tenant_id: TenantIdIgnored = msgspec.UNSET


class AppealTransitionIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A move of the appeal. ``submitted`` needs arguments (here or on the draft); ``decided`` needs the
    ``outcome``; ``withdrawn`` needs a ``reason``."""

    to: Status
    reason: Reason | None = None
    arguments: Arguments | None = None
    submitted_at: datetime | None = None
    """``submitted``: when it was filed; default now."""
    decision_due_at: datetime | None = None
    """``submitted``/``in_review``: the reviewer's own due date, when it differs from the default."""
    outcome: Outcome | None = None
    decision_notes: Notes | None = None
    amount_recovered: Decimal | None = None
    """``decided``, claim appeals: what the payer agreed to pay on top."""
    payer_reference: PayerReference | None = None
    tenant_id: TenantIdIgnored = msgspec.UNSET


class EscalateIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Take an upheld (or partly overturned) appeal one level up: a new draft appeal."""

    arguments: Arguments | None = None
    urgency: Urgency | None = None
    """Default: the urgency of the appeal escalated."""
    filing_deadline: date | None = None
    """Default: from the date of the decision escalated."""
    tenant_id: TenantIdIgnored = msgspec.UNSET


class Appeal(msgspec.Struct, kw_only=True):
    id: UUID
    patient_id: UUID
    claim_id: UUID | None
    authorization_id: UUID | None
    level: int
    level_name: str
    previous_appeal_id: UUID | None
    status: Status
    outcome: Outcome | None
    urgency: Urgency
    filing_deadline: date
    decision_due_at: datetime | None
    arguments: str | None
    payer_reference: str | None
    amount_requested: Decimal | None
    amount_recovered: Decimal | None
    decision_notes: str | None
    status_reason: str | None
    submitted_at: datetime | None
    decided_at: datetime | None
    created_at: datetime
    updated_at: datetime
    overdue: bool = False
    """A draft past its filing deadline, or a filed appeal past its decision due date."""


class AppealTransition(msgspec.Struct, kw_only=True):
    id: UUID
    from_status: str | None
    to_status: str
    outcome: str | None
    reason: str | None
    amount_recovered: Decimal | None
    actor_type: str
    actor_id: UUID | None
    occurred_at: datetime
