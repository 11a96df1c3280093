"""The dashboard: per metric the current period live, the seven before it from a one-hour cache.

Facts are dated by event time, so a period that has ended barely changes; recomputing eight periods
of twenty metrics on every visit is what made a large tenant's dashboard slow. A closed period's
figure is kept in ``metric_dashboard_cache`` for :data:`CACHE_TTL` (late corrections show within
that time); the current period is always computed. ``refresh`` ignores the cache, and the
``metrics.warm_dashboard`` job refills it every 30 minutes, so visitors rarely wait for a cold one.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from core.metrics.periods import Period, buckets, floor, local_date
from core.metrics.spec import MetricSpec
from core.plugins.sdk import JobContext, PeriodicJob, PluginContext, actor
from plugins.metrics.catalogue import available, target_of
from plugins.metrics.engine import Point, compute, status_of

CACHE_TTL = timedelta(hours=1)
TREND = 8
"""Periods on a card: the current one and the seven before it."""


def window(now: datetime, period: Period, time_zone: str) -> tuple[date, date]:
    """First and last local dates of the eight periods ending with the one containing ``now``."""
    last = local_date(now, time_zone)
    first = floor(last, period)
    for _ in range(TREND - 1):
        first = floor(first - timedelta(days=1), period)
    return first, last


async def trend(
    plugin: PluginContext,
    spec: MetricSpec,
    *,
    period: Period,
    time_zone: str,
    now: datetime,
    refresh: bool = False,
) -> list[Point]:
    """The metric's eight points, oldest first: cached closed periods, the rest computed (and cached)."""
    first, last = window(now, period, time_zone)
    periods = buckets(first, last, period, time_zone)
    closed = [b.label for b in periods if b.end <= now]
    cached = {} if refresh else await _cached(plugin, spec.name, period, time_zone, closed, now)
    missing = [label for label in closed if label not in cached]
    start = missing[0] if missing else periods[-1].label
    result = await compute(plugin, spec, first=start, last=last, period=period, time_zone=time_zone, now=now)
    fresh = {p.period: p for p in result.series[0].points}
    await _store(plugin, spec.name, period, time_zone, [fresh[label] for label in closed if label in fresh], now)
    return [cached[b.label] if b.label in cached else fresh[b.label] for b in periods]


async def _cached(
    plugin: PluginContext, metric: str, period: str, time_zone: str, labels: list[date], now: datetime
) -> dict[date, Point]:
    rows = await plugin.tx.fetch(
        "select period_start, value, facts from metric_dashboard_cache where metric = $1 and period = $2 "
        "and time_zone = $3 and period_start = any($4::date[]) and computed_at > $5",
        metric,
        period,
        time_zone,
        labels,
        now - CACHE_TTL,
    )
    return {r["period_start"]: Point(r["period_start"], r["value"], r["facts"]) for r in rows}


async def _store(
    plugin: PluginContext, metric: str, period: str, time_zone: str, points: list[Point], now: datetime
) -> None:
    if not points:
        return
    await plugin.tx.execute(
        "insert into metric_dashboard_cache (tenant_id, metric, period, time_zone, period_start, value, facts, "
        "computed_at) select $1, $2, $3, $4, p.start, p.value, p.facts, $8 "
        "from unnest($5::date[], $6::float8[], $7::int[]) as p(start, value, facts) "
        "on conflict (tenant_id, metric, period, time_zone, period_start) do update "
        "set value = excluded.value, facts = excluded.facts, computed_at = excluded.computed_at",
        plugin.tenant_id,
        metric,
        period,
        time_zone,
        [p.period for p in points],
        [p.value for p in points],
        [p.count for p in points],
        now,
    )


def describe(spec: MetricSpec, plugin: PluginContext) -> dict[str, Any]:
    """A metric as the catalogue lists it."""
    return {
        "name": spec.name,
        "description": spec.description,
        "unit": spec.unit,
        "category": spec.category,
        "module": spec.module,
        "aggregate": spec.aggregate,
        "dimensions": list(spec.dimensions),
        "target": target_of(spec, plugin.settings),
        "better": spec.better,
        "dashboard": spec.dashboard,
    }


async def card(
    plugin: PluginContext, spec: MetricSpec, period: Period, time_zone: str, now: datetime, refresh: bool
) -> dict[str, Any]:
    """One metric on the dashboard: current and previous period, status against the target, the trend."""
    points = await trend(plugin, spec, period=period, time_zone=time_zone, now=now, refresh=refresh)
    target = target_of(spec, plugin.settings)
    current, previous = points[-1], points[-2]

    def encode(p: Point) -> dict[str, Any]:
        return {"period": p.period, "value": p.value, "count": p.count}

    return {
        **describe(spec, plugin),
        "current": encode(current),
        "previous": encode(previous),
        "status": status_of(current.value, target, spec.better),
        "trend": [encode(p) for p in points],
    }


async def warm_dashboard(ctx: JobContext) -> None:
    """Refill the cache of the organization's week and month dashboards (every 30 minutes)."""
    from datetime import UTC

    now = datetime.now(UTC)
    time_zone = str(await ctx.tx.fetchval("select time_zone from tenants where id = $1", ctx.tenant_id))
    for spec in await available(ctx):
        if spec.dashboard:
            for period in ("week", "month"):
                await trend(ctx, spec, period=period, time_zone=time_zone, now=now, refresh=True)
    await ctx.tx.execute("delete from metric_dashboard_cache where computed_at < $1", now - 2 * CACHE_TTL)


DASHBOARD_ACTORS = [actor(name="warm_dashboard", queue="reports", max_retries=1)(warm_dashboard)]
DASHBOARD_JOBS = [PeriodicJob("warm_dashboard", "*/30 * * * *", "metrics.warm_dashboard")]
