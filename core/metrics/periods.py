"""Calendar periods in a tenant's time zone: local days, ISO weeks (Monday) and months.

A period ``[start, end)`` is given as local dates and converted to UTC instants at local midnight,
so a day across a DST change is 23 or 25 hours long and an event at 23:30 local time belongs to
that local day whatever its UTC date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Period = Literal["day", "week", "month"]
PERIODS: tuple[str, ...] = Period.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Bucket:
    """One period: its first local date and its UTC bounds (end exclusive)."""

    label: date
    start: datetime
    end: datetime


def floor(day: date, period: Period) -> date:
    """The first local date of the period containing ``day``."""
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def following(day: date, period: Period) -> date:
    """The first local date of the period after the one starting on ``day``."""
    if period == "day":
        return day + timedelta(days=1)
    if period == "week":
        return day + timedelta(days=7)
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def local_midnight(day: date, time_zone: str) -> datetime:
    """``day`` 00:00 in ``time_zone`` as a UTC instant (the first existing instant if midnight is skipped)."""
    zone = ZoneInfo(time_zone)
    local = datetime.combine(day, time(0), tzinfo=zone)
    as_utc = local.astimezone(UTC)
    if as_utc.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):  # midnight did not exist
        as_utc = datetime.combine(day, time(1), tzinfo=zone).astimezone(UTC).replace(minute=0)
    return as_utc


def buckets(first: date, last: date, period: Period, time_zone: str) -> list[Bucket]:
    """The periods covering local dates ``first`` to ``last`` (both included), oldest first."""
    if last < first:
        raise ValueError("the last date is before the first")
    found: list[Bucket] = []
    day = floor(first, period)
    while day <= last:
        after = following(day, period)
        found.append(Bucket(day, local_midnight(day, time_zone), local_midnight(after, time_zone)))
        day = after
    return found


def local_date(instant: datetime, time_zone: str) -> date:
    """The date ``instant`` falls on in ``time_zone``."""
    return instant.astimezone(ZoneInfo(time_zone)).date()
