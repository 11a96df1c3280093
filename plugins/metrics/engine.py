"""Computes a metric's series: facts bucketed into the tenant's local periods and grouped by a dimension.

One SQL statement a metric: the module's facts query is wrapped so PostgreSQL buckets
(``date_trunc`` in the tenant's zone), groups and aggregates, and only the figures travel back.
Python facts and the simple ``compute`` form are bucketed here with the same rules, so a metric
gives the same numbers whichever form its module chose.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from core.metrics.periods import Bucket, Period, buckets, floor, local_date
from core.metrics.spec import MetricFact, MetricSpec
from core.plugins.manager import get_host
from core.plugins.sdk import PluginContext
from core.plugins.tenant_modules import tenant_modules

_AGGREGATE_SQL = {
    "pct": "100.0 * avg(value)",
    "median": "percentile_cont(0.5) within group (order by value)",
    "mean": "avg(value)",
    "sum": "coalesce(sum(value), 0)",
    "count": "count(*)",
}
_DIMENSION_SQL = {
    None: "null::text",
    "coordinator": "f.coordinator_id::text",
    "provider": "f.provider_id::text",
    "team": "u.team_id::text",
}
_BUCKET_SQL = {
    "day": "(f.at at time zone $3)::date",
    "week": "date_trunc('week', f.at at time zone $3)::date",
    "month": "date_trunc('month', f.at at time zone $3)::date",
}
EMPTY_IS_ZERO = frozenset({"count", "sum", "open_at_end"})
DIGITS = 6
"""Values are rounded to this many decimals, so SQL and Python arithmetic agree."""
NO_VALUE = "(none)"
"""Label of the group of facts without a coordinator, team or provider."""


class DimensionError(ValueError):
    """The metric cannot be grouped by the requested dimension."""


@dataclass(frozen=True)
class Point:
    period: date | None
    value: float | None
    count: int


@dataclass(frozen=True)
class Series:
    dimension: str | None
    """The coordinator, team or provider id (text), None for the ungrouped series or "no value"."""
    label: str | None
    points: list[Point]
    total: Point


@dataclass(frozen=True)
class MetricResult:
    spec: MetricSpec
    target: float | None
    first: date
    last: date
    period: Period
    time_zone: str
    by: str | None
    total: Point
    series: list[Series] = field(default_factory=list)


def status_of(value: float | None, target: float | None, better: str) -> str | None:
    """``met`` or ``missed`` against the target, None without a value or a target."""
    if value is None or target is None:
        return None
    return "met" if (value >= target if better == "higher" else value <= target) else "missed"


async def compute(
    ctx: PluginContext,
    spec: MetricSpec,
    *,
    first: date,
    last: date,
    period: Period,
    time_zone: str,
    by: str | None = None,
    target: float | None = None,
    now: datetime | None = None,
) -> MetricResult:
    """The metric over local dates ``first``..``last`` (both included), one point a period."""
    if by is not None and by not in spec.dimensions:
        raise DimensionError(f"{spec.name} cannot be grouped by {by}")
    now = now or datetime.now(UTC)
    periods = buckets(first, last, period, time_zone)
    # JIT compilation costs 20-700 ms per statement once a window holds a few thousand facts, more than
    # the whole query: these statements are short and index-driven (SET LOCAL ends with the transaction).
    await ctx.tx.execute("set local jit = off")
    ctx = await _module_context(ctx, spec)
    if spec.compute is not None:
        rows = await _computed(ctx, spec, periods)
    elif isinstance(spec.facts, str):
        rows = await _sql(ctx, spec, spec.facts, periods, period, time_zone, by, now)
    else:
        rows = await _python(ctx, spec, periods, period, time_zone, by, now)
    return await _assemble(ctx, spec, rows, periods, first, last, period, time_zone, by, target, now)


async def _module_context(ctx: PluginContext, spec: MetricSpec) -> PluginContext:
    """The context of the module that declared ``spec``, with its settings, for its facts and compute."""
    if spec.module in ("", ctx.module):
        return ctx
    host = ctx.plugins or get_host()
    settings = (await tenant_modules(host, ctx.tx, ctx.tenant_id)).settings.get(spec.module)
    return PluginContext(
        module=spec.module,
        tx=ctx.tx,
        principal=ctx.principal,
        settings=settings,
        ip=ctx.ip,
        request_id=ctx.request_id,
        plugins=host,
    )


# Each way of computing yields rows (period label or None for the whole window, dimension, value, count).
Row = tuple[date | None, str | None, float | None, int]


async def _computed(ctx: PluginContext, spec: MetricSpec, periods: list[Bucket]) -> list[Row]:
    assert spec.compute is not None
    rows: list[Row] = []
    for bucket in periods:
        value = await spec.compute(ctx, bucket.start, bucket.end)
        rows.append((bucket.label, None, None if value is None else float(value), 0 if value is None else 1))
    value = await spec.compute(ctx, periods[0].start, periods[-1].end)
    rows.append((None, None, None if value is None else float(value), 0 if value is None else 1))
    return rows


async def _sql(
    ctx: PluginContext,
    spec: MetricSpec,
    facts: str,
    periods: list[Bucket],
    period: Period,
    time_zone: str,
    by: str | None,
    now: datetime,
) -> list[Row]:
    dimension = _DIMENSION_SQL[by]
    join_users = "left join users u on u.id = f.coordinator_id" if by == "team" else ""
    start, end = periods[0].start, periods[-1].end
    if spec.aggregate == "open_at_end":
        ends = [min(b.end, now) for b in periods]
        live = [(b.label, e) for b, e in zip(periods, ends, strict=True) if b.start <= now]
        if not live:
            return []
        statement = (
            f"with f as ({facts}), p as (select * from unnest($3::date[], $4::timestamptz[]) as p(label, at_end)) "
            f"select p.label, {dimension} as dim, count(*)::float8 as value, count(*) as n "
            f"from p join f on f.at < p.at_end and (f.until is null or f.until >= p.at_end) {join_users} "
            "group by p.label, dim"
        )
        found = await ctx.tx.fetch(statement, start, min(end, now), [x[0] for x in live], [x[1] for x in live])
        rows: list[Row] = [(r["label"], r["dim"], r["value"], r["n"]) for r in found]
        return rows + _backlog_totals(rows, live[-1][0])
    aggregate = _AGGREGATE_SQL[spec.aggregate]
    statement = (
        f"with f as ({facts}), x as (select {_BUCKET_SQL[period]} as label, {dimension} as dim, "
        f"f.value::float8 as value from f {join_users} where f.at >= $1 and f.at < $2) "
        f"select grouping(label) as whole, label, dim, {aggregate} as value, count(*) as n from x "
        "group by grouping sets ((label, dim), (dim))"
    )
    found = await ctx.tx.fetch(statement, start, end, time_zone)
    return [(None if r["whole"] else r["label"], r["dim"], r["value"], r["n"]) for r in found]


def _backlog_totals(rows: list[Row], last_label: date) -> list[Row]:
    """A backlog's figure for the whole window is its figure at the window's end (the last live period)."""
    return [(None, dim, value, n) for label, dim, value, n in rows if label == last_label]


async def _python(
    ctx: PluginContext,
    spec: MetricSpec,
    periods: list[Bucket],
    period: Period,
    time_zone: str,
    by: str | None,
    now: datetime,
) -> list[Row]:
    assert spec.facts is not None
    assert not isinstance(spec.facts, str)
    start, end = periods[0].start, periods[-1].end
    facts: Sequence[MetricFact] = await spec.facts(ctx, start, end)
    teams: dict[str, str | None] = {}
    if by == "team":
        users = {str(f.coordinator_id) for f in facts if f.coordinator_id is not None}
        found = await ctx.tx.fetch("select id::text, team_id::text from users where id::text = any($1::text[])", users)
        teams = {r["id"]: r["team_id"] for r in found}

    def dim(fact: MetricFact) -> str | None:
        if by == "coordinator":
            return None if fact.coordinator_id is None else str(fact.coordinator_id)
        if by == "provider":
            return None if fact.provider_id is None else str(fact.provider_id)
        if by == "team":
            return None if fact.coordinator_id is None else teams.get(str(fact.coordinator_id))
        return None

    groups: dict[tuple[date | None, str | None], list[float]] = {}
    if spec.aggregate == "open_at_end":
        live = [b for b in periods if b.start <= now]
        for bucket in live:
            at_end = min(bucket.end, now)
            for fact in facts:
                if fact.at < at_end and (fact.until is None or fact.until >= at_end):
                    groups.setdefault((bucket.label, dim(fact)), []).append(1.0)
        rows: list[Row] = [(k[0], k[1], float(len(v)), len(v)) for k, v in groups.items()]
        return rows + (_backlog_totals(rows, live[-1].label) if live else [])
    labels = {b.label for b in periods}
    for fact in facts:
        if not start <= fact.at < end:
            continue
        label = floor(local_date(fact.at, time_zone), period)
        if label not in labels:
            continue
        groups.setdefault((label, dim(fact)), []).append(float(fact.value))
        groups.setdefault((None, dim(fact)), []).append(float(fact.value))
    return [(k[0], k[1], _aggregate(spec.aggregate, v), len(v)) for k, v in groups.items()]


def _aggregate(kind: str, values: list[float]) -> float | None:
    if not values:
        return None
    if kind == "pct":
        return 100.0 * sum(values) / len(values)
    if kind == "median":
        return float(statistics.median(values))
    if kind == "mean":
        return sum(values) / len(values)
    if kind == "sum":
        return sum(values)
    return float(len(values))


async def _assemble(
    ctx: PluginContext,
    spec: MetricSpec,
    rows: list[Row],
    periods: list[Bucket],
    first: date,
    last: date,
    period: Period,
    time_zone: str,
    by: str | None,
    target: float | None,
    now: datetime,
) -> MetricResult:
    zero = spec.aggregate in EMPTY_IS_ZERO
    by_dim: dict[str | None, dict[date | None, tuple[float | None, int]]] = {}
    for label, dim, value, n in rows:
        by_dim.setdefault(dim, {})[label] = (None if value is None else round(float(value), DIGITS), int(n))
    if by is None:
        by_dim.setdefault(None, {})

    def point(found: dict[date | None, tuple[float | None, int]], label: date | None, future: bool) -> Point:
        if label in found:
            return Point(label, *found[label])
        return Point(label, 0.0 if zero and not future else None, 0)

    labels = await _labels(ctx, by, [d for d in by_dim if d is not None])
    series = [
        Series(
            dim,
            labels.get(dim, dim) if dim is not None else None if by is None else NO_VALUE,
            [point(found, b.label, b.start > now) for b in periods],
            point(found, None, False),
        )
        for dim, found in by_dim.items()
    ]
    series.sort(key=lambda s: (s.dimension is None, (s.label or "").lower(), s.dimension or ""))
    total = series[0].total if by is None else _overall(spec, series)
    return MetricResult(spec, target, first, last, period, time_zone, by, total, series)


def _overall(spec: MetricSpec, series: list[Series]) -> Point:
    """The whole window across every group: counts add up; a rate is re-weighted by each group's count."""
    totals = [s.total for s in series if s.total.count]
    n = sum(p.count for p in totals)
    if spec.aggregate in EMPTY_IS_ZERO:
        return Point(None, sum((p.value or 0.0) for p in totals), n)
    if spec.aggregate in ("pct", "mean") and n:
        return Point(None, round(sum((p.value or 0.0) * p.count for p in totals) / n, DIGITS), n)
    return Point(None, None, n)  # a median of medians means nothing: ask without ``by`` for it


