"""Reminder planning: when each touch of an appointment reminder goes out. Pure, no database, no clock.

A *touch* is one reminder of an appointment, named by its offset before the start (``"72h"``,
``"24h"``, ``"2h"``). :func:`plan_touches` turns an appointment start into one :class:`Touch` per
offset, each either ``send`` at a UTC instant or ``skip`` with a reason. Everything takes ``now``;
the caller stores what was sent. The rules, as a coordinator would read them:

* **Offsets are real elapsed time.** "72 h before" is 72 hours that really pass, also across a
  daylight-saving change (the 72 h touch of a Monday 10:00 appointment after spring forward goes out
  on Friday at 09:00 by the clock). All arithmetic is on UTC instants.
* **A touch whose time has passed is not sent late** (``in_past``). Its time is the one after the
  quiet-hours move: a 2 h touch due at 06:30 and moved to 08:00 is still pending at 07:00, so planning
  again at any moment (the periodic sweep) gives the same plan and never drops a pending touch.
* **The catch-up touch**, the one exception: when even the last touch's time has passed (booked at
  13:00 for 14:30 with a 2 h smallest offset), that touch goes out now instead (or when quiet hours
  end), so a patient booked for this afternoon still gets one reminder. Only the last touch can catch
  up, so there is never more than one immediate touch. It keeps its key, so planning again later (the
  sweep, after the touch went out) yields the same key and the sender's idempotency key suppresses a
  second send. The last touch is the smallest offset's, or, when quiet hours merged it into a larger
  one (below), the one it was merged into: otherwise the merged key would come back as a catch-up
  after the larger touch had been sent, and the patient would get the same reminder twice.
* **Lead time.** Nothing is sent less than ``min_lead`` (default 15 min) before the start, nor at or
  after it. A touch that would be (an appointment booked 10 minutes ahead gets nothing) is skipped:
  ``too_close``, or ``after_appointment`` when it is quiet hours that pushed it there.
* **Quiet hours** are wall-clock times in the *patient's* zone (``21:00-08:00`` crosses midnight;
  ``08:00-09:00`` does not; equal start and end mean no quiet hours, as in
  ``core.notifications.quiet_hours``). An instant is quiet when the patient's clock then shows a time
  inside the window (start inclusive, end exclusive). A touch in quiet hours moves to the first
  instant that is not quiet: the end of the window (:func:`next_allowed`).
* **Daylight saving and quiet hours.** If the window ends at a wall time the clock skips (02:30 on
  spring-forward night in New York), it ends at the first instant after the gap (03:00 EDT). If it ends
  at a wall time that occurs twice (01:30 on fall-back night), it ends at the first occurrence not
  before the touch: a touch at 01:10 EST, in the repeated hour, waits until 01:30 EST. Because quiet is
  defined by what the clock shows, the repeated hour is quiet both times if its wall times are, and a
  window that starts inside the repeated hour (01:20-06:00) is left when the clock falls back to 01:00
  and entered again at the second 01:20.
* **Merging.** Quiet hours can push two touches onto the same instant (3 h and 2 h before a 10:00
  appointment, quiet until 08:00): the larger offset's touch is sent, the other is skipped ``merged``.
  Touches never swap order (moving to the next allowed instant is monotone).

:func:`replan` applies the same rules after a reschedule; its docstring states what happens to
reminders already sent for the old time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence, Set
from datetime import UTC, datetime, time, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

import msgspec

__all__ = [
    "DEFAULT_MIN_LEAD",
    "DEFAULT_OFFSETS",
    "Outcome",
    "SkipReason",
    "Touch",
    "is_quiet",
    "next_allowed",
    "plan_touches",
    "replan",
    "touch_key",
]

Outcome = Literal["send", "skip"]
SkipReason = Literal["in_past", "too_close", "after_appointment", "merged", "already_sent"]
"""Why a touch is not sent.

* ``in_past``: its time (after any quiet-hours move) has passed and it is not the catch-up touch, or
  the appointment has started.
