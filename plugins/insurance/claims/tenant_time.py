"""The organization's calendar: deadlines and report periods are dates in its time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.plugins.sdk import PluginContext


async def tenant_zone(ctx: PluginContext) -> ZoneInfo:
    name = await ctx.tx.fetchval("select time_zone from tenants where id = $1", ctx.tenant_id)
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def today_in(zone: ZoneInfo, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(zone).date()


async def tenant_today(ctx: PluginContext) -> date:
    return today_in(await tenant_zone(ctx))


def period_bounds(zone: ZoneInfo, first: date, last: date) -> tuple[datetime, datetime]:
    """``[start of first, start of the day after last)`` in ``zone``, as aware datetimes."""
    return (
        datetime.combine(first, time(), tzinfo=zone),
        datetime.combine(last + timedelta(days=1), time(), tzinfo=zone),
    )
