"""Claim and appeal figures of a period, from the transition logs (never from "last modified").

A claim counts as adjudicated in the period of its first adjudication (``paid`` or ``denied``), so
a month's denial rate does not change when an old claim is reprocessed after an appeal. The
``*_pct`` functions have the ``compute(ctx, start, end)`` shape of a :class:`MetricSpec`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from core.plugins.sdk import PluginContext
from plugins.insurance.claims.schemas import AppealCounts, ClaimSummary
from plugins.insurance.claims.states import STATUSES
from plugins.insurance.claims.tenant_time import period_bounds, tenant_zone

FIRST_ADJUDICATIONS = (
    "select distinct on (t.claim_id) t.claim_id, t.to_status, t.occurred_at from claim_transitions t "
    "where t.to_status in ('paid', 'denied') order by t.claim_id, t.occurred_at, t.id"
)


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


async def _adjudications(ctx: PluginContext, start: datetime, end: datetime) -> Any:
    return await ctx.tx.fetchrow(
        "select count(*) as adjudicated, count(*) filter (where f.to_status = 'denied') as denied, "
        "coalesce(sum(c.billed_amount), 0) as billed, coalesce(sum(c.paid_amount), 0) as paid "
        f"from ({FIRST_ADJUDICATIONS}) f join claims c on c.id = f.claim_id "
        "where f.occurred_at >= $1 and f.occurred_at < $2",
        start,
        end,
    )


async def _appeal_decisions(ctx: PluginContext, start: datetime, end: datetime) -> AppealCounts:
    row = await ctx.tx.fetchrow(
        "select count(*) as decided, count(*) filter (where outcome = 'overturned') as overturned, "
        "count(*) filter (where outcome = 'partially_overturned') as partially_overturned, "
        "count(*) filter (where outcome = 'upheld') as upheld, coalesce(sum(amount_recovered), 0) as recovered "
        "from appeals where status = 'decided' and decided_at >= $1 and decided_at < $2",
        start,
        end,
    )
    return AppealCounts(
        decided=row["decided"],
        overturned=row["overturned"],
        partially_overturned=row["partially_overturned"],
        upheld=row["upheld"],
        overturn_rate=_rate(row["overturned"] + row["partially_overturned"], row["decided"]),
        amount_recovered=Decimal(row["recovered"]),
    )


async def claim_summary(ctx: PluginContext, first: date, last: date) -> ClaimSummary:
    """The figures of the days ``first`` to ``last`` (both included) in the organization's time zone."""
    start, end = period_bounds(await tenant_zone(ctx), first, last)
    rows = await ctx.tx.fetch(
        "select status, count(*) as n from claims where submitted_at >= $1 and submitted_at < $2 group by status",
        start,
        end,
    )
    by_status = dict.fromkeys(STATUSES, 0) | {r["status"]: r["n"] for r in rows}
    adjudications = await _adjudications(ctx, start, end)
    summary = ClaimSummary(
        from_date=first,
        to_date=last,
        submitted=sum(by_status.values()),
        by_status=by_status,
        adjudicated=adjudications["adjudicated"],
        denied=adjudications["denied"],
        denial_rate=_rate(adjudications["denied"], adjudications["adjudicated"]),
        billed_amount=Decimal(adjudications["billed"]),
        paid_amount=Decimal(adjudications["paid"]),
        appeals=await _appeal_decisions(ctx, start, end),
    )
    details = {"from": first.isoformat(), "to": last.isoformat()}
    await ctx.audit("insurance.claim_summary", "claim", None, details)
    return summary


async def denial_rate_pct(ctx: PluginContext, start: datetime, end: datetime) -> float | None:
    """Initial denial rate: % of the claims first adjudicated in ``[start, end)`` that were denied."""
    row = await _adjudications(ctx, start, end)
    rate = _rate(row["denied"], row["adjudicated"])
    return None if rate is None else 100.0 * rate


async def appeal_overturn_rate_pct(ctx: PluginContext, start: datetime, end: datetime) -> float | None:
    """% of the appeals decided in ``[start, end)`` that were overturned, fully or partly."""
    rate = (await _appeal_decisions(ctx, start, end)).overturn_rate
    return None if rate is None else 100.0 * rate
