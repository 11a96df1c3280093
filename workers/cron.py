"""Periodic jobs: which occurrences of a cron expression are due, in a tenant's time zone.

Each occurrence is enqueued through the tenant's outbox with the idempotency key
``cron:{job}:{occurrence}``. The outbox's unique key is the lock: two schedulers, a
restart or a retried tick can never fire one occurrence twice. A scheduler that was down
catches up on occurrences at most ``catch_up`` old, and never fires ones older.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from core.plugins.records import PeriodicJob


@dataclass(frozen=True)
class Occurrence:
    job: PeriodicJob
    module: str
    at: datetime
    """The occurrence in the tenant's time zone."""

    @property
    def idempotency_key(self) -> str:
        return f"cron:{self.module}.{self.job.name}:{self.at.isoformat()}"


def validate_cron(expression: str) -> None:
    """Raise ``ValueError`` for an expression croniter cannot schedule."""
    if not croniter.is_valid(expression):
        raise ValueError(f"invalid cron expression {expression!r}")


def due_occurrences(
    expression: str, time_zone: str, now: datetime, *, catch_up: timedelta = timedelta(minutes=10), limit: int = 10
) -> list[datetime]:
    """Occurrences in ``(now - catch_up, now]``, oldest first, as aware datetimes in ``time_zone``.

    Wall-clock expressions follow the zone: ``0 9 * * *`` fires at 09:00 local time on both
    sides of a daylight-saving change.
    """
    if now.tzinfo is None:
        raise ValueError("now must be time-zone aware")
    zone = ZoneInfo(time_zone)
    local_now = now.astimezone(zone)
    found: list[datetime] = []
    # croniter's get_prev from local_now excludes local_now itself; step forward a second so
    # an occurrence exactly at `now` counts.
    schedule = croniter(expression, local_now + timedelta(seconds=1))
    while len(found) < limit:
        previous = schedule.get_prev(datetime)
        if previous <= local_now - catch_up:
            break
        found.append(previous.astimezone(zone).replace(fold=0))
    return sorted(found)
