"""Business calendars: working hours per weekday, holidays and a time zone, and time arithmetic on them.

Pure and database-free. A tenant stores a :class:`CalendarSettings`; the service builds a
:class:`BusinessCalendar` from it with the tenant's time zone and asks it two questions:
``add_business_time`` (when will this much working time have passed?) and ``business_time_between``.

Why wall-clock intervals: opening hours are a promise made in local time ("08:00-17:00"), so each
local day's intervals are converted to instants separately, on that day, with that day's UTC offset.
Durations are then measured between real instants, so a working interval spanning a daylight-saving
change counts the hours that really passed (an 01:00-05:00 shift is 3 h on spring-forward night and
5 h on fall-back night).

How a wall time that does not exist or exists twice is resolved (the deterministic rule):

* In a gap (spring forward, e.g. 02:30 in New York), the wall time is moved to the end of the gap,
  the first instant the clock shows a later time (03:00 EDT). Working time that the wall clock never
  shows is therefore not counted, and a day's intervals stay in order.
* In a fold (fall back, e.g. 01:30 in New York), the earlier of the two instants is used (EDT).

Both rules keep the wall-time -> instant mapping non-decreasing, which is what lets the arithmetic
walk day by day without intervals overlapping.

Arithmetic is done in UTC throughout, and instants are returned in UTC: Python subtracts and
compares two datetimes that share a ``ZoneInfo`` by wall clock, ignoring offsets, which is wrong by
an hour across a change; and a local datetime in a repeated hour is never ``==`` to one in another
zone (PEP 495). Inputs may be in any zone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Annotated, Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

__all__ = ["WEEKDAYS", "BusinessCalendar", "CalendarSettings", "Weekday", "parse_intervals"]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: Final[tuple[Weekday, ...]] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Index = ``date.weekday()``."""

_DAY_MINUTES: Final = 24 * 60
_INTERVAL = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_HORIZON_DAYS: Final = 366 * 30
"""No computation walks further than this: keeps every loop bounded and catches absurd inputs."""
_WEEK_CACHE_SIZE: Final = 4096

Minutes = tuple[int, int]
"""A working interval as minutes after local midnight: ``(start, end)``, ``0 <= start < end <= 1440``."""
Span = tuple[datetime, datetime]
"""A working interval as UTC instants."""

IntervalText = Annotated[str, msgspec.Meta(pattern=_INTERVAL.pattern, examples=["08:00-17:00"])]
_NINE_TO_FIVE: Final = ("08:00-17:00",)


def _parse_clock(hours: str, minutes: str, text: str) -> int:
    h, m = int(hours), int(minutes)
    if m > 59 or h > 24 or (h == 24 and m != 0):
        raise ValueError(f"'{text}' is not a time of day (00:00 to 24:00)")
    return h * 60 + m


def parse_intervals(day: str, intervals: Iterable[str]) -> tuple[Minutes, ...]:
    """Parse one weekday's ``"HH:MM-HH:MM"`` intervals, sorted; ``24:00`` is accepted as an end (midnight).

    Raises ValueError naming the day when an interval is malformed, empty or reversed, or when two
    intervals overlap (touching, e.g. ``08:00-12:00`` and ``12:00-17:00``, is allowed).
    """
    parsed: list[Minutes] = []
    for text in intervals:
        match = _INTERVAL.match(text)
        if match is None:
            raise ValueError(f"{day}: '{text}' is not an interval like '08:00-17:00'")
        start = _parse_clock(match[1], match[2], text)
        end = _parse_clock(match[3], match[4], text)
        if end <= start:
            raise ValueError(f"{day}: interval '{text}' must end after it starts")
        parsed.append((start, end))
    parsed.sort()
    for (_, previous_end), (start, _) in pairwise(parsed):
        if start < previous_end:
            raise ValueError(
                f"{day}: working intervals overlap (one ends at {_fmt(previous_end)}, the next starts at {_fmt(start)})"
            )
    return tuple(parsed)


