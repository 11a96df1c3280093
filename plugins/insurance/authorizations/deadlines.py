"""When a payer owes its decision, when that is at risk, and when an approval runs out (pure).

CMS-0057-F gives payers 72 hours for an expedited request and 7 calendar days for a standard
one. The expedited window is elapsed time; the standard one is counted in calendar days in the
organization's time zone, so across a daylight-saving change it lasts 167 or 169 hours.

An authorization valid to 2026-03-31 covers services through the end of that day in the
organization's time zone; it has expired from midnight on.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal

from plugins.insurance.authorizations.states import Status

Urgency = Literal["expedited", "standard"]
Event = Literal["at_risk", "overdue"]
EVENTS: tuple[Event, ...] = ("at_risk", "overdue")

EXPEDITED_WINDOW = timedelta(hours=72)
STANDARD_DAYS = 7


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value


def decision_due(submitted_at: datetime, urgency: Urgency, zone: tzinfo) -> datetime:
    """When the payer's decision is due, in UTC."""
    submitted_at = _aware(submitted_at, "submitted_at")
    if urgency == "expedited":
        return (submitted_at + EXPEDITED_WINDOW).astimezone(UTC)
    if urgency != "standard":
        raise ValueError(f"urgency must be expedited or standard, not {urgency!r}")
    local = submitted_at.astimezone(zone)
    # Same wall-clock time seven days later; fold/gap are resolved by zoneinfo (a time skipped by
    # the spring change reads with the offset before it, i.e. one hour later).
    return (local + timedelta(days=STANDARD_DAYS)).astimezone(UTC)


@dataclass(frozen=True)
class DecisionClock:
    """The payer's decision clock of one submission round."""

    started_at: datetime
    due_at: datetime
    at_risk_at: datetime
    stopped_at: datetime | None = None
    """When the decision (or cancellation) arrived; a stopped clock fires nothing."""

    @classmethod
    def of(
        cls, started_at: datetime, due_at: datetime, at_risk_fraction: float, stopped_at: datetime | None = None
    ) -> DecisionClock:
        if not 0 < at_risk_fraction < 1:
            raise ValueError("at_risk_fraction must be between 0 and 1")
        started_at, due_at = _aware(started_at, "started_at"), _aware(due_at, "due_at")
        if due_at <= started_at:
            raise ValueError("due_at must be after started_at")
        at_risk_at = started_at + (due_at - started_at) * at_risk_fraction
        return cls(started_at, due_at, at_risk_at, stopped_at)

    def is_stopped(self, now: datetime) -> bool:
        return self.stopped_at is not None and self.stopped_at <= now

    def is_overdue(self, now: datetime) -> bool:
        return not self.is_stopped(now) and now >= self.due_at


def clock_running(status: Status | str) -> bool:
    """Does the payer still owe a decision in ``status``? (Pended does not stop the clock.)"""
    return status in ("submitted", "pended")


def due_events(clock: DecisionClock, now: datetime, fired: Set[str]) -> list[Event]:
    """The events to fire at ``now``, leaving out those already ``fired``.

    ``at_risk`` from ``at_risk_at`` on, ``overdue`` from ``due_at`` on. Once the decision is
    overdue, a late at-risk warning is noise: only ``overdue`` fires. A stopped clock fires nothing.
    """
    now = _aware(now, "now")
    if clock.is_stopped(now) or "overdue" in fired:
        return []
    if now >= clock.due_at:
        return ["overdue"]
    if now >= clock.at_risk_at and "at_risk" not in fired:
        return ["at_risk"]
    return []


def local_date(now: datetime, zone: tzinfo) -> date:
    """The calendar day ``now`` falls on in ``zone``."""
    return _aware(now, "now").astimezone(zone).date()


def is_expired(valid_to: date | None, now: datetime, zone: tzinfo) -> bool:
    """Has an authorization valid through ``valid_to`` (inclusive, in ``zone``) run out at ``now``?"""
    return valid_to is not None and local_date(now, zone) > valid_to


def expires_at(valid_to: date, zone: tzinfo) -> datetime:
    """The instant (UTC) an authorization valid through ``valid_to`` stops being valid."""
    next_day = datetime.combine(valid_to + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return next_day.astimezone(UTC)
