"""``/api/v1/metrics``: the catalogue of the organization's KPIs, one metric's series, the dashboard."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from litestar import get
from litestar.params import Parameter

from core.metrics.periods import Period, floor, local_date
from core.metrics.spec import MetricSpec
from core.plugins.sdk import PluginContext, problem, requires_permission
from plugins.metrics.catalogue import available, find, target_of
from plugins.metrics.concurrency import in_own_transaction
from plugins.metrics.dashboard import card, describe
from plugins.metrics.engine import DimensionError, compute, encode_result

READ = "metrics:read"
MAX_PERIODS = {"day": 400, "week": 260, "month": 120}
DASHBOARD_CONNECTIONS = 4
"""Metrics of one dashboard computed at once, each in its own read of the tenant (pooled connections)."""
DEFAULT_SPAN = {"day": 30, "week": 7 * 12, "month": 365}
"""Default ``from`` (days before ``to``) per period."""

PeriodParam = Literal["day", "week", "month"]
DimensionParam = Literal["coordinator", "team", "provider"]


async def _zone(plugin: PluginContext, asked: str | None) -> str:
    name = asked or await plugin.tx.fetchval("select time_zone from tenants where id = $1", plugin.tenant_id)
    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise problem(400, f"Unknown time zone {name!r}", errors=[{"field": "time_zone"}]) from None
    return str(name)


@get("/", guards=[requires_permission(READ)], summary="The metrics of the modules this organization enabled")
async def catalogue(plugin: PluginContext) -> dict[str, Any]:
    return {"items": [describe(spec, plugin) for spec in await available(plugin)]}


@get("/dashboard", guards=[requires_permission(READ)], summary="Every metric: this period, the last, the trend")
async def dashboard(
    plugin: PluginContext,
    period: Annotated[PeriodParam, Parameter(description="week (ISO, Monday) or month")] = "week",
    time_zone: Annotated[str | None, Parameter(description="IANA zone; default the organization's")] = None,
    refresh: Annotated[bool, Parameter(description="recompute closed periods instead of using the cache")] = False,
) -> dict[str, Any]:
    """The current period (still running) and the previous one per metric, with eight periods of trend."""
    zone = await _zone(plugin, time_zone)
    now = datetime.now(UTC)
    specs = [spec for spec in await available(plugin) if spec.dashboard]
    gate = asyncio.Semaphore(DASHBOARD_CONNECTIONS)

    async def one(spec: MetricSpec) -> dict[str, Any]:
        async with gate:
            return await in_own_transaction(plugin, lambda ctx: card(ctx, spec, period, zone, now, refresh))

    items = await asyncio.gather(*(one(spec) for spec in specs))
    return {"period": period, "time_zone": zone, "generated_at": now, "items": items}


@get("/{name:str}", guards=[requires_permission(READ)], summary="One metric's series per period and dimension")
async def metric_series(
    plugin: PluginContext,
    name: str,
    first: Annotated[date | None, Parameter(query="from", description="first local date (default: see docs)")] = None,
    last: Annotated[date | None, Parameter(query="to", description="last local date, included (default today)")] = None,
    period: PeriodParam = "week",
    by: Annotated[DimensionParam | None, Parameter(description="group by coordinator, team or provider")] = None,
    time_zone: Annotated[str | None, Parameter(description="IANA zone; default the organization's")] = None,
) -> dict[str, Any]:
    spec = await find(plugin, name)
    if spec is None:
        raise problem(404, f"No metric named {name!r}")
    zone = await _zone(plugin, time_zone)
    last = last or local_date(datetime.now(UTC), zone)
    first = first or last - timedelta(days=DEFAULT_SPAN[period])
    if first > last:
        raise problem(400, "'from' is after 'to'", errors=[{"field": "from"}])
    span = _period_count(first, last, period)
    if span > MAX_PERIODS[period]:
        raise problem(
            400, f"At most {MAX_PERIODS[period]} {period}s at a time (asked {span})", errors=[{"field": "from"}]
        )
    try:
        result = await compute(
            plugin,
            spec,
            first=first,
            last=last,
            period=period,
            time_zone=zone,
            by=by,
            target=target_of(spec, plugin.settings),
        )
    except DimensionError as exc:
        raise problem(400, str(exc), errors=[{"field": "by", "allowed": list(spec.dimensions)}]) from None
    return encode_result(result)


def _period_count(first: date, last: date, period: Period) -> int:
    if period == "day":
        return (last - first).days + 1
    if period == "week":
        return (floor(last, "week") - floor(first, "week")).days // 7 + 1
    return (last.year - first.year) * 12 + last.month - first.month + 1


ROUTES = [catalogue, dashboard, metric_series]
