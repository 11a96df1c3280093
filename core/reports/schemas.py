"""Wire formats of the reports API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from core.reports.render import Format

RunStatus = Literal["queued", "running", "done", "failed", "expired"]
MAX_RECIPIENTS = 50


class RunCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    format: Format = "csv"
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    """Checked against the report's ``parameters`` schema (see ``GET /api/v1/reports``)."""
    email_to: Annotated[list[UUID], msgspec.Meta(max_length=MAX_RECIPIENTS)] | Literal["me"] | None = None
    """Users to e-mail the file to once built (``"me"``: the caller). Each must be an active user of the
    organization allowed to read the report."""


class ChartInfo(msgspec.Struct, kw_only=True):
    kind: str
    x: str
    y: list[str]
    title: str


class ReportInfo(msgspec.Struct, kw_only=True):
    name: str
    title: str
    description: str
    module: str
    formats: list[Format]
    parameters: dict[str, Any]
    """JSON Schema of ``params``."""
    chart: ChartInfo | None


class ReportRun(msgspec.Struct, kw_only=True):
    id: UUID
    report: str
    format: Format
    params: dict[str, Any]
    status: RunStatus
    """``expired`` as soon as ``expires_at`` has passed, even before the file is purged."""
    progress: int
    """0-100, updated while the worker builds the file."""
    rows: int | None
    file_size: int | None
    content_type: str | None
    requested_by: UUID | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None
    error: str | None
    file_url: str | None
    """Where to download the file while the run is ``done``."""
    email_to: list[UUID] = []
    """Users e-mailed the file once it is built."""


class ReportRunPage(msgspec.Struct, kw_only=True):
    items: list[ReportRun]
    next_cursor: str | None