* ``too_close``: it would go out less than ``min_lead`` before the start (no quiet hours involved).
* ``after_appointment``: quiet hours push it to less than ``min_lead`` before the start, or later.
* ``merged``: a larger offset's touch goes out at the same instant.
* ``already_sent``: :func:`replan` for an unchanged time, and this key has been sent.
"""

DEFAULT_OFFSETS: Final[tuple[timedelta, ...]] = (timedelta(hours=72), timedelta(hours=24), timedelta(hours=2))
DEFAULT_MIN_LEAD: Final = timedelta(minutes=15)
_MAX_OFFSET: Final = timedelta(days=366)
_MAX_QUIET_STEPS: Final = 8
""":func:`next_allowed` takes one step per offset change inside a quiet window, and there is at most one."""


class Touch(msgspec.Struct, frozen=True, kw_only=True):
    """One planned reminder of one appointment. All instants are UTC.

    A sender's idempotency key must include ``appointment_start`` as well as ``key`` (and the
    channel): after a reschedule the same key is a different reminder.
    """

    key: str
    """The offset as text (``"72h"``, ``"90m"``); unique within a plan."""
    offset: timedelta
    appointment_start: datetime
    due_at: datetime
    """``appointment_start - offset``: when the touch would go out with no other rule."""
    outcome: Outcome
    send_at: datetime | None = None
    """When to send (``outcome == "send"``); None when skipped."""
    reason: SkipReason | None = None
    """Why it is skipped (``outcome == "skip"``); None when sent."""
    immediate: bool = False
    """The catch-up touch: planned for ``now`` (or the end of quiet hours) because its time had passed."""
    rescheduled: bool = False
    """Set by :func:`replan`: the patient was told another time, so the message should say it changed."""

    @property
    def sends(self) -> bool:
        return self.outcome == "send"


def touch_key(offset: timedelta) -> str:
    """``72h`` for whole hours, ``90m`` for whole minutes, ``90s`` otherwise."""
    seconds = offset // timedelta(seconds=1)
    if offset != timedelta(seconds=seconds):
        raise ValueError(f"offset {offset} is not a whole number of seconds")
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


# -- quiet hours --------------------------------------------------------------------------------


def is_quiet(t: datetime, zone: ZoneInfo, quiet_start: time | None, quiet_end: time | None) -> bool:
    """Whether the patient's clock in ``zone`` shows a quiet time at instant ``t`` (window end exclusive)."""
    window = _window(quiet_start, quiet_end)
    return window is not None and _in_window(_utc(t, "t").astimezone(zone).time(), window)


def next_allowed(t: datetime, zone: ZoneInfo, quiet_start: time | None, quiet_end: time | None) -> datetime:
    """The first instant at or after ``t`` that is not in quiet hours in ``zone``, in UTC.

    ``t`` itself (in UTC) when it is not quiet. Otherwise the clock is followed forward: between two
    UTC-offset changes it runs continuously, so quiet hours end where it reaches the window's end; at a
    change it jumps, and if it lands outside the window (past the end after a spring-forward gap, or
    back before the start in a fall-back fold) quiet hours end right there. This is the rule the module
    describes, and what a minute-by-minute search would find (the tests check exactly that).
    """
    cursor = _utc(t, "t")
    window = _window(quiet_start, quiet_end)
    if window is None:
        return cursor
    start, end = window
    for _ in range(_MAX_QUIET_STEPS):
        local = cursor.astimezone(zone)
        wall = local.replace(tzinfo=None)
        if not _in_window(wall.time(), window):
            return cursor
        day = wall.date()
        if start > end and wall.time() >= start:  # evening part of a window crossing midnight
            day += timedelta(days=1)
        offset = local.utcoffset()
        ends = cursor + (datetime.combine(day, end) - wall)  # where the clock reaches the end at this offset
        if ends.astimezone(zone).utcoffset() == offset:
            return ends
        cursor = _offset_change(cursor, ends, zone)  # the clock jumps before then: look again from there
    raise AssertionError(f"no time outside quiet hours {start}-{end} after {t}")  # pragma: no cover


def _window(quiet_start: time | None, quiet_end: time | None) -> tuple[time, time] | None:
    if quiet_start is None and quiet_end is None:
        return None
    if quiet_start is None or quiet_end is None:
        raise ValueError("quiet_start and quiet_end must both be given, or both be None")
    if quiet_start.tzinfo is not None or quiet_end.tzinfo is not None:
        raise ValueError("quiet hours are wall-clock times: pass times without tzinfo")
    if quiet_start == quiet_end:
        return None
    return quiet_start, quiet_end


def _in_window(clock: time, window: tuple[time, time]) -> bool:
    start, end = window
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end