async def _labels(ctx: PluginContext, by: str | None, ids: list[str]) -> dict[str, str]:
    if not ids or by is None:
        return {}
    if by == "coordinator":
        sql = "select id::text as id, full_name as label from users where id::text = any($1::text[])"
    elif by == "team":
        sql = "select id::text as id, name as label from teams where id::text = any($1::text[])"
    else:
        sql = (
            "select id::text as id, given_name || ' ' || family_name as label from practitioners "
            "where id::text = any($1::text[]) union all select id::text, name from provider_organizations "
            "where id::text = any($1::text[])"
        )
    return {r["id"]: r["label"] for r in await ctx.tx.fetch(sql, ids)}


def encode_result(result: MetricResult) -> dict[str, Any]:
    """The JSON body of ``GET /api/v1/metrics/{name}``."""
    spec = result.spec

    def point(p: Point) -> dict[str, Any]:
        return {"period": p.period.isoformat() if p.period else None, "value": p.value, "count": p.count}

    return {
        "name": spec.name,
        "description": spec.description,
        "unit": spec.unit,
        "aggregate": spec.aggregate,
        "target": result.target,
        "better": spec.better,
        "period": result.period,
        "from": result.first.isoformat(),
        "to": result.last.isoformat(),
        "time_zone": result.time_zone,
        "by": result.by,
        "total": {"value": result.total.value, "count": result.total.count},
        "status": status_of(result.total.value, result.target, spec.better),
        "series": [
            {
                "dimension": None if result.by is None else {"id": s.dimension, "label": s.label},
                "points": [point(p) for p in s.points],
                "total": {"value": s.total.value, "count": s.total.count},
            }
            for s in result.series
        ],
    }
