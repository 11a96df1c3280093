"""Reading and logging prior-authorization rows: columns, row -> struct, the transition log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from core.plugins.sdk import PluginContext
from plugins.insurance.authorizations import states
from plugins.insurance.authorizations.schemas import Authorization, Line
from plugins.insurance.settings import InsuranceSettings

COLUMNS = (
    "id, patient_id, coverage_id, referral_id, appointment_id, urgency, service_type, diagnosis_codes, status, "
    "status_reason, decision, authorization_number, valid_from, valid_to, submission_round, trace_number, "
    "payer_reference, submitted_at, decision_due_at, decided_at, last_error, notes, coordinator_id, created_by, "
    "created_at, updated_at"
)
LINE_COLUMNS = (
    "authorization_id, line_number, code, code_system, modifiers, units, service_from, service_to, decision, "
    "action_code, approved_units, authorization_number, valid_from, valid_to, reason_codes"
)
TRANSITION_COLUMNS = "id, from_status, to_status, reason, actor_type, actor_id, occurred_at"
EXCHANGE_COLUMNS = (
    "id, submission_round, trace_number, outcome, action_code, error, rejections, raw_request, raw_response, "
    "occurred_at"
)


def settings_of(ctx: PluginContext) -> InsuranceSettings:
    settings = ctx.settings
    return settings if isinstance(settings, InsuranceSettings) else InsuranceSettings()


async def tenant_zone(ctx: PluginContext) -> ZoneInfo:
    name = await ctx.tx.fetchval("select time_zone from tenants where id = $1", ctx.tenant_id)
    try:
        return ZoneInfo(str(name or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def actor_id(ctx: PluginContext) -> UUID | None:
    return None if ctx.principal.kind == "system" else ctx.principal.actor_id


def to_line(row: Any) -> Line:
    return Line(
        line=row["line_number"],
        code=row["code"],
        code_system=row["code_system"],
        modifiers=list(row["modifiers"] or []),
        units=row["units"],
        service_from=row["service_from"],
        service_to=row["service_to"],
        decision=row["decision"],
        action_code=row["action_code"],
        approved_units=row["approved_units"],
        authorization_number=row["authorization_number"],
        valid_from=row["valid_from"],
        valid_to=row["valid_to"],
        reason_codes=list(row["reason_codes"] or []),
    )


def to_authorization(row: Any, lines: Sequence[Any], now: datetime | None = None) -> Authorization:
    data = dict(row)
    data["diagnosis_codes"] = list(data["diagnosis_codes"] or [])
    now = now or datetime.now(UTC)
    due = data["decision_due_at"]
    data["overdue"] = data["status"] in states.RUNNING and due is not None and due <= now
    data["approved"] = states.is_approved(data["status"], data["decision"])
    data["lines"] = [to_line(line) for line in lines]
    return msgspec.convert(data, Authorization, strict=False)


async def lines_of(ctx: PluginContext, authorization_ids: Sequence[UUID]) -> dict[UUID, list[Any]]:
    """Each authorization's line rows, in line order, in one query."""
    rows = await ctx.tx.fetch(
        f"select {LINE_COLUMNS} from prior_authorization_lines where authorization_id = any($1::uuid[]) "
        "order by authorization_id, line_number",
        list(authorization_ids),
    )
    found: dict[UUID, list[Any]] = {i: [] for i in authorization_ids}
    for row in rows:
        found[row["authorization_id"]].append(row)
    return found


async def fetch(ctx: PluginContext, authorization_id: UUID, *, lock: bool = False) -> Any:
    suffix = " for update" if lock else ""
    return await ctx.tx.fetchrow(f"select {COLUMNS} from prior_authorizations where id = $1{suffix}", authorization_id)


async def load(ctx: PluginContext, authorization_id: UUID) -> Authorization | None:
    """The authorization with its lines as stored now (not audited: callers audit what they did)."""
    row = await fetch(ctx, authorization_id)
    if row is None:
        return None
    return to_authorization(row, (await lines_of(ctx, [authorization_id]))[authorization_id])


async def log_transition(
    ctx: PluginContext, authorization_id: UUID, previous: str | None, status: str, reason: str | None
) -> None:
    await ctx.tx.execute(
        "insert into prior_authorization_transitions (tenant_id, authorization_id, from_status, to_status, reason, "
        "actor_type, actor_id) values ($1, $2, $3, $4, $5, $6, $7)",
        ctx.tenant_id,
        authorization_id,
        previous,
        status,
        None if reason is None else reason[:500],
        ctx.principal.kind,
        actor_id(ctx),
    )