def _offset_change(after: datetime, before: datetime, zone: ZoneInfo) -> datetime:
    """The first instant in ``(after, before]`` with another UTC offset than ``after`` (UTC instants).

    Zone transitions fall on whole seconds, so a binary search on seconds finds it in about 17 steps
    for a day. Only the first change counts; zones do not change twice within a quiet window.
    """
    offset = after.astimezone(zone).utcoffset()
    low, high = math.floor(after.timestamp()), math.ceil(before.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset:
            low = middle
        else:
            high = middle
    return max(datetime.fromtimestamp(high, UTC), after)


# -- planning -----------------------------------------------------------------------------------


def plan_touches(
    appointment_start: datetime,
    *,
    offsets: Sequence[timedelta] = DEFAULT_OFFSETS,
    now: datetime,
    patient_zone: ZoneInfo,
    quiet_start: time | None,
    quiet_end: time | None,
    min_lead: timedelta = DEFAULT_MIN_LEAD,
) -> list[Touch]:
    """One touch per offset, largest offset first, each ``send`` at a UTC instant or ``skip`` with a reason.

    Guarantees (tested as properties): every send is at or after ``now``, at least ``min_lead`` and
    strictly before the start, never in quiet hours in ``patient_zone``; keys and send instants are
    unique; at most one touch is ``immediate``.
    """
    start = _utc(appointment_start, "appointment_start")
    now = _utc(now, "now")
    ordered = _validated_offsets(offsets, min_lead)
    window = (quiet_start, quiet_end)
    _window(*window)  # validate even when no touch needs it
    regular = {offset: next_allowed(start - offset, patient_zone, *window) for offset in ordered}
    catch_up = max(offset for offset in ordered if regular[offset] == regular[ordered[-1]])
    touches: list[Touch] = []
    taken: set[datetime] = set()
    for offset in ordered:
        key, due = touch_key(offset), start - offset
        base = Touch(key=key, offset=offset, appointment_start=start, due_at=due, outcome="skip")
        if start <= now:
            touches.append(msgspec.structs.replace(base, reason="in_past"))
            continue
        planned, immediate = due, False
        send_at = regular[offset]
        if send_at < now:
            if offset != catch_up:
                touches.append(msgspec.structs.replace(base, reason="in_past"))
                continue
            planned, immediate = now, True  # the catch-up touch
            send_at = next_allowed(planned, patient_zone, *window)
        if send_at >= start or start - send_at < min_lead:
            reason: SkipReason = "after_appointment" if send_at != planned else "too_close"
            touches.append(msgspec.structs.replace(base, reason=reason, immediate=immediate))
            continue
        if send_at in taken:
            touches.append(msgspec.structs.replace(base, reason="merged", immediate=immediate))
            continue
        taken.add(send_at)
        touches.append(msgspec.structs.replace(base, outcome="send", send_at=send_at, immediate=immediate))
    return touches


def replan(
    old: Sequence[Touch],
    new_start: datetime,
    *,
    offsets: Sequence[timedelta] = DEFAULT_OFFSETS,
    now: datetime,
    patient_zone: ZoneInfo,
    quiet_start: time | None,
    quiet_end: time | None,
    min_lead: timedelta = DEFAULT_MIN_LEAD,
    already_sent: Set[str],
) -> list[Touch]:
    """Plan again after the appointment changed (or for a periodic repair); ``old`` is the previous plan.

    ``already_sent`` holds the keys sent for the time of ``old`` (its ``appointment_start``). The rule:

    * **Same time** (``new_start`` equals the old start, e.g. a room change or the periodic sweep):
      a key already sent is never sent again (``already_sent``); everything else is planned as usual.
    * **New time**: the reminders are planned afresh for the new time, as for a new booking. A reminder
      sent for the old time does not count for the new one, because it announced a time that is no
      longer true. So a patient who got the 72 h reminder for Monday and whose appointment moved to
      Wednesday gets the 72 h reminder for Wednesday too. A reminder whose new time has already passed
      is not sent late, even if it was sent for the old time; the one exception is the usual catch-up:
      moved so close that every touch is past (this afternoon), the patient gets one reminder now.
    * After a move, every touch sent is marked ``rescheduled`` when the patient had been sent anything
      for the old time: the message then says "your appointment was rescheduled to ...". A patient who
      heard nothing of the old time gets ordinary reminders.

    The sender's idempotency key includes the appointment start, so a re-sent key is not suppressed.
    """
    starts = {touch.appointment_start for touch in old}
    if len(starts) > 1:
        raise ValueError("old touches belong to different appointment times")
    if already_sent and not starts:
        raise ValueError("already_sent needs the old plan: which time did those reminders announce?")
    touches = plan_touches(
        new_start,
        offsets=offsets,
        now=now,
        patient_zone=patient_zone,
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        min_lead=min_lead,
    )
    old_start = next(iter(starts), None)
    if old_start is None:
        return touches
    if old_start == _utc(new_start, "new_start"):
        return [
            msgspec.structs.replace(touch, outcome="skip", send_at=None, reason="already_sent")
            if touch.key in already_sent
            else touch
            for touch in touches
        ]
    if not already_sent:
        return touches
    return [msgspec.structs.replace(touch, rescheduled=True) if touch.sends else touch for touch in touches]


def _validated_offsets(offsets: Sequence[timedelta], min_lead: timedelta) -> list[timedelta]:
    if not offsets:
        raise ValueError("at least one reminder offset is needed")
    if min_lead < timedelta(0):
        raise ValueError("min_lead must not be negative")
    for offset in offsets:
        if not timedelta(0) < offset <= _MAX_OFFSET:
            raise ValueError(f"offset {offset} must be positive and at most {_MAX_OFFSET.days} days")
        touch_key(offset)
    if len(set(offsets)) != len(offsets):
        raise ValueError(f"duplicate reminder offsets: {sorted(offsets, reverse=True)}")
    return sorted(offsets, reverse=True)


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return value.astimezone(UTC)
