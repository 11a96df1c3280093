"""Wire formats of tasks (FHIR Task), their history, the worklist and resource requests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from core.care.tasks.states import TaskStatus
from core.patients.schemas import TenantIdIgnored

Priority = Literal["routine", "urgent", "asap", "stat"]
PoolRole = Literal["admin", "coordinator", "clinician"]
FocusType = Literal["patient", "referral", "appointment", "authorization", "resource_request", "care_plan", "other"]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Description = Annotated[str, msgspec.Meta(max_length=4000)]
BusinessStatus = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Reason = Annotated[str, msgspec.Meta(max_length=500)]


def check_aware(**values: datetime | msgspec.UnsetType | None) -> None:
    """Times that matter need an offset: a naive one could be read in any zone."""
    for name, value in values.items():
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError(f"{name} needs a time zone offset")


class TaskCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new task. With ``focus_type`` ``patient`` the focus is the patient (``focus_id`` defaults to it)."""

    title: Title
    description: Description | None = None
    status: TaskStatus = "requested"
    business_status: BusinessStatus | None = None
    status_reason: Reason | None = None
    priority: Priority = "routine"
    due_at: datetime | None = None
    sla_due_at: datetime | None = None
    owner_user_id: UUID | None = None
    owner_role: PoolRole | None = None
    """A pool: anyone with this role may pick the task up."""
    focus_type: FocusType = "other"
    focus_id: UUID | None = None
    patient_id: UUID | None = None
    tenant_id: TenantIdIgnored = msgspec.UNSET

    def __post_init__(self) -> None:
        check_aware(due_at=self.due_at, sla_due_at=self.sla_due_at)
        if self.focus_type == "patient":
            if self.patient_id is None:
                raise ValueError("focus_type patient needs patient_id")
            if self.focus_id is not None and self.focus_id != self.patient_id:
                raise ValueError("with focus_type patient, focus_id is the patient_id")


class TaskUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Partial update: absent fields stay; ``null`` clears. Status changes go through ``/transition``."""

    title: Title | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType | None = msgspec.UNSET
    business_status: BusinessStatus | msgspec.UnsetType | None = msgspec.UNSET
    status_reason: Reason | msgspec.UnsetType | None = msgspec.UNSET
    priority: Priority | msgspec.UnsetType = msgspec.UNSET
    due_at: datetime | msgspec.UnsetType | None = msgspec.UNSET
    sla_due_at: datetime | msgspec.UnsetType | None = msgspec.UNSET
    owner_user_id: UUID | msgspec.UnsetType | None = msgspec.UNSET
    owner_role: PoolRole | msgspec.UnsetType | None = msgspec.UNSET
    tenant_id: TenantIdIgnored = msgspec.UNSET

    def __post_init__(self) -> None:
        check_aware(due_at=self.due_at, sla_due_at=self.sla_due_at)


class TaskTransition(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Move a task to ``status``; ``reason`` goes to the history and becomes ``status_reason``."""

    status: TaskStatus
    reason: Reason | None = None
    business_status: BusinessStatus | msgspec.UnsetType | None = msgspec.UNSET


class Task(msgspec.Struct, kw_only=True):
    id: UUID
    title: str
    description: str | None
    status: str
    business_status: str | None
    status_reason: str | None
    priority: str
    due_at: datetime | None
    sla_due_at: datetime | None
    owner_user_id: UUID | None
    owner_role: str | None
    focus_type: str
    focus_id: UUID | None
    patient_id: UUID | None
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    overdue: bool
    """Open and past ``due_at`` right now."""
    sla_overdue: bool
    """Open and past ``sla_due_at`` right now."""


class TaskHistoryEntry(msgspec.Struct, kw_only=True):
    id: UUID
    task_id: UUID
    from_status: str | None
    """Null on the entry that records the creation."""
    to_status: str
    reason: str | None
    changed_by: UUID | None
    changed_by_type: str
    changed_at: datetime


class Worklist(msgspec.Struct, kw_only=True):
    items: list[Task]
    time_zone: str
    """The zone "due today" was computed in."""
    today: date
    """Today's date in ``time_zone``."""


class ResourceRequestCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Ask for a community resource (interpreter, transport...) for a patient; tracked as a task."""

    resource_id: UUID
    note: Description | None = None
    due_at: datetime | None = None
    priority: Priority = "routine"
    owner_user_id: UUID | None = None
    owner_role: PoolRole | None = "coordinator"
    tenant_id: TenantIdIgnored = msgspec.UNSET

    def __post_init__(self) -> None:
        check_aware(due_at=self.due_at)
