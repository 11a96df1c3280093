"""Reading eligibility checks and asking for new ones from the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from core.plugins.sdk import PluginContext
from plugins.insurance.coverage.service import settings_of
from plugins.insurance.eligibility.requests import request_check
from plugins.insurance.eligibility.schemas import EligibilityCheck, RawExchange

COLUMNS = (
    "e.id, e.coverage_id, e.patient_id, e.status, e.reason, e.appointment_id, e.as_of, e.trace_number, "
    "e.requested_at, e.checked_at, e.payer_name, e.plan_name, e.plan_number, e.group_number, e.coverage_begin, "
    "e.coverage_end, e.copay, e.coinsurance_percent, e.deductible, e.deductible_remaining, e.out_of_pocket, "
    "e.out_of_pocket_remaining, e.benefits, e.rejections, e.error, c.updated_at as coverage_updated_at"
)
FROM = "eligibility_checks e join coverages c on c.id = e.coverage_id"


class CoverageRetiredError(Exception):
    pass


def _json(value: Any) -> list[dict[str, Any]]:
    decoded = msgspec.json.decode(value) if isinstance(value, str | bytes) else value
    return list(decoded or [])


def to_check(row: Any, fresh_days: int) -> EligibilityCheck:
    data = dict(row)
    coverage_updated_at = data.pop("coverage_updated_at")
    checked_at = data["checked_at"]
    data["stale"] = (
        data["status"] in ("queued", "failed")
        or checked_at is None
        or checked_at < datetime.now(UTC) - timedelta(days=fresh_days)
        or checked_at < coverage_updated_at
    )
    data["benefits"], data["rejections"] = _json(data["benefits"]), _json(data["rejections"])
    return msgspec.convert(data, EligibilityCheck)


async def ask(ctx: PluginContext, coverage_id: UUID, as_of: Any) -> EligibilityCheck | None:
    coverage = await ctx.tx.fetchrow(
        "select patient_id, effective_from, retired_at from coverages where id = $1 for update", coverage_id
    )
    if coverage is None:
        return None
    if coverage["retired_at"] is not None:
        raise CoverageRetiredError(str(coverage_id))
    day = as_of or max(datetime.now(UTC).date(), coverage["effective_from"])
    row = await request_check(ctx, coverage_id, coverage["patient_id"], "manual", as_of=day)
    return await _one(ctx, row["id"], audit=False)


async def _one(ctx: PluginContext, check_id: UUID, *, audit: bool = True) -> EligibilityCheck | None:
    row = await ctx.tx.fetchrow(f"select {COLUMNS} from {FROM} where e.id = $1", check_id)
    if row is None:
        return None
    if audit:
        details = {"patient_id": str(row["patient_id"]), "coverage_id": str(row["coverage_id"])}
        await ctx.audit("insurance.eligibility_read", "eligibility_check", check_id, details)
    return to_check(row, settings_of(ctx).eligibility_fresh_days)


async def get_check(ctx: PluginContext, check_id: UUID) -> EligibilityCheck | None:
    return await _one(ctx, check_id)


async def list_checks(ctx: PluginContext, coverage_id: UUID, limit: int) -> list[EligibilityCheck] | None:
    patient_id = await ctx.tx.fetchval("select patient_id from coverages where id = $1", coverage_id)
    if patient_id is None:
        return None
    rows = await ctx.tx.fetch(
        f"select {COLUMNS} from {FROM} where e.coverage_id = $1 order by e.requested_at desc, e.id limit $2",
        coverage_id,
        limit,
    )
    details = {"patient_id": str(patient_id), "ids": [str(r["id"]) for r in rows]}
    await ctx.audit("insurance.eligibility_list", "coverage", coverage_id, details)
    fresh = settings_of(ctx).eligibility_fresh_days
    return [to_check(r, fresh) for r in rows]


async def raw_exchange(ctx: PluginContext, check_id: UUID) -> RawExchange | None:
    row = await ctx.tx.fetchrow(
        "select patient_id, raw_request, raw_response from eligibility_checks where id = $1", check_id
    )
    if row is None:
        return None
    await ctx.audit("insurance.eligibility_raw", "eligibility_check", check_id, {"patient_id": str(row["patient_id"])})
    return RawExchange(request=row["raw_request"], response=row["raw_response"])
