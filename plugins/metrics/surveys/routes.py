"""Staff API of the surveys: ``/api/v1/metrics/surveys`` (mounted by the metrics module, ``metrics:read``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import get
from litestar.params import Parameter

from core.db.cursors import BadCursorError, decode_cursor, encode_cursor
from core.plugins.sdk import PluginContext, problem, requires_permission
from plugins.metrics.surveys.service import COLUMNS

READ = "metrics:read"
NOT_FOUND = "No such survey"
SurveyStatus = Literal["scheduled", "sent", "failed", "unsent", "answered"]
EventType = Literal["appointment", "referral"]


class Survey(msgspec.Struct, kw_only=True):
    id: UUID
    event_type: str
    """``appointment`` (fulfilled) or ``referral`` (closed)."""
    event_id: UUID
    event_at: datetime
    patient_id: UUID
    coordinator_id: UUID | None
    provider_id: UUID | None
    """The practitioner of the appointment, or the referral's target."""
    status: str
    """``scheduled`` (requested, maybe not sent yet), ``sent``, ``answered``, ``failed`` (no channel got
    through), ``unsent`` (not asked: surveyed recently, or no channel the patient can receive; see ``reason``)."""
    expired: bool
    reason: str | None
    channel: str | None
    channels_tried: list[str]
    notification_id: UUID | None
    send_at: datetime | None
    sent_at: datetime | None
    expires_at: datetime | None
    answered_at: datetime | None
    score: int | None
    """Overall satisfaction, 1-5."""
    clarity: int | None
    """Communication clarity, 1-5."""
    comment: str | None
    created_at: datetime


class SurveyPage(msgspec.Struct, kw_only=True):
    items: list[Survey]
    next_cursor: str | None


def _survey(row: Any, now: datetime) -> Survey:
    data = dict(row)
    data.pop("updated_at", None)
    data["channels_tried"] = list(data["channels_tried"] or [])
    expires_at = data["expires_at"]
    data["expired"] = data["answered_at"] is None and expires_at is not None and expires_at <= now
    return Survey(**data)


@get(
    "/surveys",
    guards=[requires_permission(READ)],
    summary="Patient satisfaction surveys, newest first (filters: status, event_type, patient, coordinator, provider)",
)
async def list_surveys(
    plugin: PluginContext,
    status: SurveyStatus | None = None,
    event_type: EventType | None = None,
    patient_id: UUID | None = None,
    coordinator_id: UUID | None = None,
    provider_id: UUID | None = None,
    answered: bool | None = None,
    limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Parameter(max_length=200)] = None,
) -> SurveyPage:
    try:
        after = decode_cursor(cursor) if cursor else None
    except BadCursorError:
        raise problem(400, "The cursor is not valid", errors=[{"field": "cursor"}]) from None
    rows = await plugin.tx.fetch(
        f"""select {COLUMNS} from metric_surveys
            where ($1::text is null or status = $1) and ($2::text is null or event_type = $2)
              and ($3::uuid is null or patient_id = $3) and ($4::uuid is null or coordinator_id = $4)
              and ($5::uuid is null or provider_id = $5)
              and ($6::boolean is null or (answered_at is not null) = $6)
              and ($7::timestamptz is null or (created_at, id) < ($7, $8::uuid))
            order by created_at desc, id desc limit $9""",
        status,
        event_type,
        patient_id,
        coordinator_id,
        provider_id,
        answered,
        after[0] if after else None,
        after[1] if after else None,
        limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    await plugin.audit(
        "metrics.survey_list",
        "patient" if patient_id else "metric_survey",
        patient_id,
        {"count": len(rows), "patients": sorted({str(r["patient_id"]) for r in rows})[:200]},
    )
    now = datetime.now(UTC)
    next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more and rows else None
    return SurveyPage(items=[_survey(r, now) for r in rows], next_cursor=next_cursor)


@get("/surveys/{survey_id:uuid}", guards=[requires_permission(READ)], summary="One satisfaction survey")
async def read_survey(plugin: PluginContext, survey_id: UUID) -> Survey:
    row = await plugin.tx.fetchrow(f"select {COLUMNS} from metric_surveys where id = $1", survey_id)
    if row is None:
        raise problem(404, NOT_FOUND)
    await plugin.audit("metrics.survey_read", "metric_survey", survey_id, {"patient_id": str(row["patient_id"])})
    return _survey(row, datetime.now(UTC))


SURVEY_ROUTES = [list_surveys, read_survey]