def _fmt(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _zone(time_zone: str | ZoneInfo) -> ZoneInfo:
    if isinstance(time_zone, ZoneInfo):
        return time_zone
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown time zone {time_zone!r} (expected an IANA name like 'America/New_York')") from exc


class CalendarSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a tenant stores: working hours per weekday and holidays. The time zone is the tenant's own.

    Each weekday holds zero or more ``"HH:MM-HH:MM"`` intervals in local time (several for a lunch
    break; none for a closed day). Validated on decode and on construction.
    """

    mon: tuple[IntervalText, ...] = _NINE_TO_FIVE
    tue: tuple[IntervalText, ...] = _NINE_TO_FIVE
    wed: tuple[IntervalText, ...] = _NINE_TO_FIVE
    thu: tuple[IntervalText, ...] = _NINE_TO_FIVE
    fri: tuple[IntervalText, ...] = _NINE_TO_FIVE
    sat: tuple[IntervalText, ...] = ()
    sun: tuple[IntervalText, ...] = ()
    holidays: tuple[date, ...] = ()
    """Local dates on which nobody works, whatever the weekday."""

    def __post_init__(self) -> None:
        week = self.week()
        for day, intervals in week.items():
            parse_intervals(day, intervals)
        if not any(week.values()):
            raise ValueError("the calendar has no working hours on any weekday")

    @classmethod
    def from_business_hours(cls, hours: Mapping[str, Any]) -> CalendarSettings:
        """The organization's business hours (``{"days": [1..7], "start": "HH:MM", "end": "HH:MM"}``, ISO
        weekdays) as a calendar: the same interval on each listed day, no holidays."""
        interval = (f"{hours['start']}-{hours['end']}",)
        days = set(hours["days"])
        week: dict[str, Any] = {day: interval if n in days else () for n, day in enumerate(WEEKDAYS, start=1)}
        return msgspec.convert(week, cls)

    def week(self) -> dict[Weekday, tuple[str, ...]]:
        return {day: getattr(self, day) for day in WEEKDAYS}


class BusinessCalendar:
    """Working hours in a time zone, minus holidays; answers "when" and "how much working time".

    Instances are immutable and cheap to share per tenant; they memoise the working time of whole
    weeks so long durations skip week by week.
    """

    __slots__ = ("_holidays", "_week", "_week_totals", "_zone")

    def __init__(
        self,
        time_zone: str | ZoneInfo,
        hours: Mapping[Weekday, Sequence[str]] | Mapping[str, Sequence[str]] | None = None,
        holidays: Iterable[date] = (),
    ) -> None:
        """``hours`` maps ``"mon"``..``"sun"`` to intervals (missing day: closed); None: Mon-Fri 08:00-17:00."""
        self._zone = _zone(time_zone)
        if hours is None:
            hours = dict.fromkeys(WEEKDAYS[:5], _NINE_TO_FIVE)
        unknown = sorted(set(hours) - set(WEEKDAYS))
        if unknown:
            raise ValueError(f"unknown weekday(s) {unknown}; use {list(WEEKDAYS)}")
        self._week: tuple[tuple[Minutes, ...], ...] = tuple(
            parse_intervals(day, hours.get(day, ())) for day in WEEKDAYS
        )
        if not any(self._week):
            raise ValueError("the calendar has no working hours on any weekday")
        self._holidays = frozenset(holidays)
        self._week_totals: dict[date, timedelta] = {}

    @classmethod
    def from_settings(cls, settings: CalendarSettings, time_zone: str | ZoneInfo) -> BusinessCalendar:
        return cls(time_zone, settings.week(), settings.holidays)

    @classmethod
    def always_open(cls, time_zone: str | ZoneInfo) -> BusinessCalendar:
        """Every day 00:00-24:00, no holidays: business time equals elapsed time (for wall-clock targets)."""
        return cls(time_zone, dict.fromkeys(WEEKDAYS, ("00:00-24:00",)))

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    @property
    def holidays(self) -> frozenset[date]:
        return self._holidays

    def __repr__(self) -> str:
        week = {
            day: [f"{_fmt(s)}-{_fmt(e)}" for s, e in spans] for day, spans in zip(WEEKDAYS, self._week, strict=True)
        }
        return f"BusinessCalendar({self._zone.key!r}, {week!r}, holidays={sorted(self._holidays)!r})"

    # -- the two questions -------------------------------------------------------------------

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant at which ``duration`` of working time has passed since ``start``.

        Outside working hours counting begins at the next opening; a zero duration returns ``start``.
        Whole weeks are skipped using memoised week totals. The result is in UTC on purpose: a local
        datetime in a repeated hour (fold=1) compares unequal to every datetime of another zone
        (PEP 495), and two datetimes sharing a zone compare by wall clock; convert for display only.
        """
        _require_aware(start, "start")
        if duration < timedelta(0):
            raise ValueError("duration must not be negative")
        cursor = start.astimezone(UTC)
        if not duration:
            return cursor
        remaining = duration
        day = first_day = self._local_date(cursor)
        while (day - first_day).days <= _HORIZON_DAYS:
            if day.weekday() == 0 and cursor <= self._midnight(day):
                week = self._week_total(day)
                if week < remaining:
                    remaining -= week
                    day += timedelta(days=7)
                    continue
            for opens, closes in self._spans(day):
                if closes <= cursor:
                    continue
                opens = max(opens, cursor)
                if remaining <= closes - opens:
                    return opens + remaining
                remaining -= closes - opens
                cursor = closes
            day += timedelta(days=1)
        raise ValueError(f"{duration} of working time ends more than {_HORIZON_DAYS} days after {start}")

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time from ``a`` to ``b``; negative when ``b`` is before ``a``."""
        _require_aware(a, "a")
        _require_aware(b, "b")
        a, b = a.astimezone(UTC), b.astimezone(UTC)
        if b < a:
            return -self.business_time_between(b, a)
        if b - a > timedelta(days=_HORIZON_DAYS):
            raise ValueError(f"span from {a} to {b} is longer than {_HORIZON_DAYS} days")
        total = timedelta(0)
        day = self._local_date(a)
        while (midnight := self._midnight(day)) < b:
            if day.weekday() == 0 and a <= midnight and self._midnight(day + timedelta(days=7)) <= b:
                total += self._week_total(day)
                day += timedelta(days=7)
                continue
            for opens, closes in self._spans(day):
                overlap = min(closes, b) - max(opens, a)
                if overlap > timedelta(0):
                    total += overlap
            day += timedelta(days=1)
        return total

    def is_working(self, instant: datetime) -> bool:
        """Whether ``instant`` falls inside working hours (interval start inclusive, end exclusive)."""
        _require_aware(instant, "instant")
        instant = instant.astimezone(UTC)
        return any(opens <= instant < closes for opens, closes in self._spans(self._local_date(instant)))

    # -- days and weeks ----------------------------------------------------------------------

    def _spans(self, day: date) -> list[Span]:
        """The day's working intervals as UTC instants (empty on holidays; empty spans in a gap dropped)."""
        if day in self._holidays:
            return []
        spans = [(self._instant(day, start), self._instant(day, end)) for start, end in self._week[day.weekday()]]
        return [(opens, closes) for opens, closes in spans if closes > opens]

    def _week_total(self, monday: date) -> timedelta:
        total = self._week_totals.get(monday)
        if total is None:
            total = sum(
                (
                    closes - opens
                    for offset in range(7)
                    for opens, closes in self._spans(monday + timedelta(days=offset))
                ),
                timedelta(0),
            )
            if len(self._week_totals) >= _WEEK_CACHE_SIZE:
                self._week_totals.clear()
            self._week_totals[monday] = total
        return total

    def _local_date(self, instant: datetime) -> date:
        return instant.astimezone(self._zone).date()

    def _midnight(self, day: date) -> datetime:
        return self._instant(day, 0)

    def _instant(self, day: date, minutes: int) -> datetime:
        """The UTC instant of local wall time ``day + minutes`` under the gap/fold rule of the module."""
        wall = datetime.combine(day, time()) + timedelta(minutes=minutes)
        first = wall.replace(tzinfo=self._zone).astimezone(UTC)  # fold=0: the earlier instant of a fold
        if first.astimezone(self._zone).replace(tzinfo=None) == wall:
            return first
        return self._end_of_gap(wall)

    def _end_of_gap(self, wall: datetime) -> datetime:
        """The first instant whose local wall time is at or after ``wall``, which lies in a gap.

        PEP 495 maps a gap time with fold=0 and fold=1 through the offsets before and after the
        transition; the transition lies between those two instants. Binary search on whole seconds
        (tz transitions are on whole seconds) finds it in about 17 steps for an hour's gap.
        """
        candidates = [wall.replace(tzinfo=self._zone, fold=fold).astimezone(UTC) for fold in (0, 1)]
        low, high = int(min(candidates).timestamp()), int(max(candidates).timestamp())
        while high - low > 1:
            middle = (low + high) // 2
            if datetime.fromtimestamp(middle, self._zone).replace(tzinfo=None) >= wall:
                high = middle
            else:
                low = middle
        return datetime.fromtimestamp(high, UTC)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
