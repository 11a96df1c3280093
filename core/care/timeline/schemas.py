"""Wire formats of chart entries and the merged timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

EntryKind = Literal["note", "consult", "hospitalization", "er_visit", "phone_call", "other"]


def check_aware(value: datetime | msgspec.UnsetType | None, name: str) -> None:
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError(f"{name} needs a time zone offset")


class ChartEntryCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kind: EntryKind
    occurred_at: datetime
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    body: Annotated[str, msgspec.Meta(max_length=10000)] | None = None
    source: Annotated[str, msgspec.Meta(max_length=200)] | None = None

    def __post_init__(self) -> None:
        check_aware(self.occurred_at, "occurred_at")


class ChartEntryUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Correct an entry; ``entered_in_error: true`` strikes it from the timeline (it stays on record)."""

    occurred_at: datetime | msgspec.UnsetType = msgspec.UNSET
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | msgspec.UnsetType = msgspec.UNSET
    body: Annotated[str, msgspec.Meta(max_length=10000)] | msgspec.UnsetType | None = msgspec.UNSET
    source: Annotated[str, msgspec.Meta(max_length=200)] | msgspec.UnsetType | None = msgspec.UNSET
    entered_in_error: bool | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        check_aware(self.occurred_at, "occurred_at")


class ChartEntryOut(msgspec.Struct, kw_only=True):
    id: UUID
    patient_id: UUID
    kind: str
    occurred_at: datetime
    title: str
    body: str | None
    source: str | None
    author_id: UUID | None
    entered_in_error: bool
    created_at: datetime
    updated_at: datetime


class TimelineItem(msgspec.Struct, kw_only=True, frozen=True):
    """One event on a patient's timeline, from core or from a plugin (``module``)."""

    occurred_at: datetime
    kind: str
    title: str
    summary: str | None = None
    module: str = "core"
    resource_type: str | None = None
    resource_id: UUID | None = None


class TimelinePage(msgspec.Struct, kw_only=True):
    items: list[TimelineItem]
    """Newest first."""
