"""Referral SLA clocks: pure value computations on a business calendar, plus exactly-once event logic.

Policy (explicit, because "72 hours" is ambiguous):

* Targets are **business time** of the tenant's calendar: 72 h routine means 72 working hours,
  counted only inside working hours, never on weekends or holidays. For a wall-clock target use
  ``BusinessCalendar.always_open(zone)`` as the calendar: business time then equals elapsed time.
* The clock starts at ``started_at`` (the referral was sent) and stops at ``stopped_at`` (it reached
  its goal state, or left the race: cancelled, rejected). It does not run during pauses (on hold
  waiting on the patient); a pause outside working hours therefore costs nothing.
* ``due_at`` is the deadline: the goal must be reached *before* it. The clock is **breached** from
  ``due_at`` on (elapsed >= target) and **at risk** from ``at_risk_at`` on (elapsed >= fraction x
  target). A clock stopped before ``due_at`` is **met**, otherwise **missed**.
* State precedence: met/missed (stopped) > breached > paused > at_risk > on_track. A breach is
  never hidden by a later pause.

Nothing here reads a clock or a database: every question takes ``now``; the caller stores what fired.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Annotated, Final, Literal

import msgspec

from plugins.referrals.calendar import BusinessCalendar

__all__ = [
    "EVENTS",
    "Pause",
    "Priority",
    "SlaClock",
    "SlaEvent",
    "SlaState",
    "SlaTargets",
    "due_events",
    "next_check_at",
]

Priority = Literal["routine", "urgent", "asap", "stat"]
SlaState = Literal["on_track", "at_risk", "breached", "paused", "met", "missed"]
SlaEvent = Literal["at_risk", "breached"]
EVENTS: Final[tuple[SlaEvent, ...]] = ("at_risk", "breached")
"""In firing order."""

_MAX_HOURS: Final = 24 * 365
TargetHours = Annotated[float, msgspec.Meta(gt=0, le=_MAX_HOURS)]
Fraction = Annotated[float, msgspec.Meta(gt=0, lt=1)]


class SlaTargets(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Per-tenant targets: business hours per priority, and the share of the target that means "at risk"."""

    routine_hours: TargetHours = 72.0
    urgent_hours: TargetHours = 24.0
    asap_hours: TargetHours = 8.0
    stat_hours: TargetHours = 2.0
    at_risk_fraction: Fraction = 0.75

    def __post_init__(self) -> None:
        # msgspec.Meta checks decoded input; this also covers direct construction in code.
        for name in ("routine_hours", "urgent_hours", "asap_hours", "stat_hours"):
            hours = getattr(self, name)
            if not 0 < hours <= _MAX_HOURS:
                raise ValueError(f"{name} must be more than 0 and at most {_MAX_HOURS}, got {hours}")
        if not 0 < self.at_risk_fraction < 1:
            raise ValueError(f"at_risk_fraction must be between 0 and 1 (exclusive), got {self.at_risk_fraction}")

    def target(self, priority: str) -> timedelta:
        """The business-time target of ``priority``."""
        if priority not in ("routine", "urgent", "asap", "stat"):
            raise ValueError(f"unknown priority {priority!r}")
        return timedelta(hours=getattr(self, f"{priority}_hours"))

    def clock(
        self,
        priority: str,
        calendar: BusinessCalendar,
        started_at: datetime,
        pauses: Iterable[Pause] = (),
        stopped_at: datetime | None = None,
    ) -> SlaClock:
        return SlaClock(
            calendar=calendar,
            started_at=started_at,
            target=self.target(priority),
            pauses=tuple(pauses),
            stopped_at=stopped_at,
            at_risk_fraction=self.at_risk_fraction,
        )


@dataclass(frozen=True, slots=True)
class Pause:
    """A stretch during which the clock does not run; ``end=None``: still paused. Stored in UTC."""

    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _utc(self.start, "pause start"))
        if self.end is not None:
            object.__setattr__(self, "end", _utc(self.end, "pause end"))
            if self.end < self.start:
                raise ValueError(f"pause ends ({self.end}) before it starts ({self.start})")


_Run = tuple[datetime, datetime | None]


