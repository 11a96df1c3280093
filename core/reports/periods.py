"""What most reports share: a period of local days in the organization's (or a given) time zone, and
reading a large answer through a cursor in chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import msgspec

from core.plugins.context import PluginContext
from core.tenancy.schemas import check_time_zone

MAX_DAYS = 366
CHUNK_ROWS = 500
"""Rows a streamed report query fetches per cursor round trip."""


class Period(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A range of local days; defaults to the 30 days ending today."""

    start: date | None = None
    end: date | None = None
    """Inclusive."""
    time_zone: str | None = None
    """IANA zone the days are counted in; default the organization's."""

    def __post_init__(self) -> None:
        check_time_zone(self.time_zone)
        if self.start is not None and self.end is not None:
            if self.end < self.start:
                raise ValueError("end must not be before start")
            if (self.end - self.start).days >= MAX_DAYS:
                raise ValueError(f"the period may span at most {MAX_DAYS} days")


async def local_days(ctx: PluginContext, period: Period) -> tuple[str, date, date]:
    """The period's time zone (the organization's unless given) and its first and last local day
    (default: the 30 days ending today); raises ``ValueError`` past :data:`MAX_DAYS`."""
    zone = period.time_zone or await ctx.tx.fetchval("select time_zone from tenants where id = $1", ctx.tenant_id)
    today = await ctx.tx.fetchval("select (now() at time zone $1)::date", zone)
    end = period.end or (today if period.start is None else period.start + timedelta(days=29))
    start = period.start or end - timedelta(days=29)
    if (end - start).days >= MAX_DAYS:
        raise ValueError(f"the period may span at most {MAX_DAYS} days")
    return str(zone), start, end


async def cursor_chunks(ctx: PluginContext, sql: str, *args: Any) -> AsyncIterator[list[tuple[Any, ...]]]:
    """The rows of ``sql`` through a cursor of the report's transaction, :data:`CHUNK_ROWS` at a time
    (a ``ReportData.rows`` for reports too large to hold twice)."""
    cursor = await ctx.tx.connection.cursor(sql, *args)
    while True:
        batch = await cursor.fetch(CHUNK_ROWS)
        if not batch:
            return
        yield [tuple(row) for row in batch]
