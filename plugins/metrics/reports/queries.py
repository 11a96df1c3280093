"""The metrics module's reports: the weekly referral report and the monthly KPI pack.

Both take their numbers from the engine the API uses (``plugins.metrics.engine.compute`` over the
catalogue of ``plugins.metrics.catalogue``, with the organization's targets), over exactly the
window ``GET /api/v1/metrics/{name}?from=&to=&period=`` would be asked for, so a report's figure and
the API's never differ. Values are rounded to two decimals for the file.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec

from core.metrics.periods import Period, floor, local_date
from core.metrics.spec import MetricSpec
from core.plugins.sdk import ChartSpec, PluginContext, ReportColumn, ReportData, ReportSpec
from plugins.metrics.catalogue import available, target_of
from plugins.metrics.engine import compute, status_of

WEEKLY = "weekly_referral_report"
MONTHLY = "monthly_kpi_pack"
REFERRALS_MODULE = "referrals"
ALL_COORDINATORS = "All coordinators"
NO_COORDINATOR = "(no coordinator)"


class WeeklyParams(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    start: date | None = None
    """Monday of the ISO week; default: the last complete week in the organization's time zone."""

    def __post_init__(self) -> None:
        if self.start is not None and self.start.weekday() != 0:
            raise ValueError("start must be a Monday (the first day of an ISO week)")


class MonthlyParams(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    start: date | None = None
    """First day of the month; default: the last complete month in the organization's time zone."""

    def __post_init__(self) -> None:
        if self.start is not None and self.start.day != 1:
            raise ValueError("start must be the first day of a month")


async def tenant_zone(ctx: PluginContext) -> str:
    return str(await ctx.tx.fetchval("select time_zone from tenants where id = $1", ctx.tenant_id))


def last_complete(period: Period, today: date) -> date:
    """The first day of the last period (ISO week or month) that ended before ``today``."""
    return floor(floor(today, period) - timedelta(days=1), period)


def period_end(start: date, period: Period) -> date:
    """The last day (included) of the week or month starting on ``start``."""
    if period == "week":
        return start + timedelta(days=6)
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return following - timedelta(days=1)


async def resolve_start(ctx: PluginContext, start: date | None, period: Period) -> tuple[date, str]:
    """The period's first day (the last complete one by default) and the organization's zone."""
    zone = await tenant_zone(ctx)
    today = local_date(datetime.now(UTC), zone)
    if start is None:
        return last_complete(period, today), zone
    if start > today:
        raise ValueError(f"the {period} starting {start.isoformat()} has not begun")
    return start, zone


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


async def _total(
    ctx: PluginContext, spec: MetricSpec, first: date, last: date, period: Period, zone: str
) -> tuple[float | None, int]:
    result = await compute(
        ctx, spec, first=first, last=last, period=period, time_zone=zone, target=target_of(spec, ctx.settings)
    )
    return result.total.value, result.total.count


WEEKLY_COLUMNS = [
    ReportColumn("week", "Week", "date"),
    ReportColumn("metric", "Metric"),
    ReportColumn("coordinator", "Coordinator"),
    ReportColumn("value", "Value", "number"),
    ReportColumn("count", "Count", "integer"),
    ReportColumn("target", "Target", "number"),
    ReportColumn("status", "Status"),
    ReportColumn("unit", "Unit"),
]


async def weekly_referral_report(ctx: PluginContext, params: WeeklyParams) -> ReportData:
    """Each referral KPI of the week (value, count, target, met/missed), then the same per coordinator."""
    start, zone = await resolve_start(ctx, params.start, "week")
    end = period_end(start, "week")
    specs = [spec for spec in await available(ctx) if spec.module == REFERRALS_MODULE]
    totals: list[tuple[Any, ...]] = []
    per_coordinator: list[tuple[Any, ...]] = []
    for spec in specs:
        target = target_of(spec, ctx.settings)
        value, count = await _total(ctx, spec, start, end, "week", zone)
        totals.append(
            (start, spec.name, ALL_COORDINATORS, rounded(value), count, target, _status(value, target, spec), spec.unit)
        )
        if "coordinator" not in spec.dimensions:
            continue
        grouped = await compute(
            ctx, spec, first=start, last=end, period="week", time_zone=zone, by="coordinator", target=target
        )
        names = await _user_names(ctx, [s.dimension for s in grouped.series if s.dimension is not None])
        for series in grouped.series:
            if not series.total.count:
                continue
            per_coordinator.append(
                (
                    start,
                    spec.name,
                    names.get(series.dimension or "") or series.label or NO_COORDINATOR,
                    rounded(series.total.value),
                    series.total.count,
                    target,
                    _status(series.total.value, target, spec),
                    spec.unit,
                )
            )
    return ReportData(WEEKLY_COLUMNS, totals + per_coordinator)


MONTHLY_COLUMNS = [
    ReportColumn("month", "Month", "date"),
    ReportColumn("category", "Category"),
    ReportColumn("metric", "Metric"),
    ReportColumn("value", "Value", "number"),
    ReportColumn("count", "Count", "integer"),
    ReportColumn("previous", "Previous month", "number"),
    ReportColumn("target", "Target", "number"),
    ReportColumn("status", "Status"),
    ReportColumn("unit", "Unit"),
]


async def monthly_kpi_pack(ctx: PluginContext, params: MonthlyParams) -> ReportData:
    """Every metric of the organization's catalogue for the month, beside the month before and the target."""
    start, zone = await resolve_start(ctx, params.start, "month")
    end = period_end(start, "month")
    before = floor(start - timedelta(days=1), "month")
    rows: list[tuple[Any, ...]] = []
    for spec in await available(ctx):
        target = target_of(spec, ctx.settings)
        value, count = await _total(ctx, spec, start, end, "month", zone)
        previous, _ = await _total(ctx, spec, before, start - timedelta(days=1), "month", zone)
        rows.append(
            (
                start,
                spec.category,
                spec.name,
                rounded(value),
                count,
                rounded(previous),
                target,
                _status(value, target, spec),
                spec.unit,
            )
        )
    return ReportData(MONTHLY_COLUMNS, rows)


async def _user_names(ctx: PluginContext, ids: list[str]) -> dict[str, str]:
    """Coordinator id -> name, or e-mail address for a user without a name."""
    if not ids:
        return {}
    rows = await ctx.tx.fetch(
        "select id::text as id, coalesce(nullif(full_name, ''), email) as name from users where id::text = any($1)",
        ids,
    )
    return {row["id"]: row["name"] for row in rows}


def _status(value: float | None, target: float | None, spec: MetricSpec) -> str:
    return status_of(value, target, spec.better) or ""


METRICS_REPORTS = [
    ReportSpec(
        name=WEEKLY,
        title="Weekly referral report",
        description="The referral KPIs of one ISO week (the last complete one by default) against their targets, "
        "overall and per coordinator",
        query=weekly_referral_report,
        params=WeeklyParams,
        chart=ChartSpec("bar", x="metric", y=("value", "target"), title="Referral KPIs of the week"),
        permission="metrics:read",
    ),
    ReportSpec(
        name=MONTHLY,
        title="Monthly KPI pack",
        description="Every KPI of the organization for one month (the last complete one by default), "
        "beside the month before and the target",
        query=monthly_kpi_pack,
        params=MonthlyParams,
        chart=ChartSpec("bar", x="metric", y=("value", "previous"), title="KPIs: this month and the month before"),
        permission="metrics:read",
    ),
]
"""Registered by the metrics module's ``register_reports`` (listed as ``metrics.{name}``)."""