@dataclass(frozen=True)
class SlaClock:
    """One referral's SLA clock as a value: ask it about any instant ``now``.

    Instants are normalised to UTC on the way in (and returned in UTC): datetimes sharing a zone
    compare by wall clock, which misorders the repeated hour of a fall-back night.
    """

    calendar: BusinessCalendar
    started_at: datetime
    target: timedelta
    """Business time allowed from start to goal."""
    pauses: tuple[Pause, ...] = ()
    stopped_at: datetime | None = None
    at_risk_fraction: float = 0.75
    _paused: tuple[_Run, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "started_at", _utc(self.started_at, "started_at"))
        if self.stopped_at is not None:
            object.__setattr__(self, "stopped_at", _utc(self.stopped_at, "stopped_at"))
            if self.stopped_at < self.started_at:
                raise ValueError("stopped_at is before started_at")
        if self.target <= timedelta(0):
            raise ValueError("target must be positive")
        if not 0 < self.at_risk_fraction < 1:
            raise ValueError("at_risk_fraction must be between 0 and 1 (exclusive)")
        object.__setattr__(self, "_paused", _normalise(self.pauses, self.started_at, self.stopped_at))

    # -- instants --------------------------------------------------------------------------------

    @property
    def at_risk_threshold(self) -> timedelta:
        return self.target * self.at_risk_fraction

    @cached_property
    def due_at(self) -> datetime | None:
        """When the target is used up, given the pauses known; None while an open pause holds it."""
        return self._when_elapsed(self.target)

    @cached_property
    def at_risk_at(self) -> datetime | None:
        """When the at-risk share of the target is used up; None while an open pause holds it."""
        return self._when_elapsed(self.at_risk_threshold)

    def _when_elapsed(self, amount: timedelta) -> datetime | None:
        """Walk the running stretches between pauses until ``amount`` of business time has passed."""
        cursor, needed = self.started_at, amount
        for pause_start, pause_end in self._paused:
            candidate = self.calendar.add_business_time(cursor, needed)
            if candidate <= pause_start:
                return candidate
            needed -= self.calendar.business_time_between(cursor, pause_start)
            if pause_end is None:
                return None
            cursor = pause_end
        return self.calendar.add_business_time(cursor, needed)

    # -- amounts ---------------------------------------------------------------------------------

    def elapsed(self, now: datetime) -> timedelta:
        """Business time counted by ``now``: from start, without pauses, frozen once stopped."""
        now = _utc(now, "now")
        until = now if self.stopped_at is None else min(now, self.stopped_at)
        total, cursor = timedelta(0), self.started_at
        if until <= cursor:
            return total
        for pause_start, pause_end in self._paused:
            if pause_start >= until:
                break
            total += self.calendar.business_time_between(cursor, pause_start)
            if pause_end is None or pause_end >= until:
                return total
            cursor = pause_end
        return total + self.calendar.business_time_between(cursor, until)

    def remaining(self, now: datetime) -> timedelta:
        """Business time left before the deadline; negative (business time overdue) once breached."""
        return self.target - self.elapsed(now)

    def elapsed_fraction(self, now: datetime) -> float:
        """Share of the target used, 0 at start, 1 at ``due_at``, above 1 when overdue."""
        return self.elapsed(now) / self.target

    def is_paused(self, now: datetime) -> bool:
        now = _utc(now, "now")
        return any(start <= now and (end is None or now < end) for start, end in self._paused)

    def is_stopped(self, now: datetime) -> bool:
        now = _utc(now, "now")
        return self.stopped_at is not None and now >= self.stopped_at

    def state(self, now: datetime) -> SlaState:
        """The clock's state at ``now`` (precedence in the module docstring)."""
        now = _utc(now, "now")
        if self.stopped_at is not None and now >= self.stopped_at:
            return "met" if self.elapsed(self.stopped_at) < self.target else "missed"
        elapsed = self.elapsed(now)
        if elapsed >= self.target:
            return "breached"
        if self.is_paused(now):
            return "paused"
        return "at_risk" if elapsed >= self.at_risk_threshold else "on_track"


def due_events(clock: SlaClock, now: datetime, already_fired: Set[str]) -> list[SlaEvent]:
    """The events to fire at ``now``, in order, leaving out those in ``already_fired``.

    The caller records what fired under a unique key and passes it back, so nothing fires twice.
    ``at_risk`` never fires after ``breached`` (if only breached is recorded, nothing is due); when
    both thresholds are crossed at once both are returned, at_risk first. A stopped clock fires
    nothing: its referral has left the race and a late task would only be noise.
    """
    if clock.is_stopped(now) or "breached" in already_fired:
        return []
    elapsed = clock.elapsed(now)
    thresholds: dict[SlaEvent, timedelta] = {"at_risk": clock.at_risk_threshold, "breached": clock.target}
    return [event for event in EVENTS if event not in already_fired and elapsed >= thresholds[event]]


def next_check_at(clock: SlaClock, now: datetime, already_fired: Set[str]) -> datetime | None:
    """When ``due_events`` will next have something to return (``now`` if it has already).

    None when nothing more can fire on what is known: stopped, both events fired, or held by an open
    pause. The caller re-plans whenever the clock changes (pause, resume, stop, new target).
    """
    if clock.is_stopped(now) or "breached" in already_fired:
        return None
    now = _utc(now, "now")
    instants = {"at_risk": clock.at_risk_at, "breached": clock.due_at}
    pending = [
        instant
        for event, instant in instants.items()
        if event not in already_fired
        and instant is not None
        and (clock.stopped_at is None or instant < clock.stopped_at)
    ]
    return max(min(pending), now) if pending else None


def _normalise(pauses: Iterable[Pause], started_at: datetime, stopped_at: datetime | None) -> tuple[_Run, ...]:
    """Pauses clipped to [start, stop], sorted, overlapping ones merged; an open pause swallows later ones."""
    runs: list[_Run] = []
    for pause in sorted(pauses, key=lambda p: p.start):
        start = max(pause.start, started_at)
        end = pause.end
        if stopped_at is not None:
            if start >= stopped_at:
                continue
            end = stopped_at if end is None else min(end, stopped_at)
        if end is not None and end <= start:
            continue
        if runs:
            previous_start, previous_end = runs[-1]
            if previous_end is None:
                continue
            if start <= previous_end:
                runs[-1] = (previous_start, None if end is None else max(previous_end, end))
                continue
        runs.append((start, end))
    return tuple(runs)


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return value.astimezone(UTC)
