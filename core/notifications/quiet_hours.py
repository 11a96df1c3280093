"""Quiet hours: when an interrupting message must wait, in the patient's (or organization's) zone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(*candidates: str | None) -> ZoneInfo:
    """The first valid IANA zone among ``candidates``; UTC when none is."""
    for name in candidates:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def quiet_until(now: datetime, start: time, end: time, tz: ZoneInfo) -> datetime | None:
    """The end of the quiet period ``now`` falls in (as an aware datetime), or None when not quiet.

    ``start``/``end`` are local wall-clock times; a window may wrap midnight (21:00-08:00).
    An equal start and end means no quiet hours.
    """
    if start == end:
        return None
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    if start < end:
        if not (start <= clock < end):
            return None
        day = local.date()
    else:
        if end <= clock < start:
            return None
        day = local.date() + timedelta(days=1) if clock >= start else local.date()
    # Wall-clock end in the zone; across a DST gap fromutc/astimezone normalises it.
    ends = datetime.combine(day, end, tzinfo=tz)
    return ends.astimezone(ZoneInfo("UTC"))
