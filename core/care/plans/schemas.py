"""Wire formats of care plans, goals, measurements, activities and versions (FHIR CarePlan and Goal)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from core.care.plans.states import Achievement, ActivityKind, ActivityStatus, GoalStatus, LinkedType, PlanStatus

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
LongText = Annotated[str, msgspec.Meta(max_length=4000)]
Description = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
Target = Annotated[str, msgspec.Meta(min_length=1, max_length=200, description='e.g. "HbA1c < 7%"')]
Unit = Annotated[str, msgspec.Meta(min_length=1, max_length=32, description="UCUM-style unit, e.g. % or mmol/L")]
Quantity = Annotated[float, msgspec.Meta(ge=-1e12, le=1e12)]
Note = Annotated[str, msgspec.Meta(max_length=500)]
TenantIdIgnored = UUID | msgspec.UnsetType
"""``tenant_id`` is accepted in bodies and always ignored: the tenant is the caller's."""


def _check_aware(name: str, value: datetime | msgspec.UnsetType | None) -> None:
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError(f"{name} needs a time zone offset")


def _check_link(linked_type: object, linked_id: object) -> None:
    if linked_type is msgspec.UNSET and linked_id is msgspec.UNSET:
        return
    if (linked_type is None or linked_type is msgspec.UNSET) != (linked_id is None or linked_id is msgspec.UNSET):
        raise ValueError("linked_type and linked_id go together")


class GoalCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    description: Description
    target: Target | None = None
    target_value: Quantity | None = None
    unit: Unit | None = None
    due_date: date | None = None
    status: GoalStatus = "proposed"
    achievement: Achievement | None = None
    tenant_id: TenantIdIgnored = msgspec.UNSET


class GoalUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Partial update; a ``status`` change must be a legal Goal lifecycle move (else 409)."""

    description: Description | msgspec.UnsetType = msgspec.UNSET
    target: Target | msgspec.UnsetType | None = msgspec.UNSET
    target_value: Quantity | msgspec.UnsetType | None = msgspec.UNSET
    unit: Unit | msgspec.UnsetType | None = msgspec.UNSET
    due_date: date | msgspec.UnsetType | None = msgspec.UNSET
    status: GoalStatus | msgspec.UnsetType = msgspec.UNSET
    achievement: Achievement | msgspec.UnsetType | None = msgspec.UNSET
    tenant_id: TenantIdIgnored = msgspec.UNSET


class ActivityCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kind: ActivityKind
    description: Description
    status: ActivityStatus = "not-started"
    linked_type: LinkedType | None = None
    linked_id: UUID | None = None
    """The appointment, referral or task carrying the activity out (must exist in this organization)."""
    due_date: date | None = None
    tenant_id: TenantIdIgnored = msgspec.UNSET

    def __post_init__(self) -> None:
        _check_link(self.linked_type, self.linked_id)


class ActivityUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Partial update; a ``status`` change must be a legal activity move (else 409).

    ``linked_type`` and ``linked_id`` change together (both values, or both null).
    """

    kind: ActivityKind | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    status: ActivityStatus | msgspec.UnsetType = msgspec.UNSET
    linked_type: LinkedType | msgspec.UnsetType | None = msgspec.UNSET
    linked_id: UUID | msgspec.UnsetType | None = msgspec.UNSET
    due_date: date | msgspec.UnsetType | None = msgspec.UNSET
    tenant_id: TenantIdIgnored = msgspec.UNSET

    def __post_init__(self) -> None:
        if (self.linked_type is msgspec.UNSET) != (self.linked_id is msgspec.UNSET):
            raise ValueError("linked_type and linked_id go together")
        _check_link(self.linked_type, self.linked_id)


class CarePlanCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new plan starts as ``draft``; goals and activities may come with it (one version)."""

    title: Title
    description: LongText | None = None
    period_start: date
    period_end: date | None = None
    goals: Annotated[list[GoalCreate], msgspec.Meta(max_length=50)] = []
    activities: Annotated[list[ActivityCreate], msgspec.Meta(max_length=100)] = []
    tenant_id: TenantIdIgnored = msgspec.UNSET

    def __post_init__(self) -> None:
        if self.period_end is not None and self.period_end < self.period_start:
            raise ValueError("period_end must not be before period_start")


class CarePlanUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Partial update of the plan's own fields; status changes go through ``/transition``."""

    title: Title | msgspec.UnsetType = msgspec.UNSET
    description: LongText | msgspec.UnsetType | None = msgspec.UNSET
    period_start: date | msgspec.UnsetType = msgspec.UNSET
    period_end: date | msgspec.UnsetType | None = msgspec.UNSET
    tenant_id: TenantIdIgnored = msgspec.UNSET


class Transition(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    status: PlanStatus
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    """Why, kept in the version history's change summary."""


class MeasurementCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    value: Quantity
    measured_at: datetime
    note: Note | None = None
    tenant_id: TenantIdIgnored = msgspec.UNSET

    def __post_init__(self) -> None:
        _check_aware("measured_at", self.measured_at)


class Measurement(msgspec.Struct, kw_only=True):
    id: UUID
    goal_id: UUID
    value: float
    measured_at: datetime
    note: str | None
    recorded_by: UUID
    created_at: datetime


class GoalProgress(msgspec.Struct, kw_only=True):
    """How far the measurements have come from the first (baseline) toward the target value."""

    baseline_value: float
    latest_value: float
    target_value: float
    percent: float
    """0..100: the share of the way from baseline to target covered by the latest value."""
    target_met: bool


class Goal(msgspec.Struct, kw_only=True):
    id: UUID
    care_plan_id: UUID
    description: str
    target: str | None
    target_value: float | None
    unit: str | None
    due_date: date | None
    status: str
    achievement: str | None
    measurement_count: int
    latest_measurement: Measurement | None
    progress: GoalProgress | None
    """Null until the goal has a target_value and at least one measurement."""
    created_at: datetime
    updated_at: datetime


class Activity(msgspec.Struct, kw_only=True):
    id: UUID
    care_plan_id: UUID
    kind: str
    description: str
    status: str
    linked_type: str | None
    linked_id: UUID | None
    due_date: date | None
    created_at: datetime
    updated_at: datetime


class CarePlan(msgspec.Struct, kw_only=True):
    id: UUID
    patient_id: UUID
    title: str
    description: str | None
    status: str
    period_start: date
    period_end: date | None
    version: int
    created_by: UUID
    created_at: datetime
    updated_at: datetime


class CarePlanDetail(CarePlan, kw_only=True):
    """A plan with its goals (each with its latest measurement and progress) and activities."""

    goals: list[Goal]
    activities: list[Activity]


class VersionSummary(msgspec.Struct, kw_only=True):
    version: int
    changed_by: UUID
    changed_at: datetime
    change_summary: str


class Version(VersionSummary, kw_only=True):
    snapshot: dict[str, Any]
    """The whole plan, as ``GET /api/v1/care-plans/{plan_id}`` answered right after this change."""
