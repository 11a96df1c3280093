"""Referral figures for dashboards, computed from the transition log (never from "last modified").

A referral counts in the period in which its clock stopped at ``scheduled`` (event time), so a
month's figure does not change when an old referral is edited later.
"""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from core.plugins.sdk import MetricSpec, PluginContext
from plugins.referrals.clock import clock_from_log, settings_of, tenant_calendar, transition_logs
from plugins.referrals.service import COLUMNS, to_referral

HOURS_72 = timedelta(hours=72)


async def _scheduled_in(ctx: PluginContext, start: datetime, end: datetime) -> list[Any]:
    """Referrals first scheduled in ``[start, end)``, with their send and schedule times."""
    return list(
        await ctx.tx.fetch(
            "select s.referral_id, min(s.occurred_at) as scheduled_at, "
            "(select min(t.occurred_at) from referral_transitions t where t.referral_id = s.referral_id "
            "and t.to_status = 'sent') as sent_at "
            "from referral_transitions s where s.to_status = 'scheduled' group by s.referral_id "
            "having min(s.occurred_at) >= $1 and min(s.occurred_at) < $2",
            start,
            end,
        )
    )


async def scheduled_within_72h_pct(ctx: PluginContext, start: datetime, end: datetime) -> float | None:
    """Share of referrals scheduled in the period whose sent-to-scheduled took under 72 elapsed hours."""
    rows = [r for r in await _scheduled_in(ctx, start, end) if r["sent_at"] is not None]
    if not rows:
        return None
    within = sum(1 for r in rows if r["scheduled_at"] - r["sent_at"] < HOURS_72)
    return 100.0 * within / len(rows)


async def median_hours_to_schedule(ctx: PluginContext, start: datetime, end: datetime) -> float | None:
    rows = [r for r in await _scheduled_in(ctx, start, end) if r["sent_at"] is not None]
    if not rows:
        return None
    hours: list[float] = [(r["scheduled_at"] - r["sent_at"]).total_seconds() / 3600 for r in rows]
    return float(statistics.median(hours))


async def scheduled_within_target_pct(ctx: PluginContext, start: datetime, end: datetime) -> float | None:
    """Share of referrals scheduled in the period whose SLA clock (business time, pauses) was met."""
    ids = [r["referral_id"] for r in await _scheduled_in(ctx, start, end)]
    if not ids:
        return None
    rows = await ctx.tx.fetch(f"select {COLUMNS} from referrals where id = any($1::uuid[])", ids)
    settings, calendar = settings_of(ctx), await tenant_calendar(ctx)
    logs = await transition_logs(ctx, ids)
    states = []
    for row in rows:
        referral = to_referral(row)
        clock = clock_from_log(referral, logs[referral.id], settings, calendar)
        if clock is not None and clock.stopped_at is not None:
            states.append(clock.state(clock.stopped_at))
    if not states:
        return None
    return 100.0 * states.count("met") / len(states)


async def open_loops(ctx: PluginContext, start: datetime, end: datetime) -> float | None:
    """Referrals seen before ``end`` minus the open-loop allowance, still without a consult report at ``end``."""
    cutoff = end - timedelta(days=settings_of(ctx).open_loop_days)
    count = await ctx.tx.fetchval(
        "select count(*) from referrals r where exists (select 1 from referral_transitions t where "
        "t.referral_id = r.id and t.to_status = 'seen' and t.occurred_at < $1) and not exists "
        "(select 1 from referral_transitions t where t.referral_id = r.id and t.to_status = 'closed' "
        "and t.occurred_at < $2)",
        cutoff,
        end,
    )
    return float(count)


async def stage_hours(ctx: PluginContext, start: datetime, end: datetime) -> dict[str, dict[str, float]]:
    """Per status: how many referrals left it in the period and the median hours they spent in it.

    Each stay is the time from entering a status to the next transition, from the log alone.
    """
    rows = await ctx.tx.fetch(
        "select to_status, occurred_at, lead(occurred_at) over (partition by referral_id order by occurred_at, id) "
        "as left_at from referral_transitions"
    )
    stays: dict[str, list[float]] = {}
    for row in rows:
        left = row["left_at"]
        if left is not None and start <= left < end:
            stays.setdefault(row["to_status"], []).append((left - row["occurred_at"]).total_seconds() / 3600)
    return {status: {"count": len(v), "median_hours": statistics.median(v)} for status, v in stays.items()}


STAGES = ("sent", "received", "accepted", "scheduled", "seen", "on_hold")


def stage_metric(stage: str) -> Callable[[PluginContext, datetime, datetime], Awaitable[float | None]]:
    async def compute(ctx: PluginContext, start: datetime, end: datetime) -> float | None:
        found = (await stage_hours(ctx, start, end)).get(stage)
        return None if found is None else found["median_hours"]

    return compute


METRICS = [
    MetricSpec(
        "referrals_scheduled_within_72h_pct",
        "Referrals scheduled within 72 hours of being sent (elapsed time)",
        "%",
        scheduled_within_72h_pct,
    ),
    MetricSpec(
        "referrals_scheduled_within_target_pct",
        "Referrals scheduled within their SLA target (business time of the organization's calendar)",
        "%",
        scheduled_within_target_pct,
    ),
    MetricSpec(
        "referral_median_hours_to_schedule", "Median hours from sent to scheduled", "h", median_hours_to_schedule
    ),
    MetricSpec(
        "referral_open_loops", "Referrals seen without a consult report past the allowance", "count", open_loops
    ),
]
METRICS += [
    MetricSpec(
        f"referral_median_hours_{stage}",
        f"Median hours referrals spent {stage.replace('_', ' ')} before moving on (left the stage in the period)",
        "h",
        stage_metric(stage),
    )
    for stage in STAGES
]
