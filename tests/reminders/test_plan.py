"""Reminder planning: offsets, quiet hours in the patient's zone, daylight saving, catch-up, merging, reschedules.

Pure: no database, no app. Expected instants are worked out by hand in the tables (comments show the
arithmetic); the property tests check the guarantees on random appointments around every transition,
and compare ``next_allowed`` with a brute-force minute stepper that knows nothing of gaps and folds.

2025 transitions used: New York/Chicago spring forward 9 March 02:00 -> 03:00 and fall back
2 November 02:00 -> 01:00; Madrid 30 March 02:00 -> 03:00 and 26 October 03:00 -> 02:00 (both at
01:00 UTC); Lord Howe, which moves by 30 minutes, 5 October 02:00 -> 02:30 (15:30 UTC the day before)
and 6 April 02:00 -> 01:30 (15:00 UTC the day before).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.reminders.plan import (
    DEFAULT_OFFSETS,
    Touch,
    is_quiet,
    next_allowed,
    plan_touches,
    replan,
    touch_key,
)

NY, CHICAGO, MADRID, KOLKATA, LORD_HOWE = (
    "America/New_York",
    "America/Chicago",
    "Europe/Madrid",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
)
ZONES = (NY, CHICAGO, MADRID, KOLKATA, LORD_HOWE, "UTC")
NIGHT = (time(21), time(8))
NO_QUIET: tuple[time | None, time | None] = (None, None)


def at(text: str, zone: str = NY) -> datetime:
    """A local wall time; for instants in a fold the tables use ``utc()`` instead."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


def minutes(value: int) -> timedelta:
    return timedelta(minutes=value)


Expected = datetime | tuple[str, datetime] | str
"""A send instant; ``("now", instant)`` for the catch-up touch; or the skip reason."""


def summary(touches: list[Touch]) -> dict[str, Expected]:
    result: dict[str, Expected] = {}
    for touch in touches:
        if touch.send_at is None:
            assert touch.reason is not None
            result[touch.key] = touch.reason
        elif touch.immediate:
            result[touch.key] = ("now", touch.send_at)
        else:
            result[touch.key] = touch.send_at
    return result


@dataclass(frozen=True)
class Case:
    id: str
    start: datetime
    now: datetime
    expected: dict[str, Expected]
    zone: str = NY
    quiet: tuple[time | None, time | None] = NIGHT
    offsets: tuple[timedelta, ...] = DEFAULT_OFFSETS
    min_lead: timedelta = field(default=minutes(15))

    def plan(self) -> list[Touch]:
        return plan_touches(
            self.start,
            offsets=self.offsets,
            now=self.now,
            patient_zone=ZoneInfo(self.zone),
            quiet_start=self.quiet[0],
            quiet_end=self.quiet[1],
            min_lead=self.min_lead,
        )


# 2025-01-15 is a Wednesday.
PLAN_CASES = [
    Case(
        "plain three touches",
        start=at("2025-01-15 14:00"),
        now=at("2025-01-01 00:00"),
        expected={"72h": at("2025-01-12 14:00"), "24h": at("2025-01-14 14:00"), "2h": at("2025-01-15 12:00")},
    ),
    # Monday 10:00 EDT = 14:00 UTC; 72 h earlier is Friday 14:00 UTC = 09:00 EST by the clock.
    Case(
        "72 h across spring forward are real hours",
        start=at("2025-03-10 10:00"),
        now=at("2025-03-01 00:00"),
        expected={"72h": at("2025-03-07 09:00"), "24h": at("2025-03-09 10:00"), "2h": at("2025-03-10 08:00")},
    ),
    # Monday 10:00 EST = 15:00 UTC; 72 h earlier is Friday 15:00 UTC = 11:00 EDT.
    Case(
        "72 h across fall back are real hours",
        start=at("2025-11-03 10:00"),
        now=at("2025-10-25 00:00"),
        expected={"72h": at("2025-10-31 11:00"), "24h": at("2025-11-02 10:00"), "2h": at("2025-11-03 08:00")},
    ),
    # Sunday 09:00 CDT = 14:00 UTC. 24 h before: Saturday 14:00 UTC = 08:00 CST (just allowed).
    # 2 h before: 12:00 UTC = 07:00 CDT, quiet until 08:00 CDT = 13:00 UTC.
    Case(
        "chicago on spring-forward day",
        start=at("2025-03-09 09:00", CHICAGO),
        now=at("2025-03-01 00:00", CHICAGO),
        zone=CHICAGO,
        expected={"72h": utc("2025-03-06 14:00"), "24h": utc("2025-03-08 14:00"), "2h": utc("2025-03-09 13:00")},
    ),
    Case(
        "2 h touch in the night moves to 08:00",
        start=at("2025-01-15 09:00"),
        now=at("2025-01-01 00:00"),
        expected={"72h": at("2025-01-12 09:00"), "24h": at("2025-01-14 09:00"), "2h": at("2025-01-15 08:00")},
    ),
    Case(
        "early appointment: 2 h touch would land after it",
        start=at("2025-01-16 07:30"),
        now=at("2025-01-01 00:00"),
        expected={"72h": at("2025-01-13 08:00"), "24h": at("2025-01-15 08:00"), "2h": "after_appointment"},
    ),
    Case(
        "quiet end 15 min before the start still leaves min_lead",
        start=at("2025-01-16 08:15"),
        now=at("2025-01-01 00:00"),
        expected={"72h": at("2025-01-13 08:15"), "24h": at("2025-01-15 08:15"), "2h": at("2025-01-16 08:00")},
    ),
    Case(
        "06:00 appointment: every touch is moved, the last one too late",
        start=at("2025-01-15 06:00"),
        now=at("2025-01-01 00:00"),
        expected={"72h": at("2025-01-12 08:00"), "24h": at("2025-01-14 08:00"), "2h": "after_appointment"},
    ),
    Case(
        "madrid siesta window does not cross midnight",
        start=at("2025-02-12 16:00", MADRID),
        now=at("2025-02-01 00:00", MADRID),
        zone=MADRID,
        quiet=(time(14), time(17)),
        expected={
            "72h": at("2025-02-09 17:00", MADRID),
            "24h": at("2025-02-11 17:00", MADRID),
            "2h": "after_appointment",
        },
    ),
    # 09:30 IST = 04:00 UTC; 2 h before is 07:30 IST, quiet until 08:00 IST = 02:30 UTC.
    Case(
        "kolkata half-hour offset",
        start=at("2025-01-15 09:30", KOLKATA),
        now=at("2025-01-01 00:00", KOLKATA),
        zone=KOLKATA,
        expected={"72h": utc("2025-01-12 04:00"), "24h": utc("2025-01-14 04:00"), "2h": utc("2025-01-15 02:30")},
    ),
    # 08:00 New York = 13:00 UTC = 14:00 Madrid. In New York the 2 h touch is at 06:00, quiet until the
    # start; in Madrid it is at 12:00 and fine. The patient's zone decides, not the clinic's.
    Case(
        "patient in new york",
        start=at("2025-01-15 08:00"),
        now=at("2025-01-01 00:00"),
        expected={"72h": at("2025-01-12 08:00"), "24h": at("2025-01-14 08:00"), "2h": "after_appointment"},
    ),
    Case(
        "same appointment, patient in madrid",
        start=at("2025-01-15 08:00"),
        now=at("2025-01-01 00:00"),
        zone=MADRID,
        expected={"72h": utc("2025-01-12 13:00"), "24h": utc("2025-01-14 13:00"), "2h": utc("2025-01-15 11:00")},
    ),
    # -- booked late ------------------------------------------------------------------------------
    Case(
        "booked 90 minutes ahead: one touch now",
        start=at("2025-01-15 14:30"),
        now=at("2025-01-15 13:00"),
        expected={"72h": "in_past", "24h": "in_past", "2h": ("now", at("2025-01-15 13:00"))},
    ),
    Case(
        "booked 30 hours ahead: the 72 h touch is simply past",
        start=at("2025-01-16 14:00"),
        now=at("2025-01-15 08:00"),
        expected={"72h": "in_past", "24h": at("2025-01-15 14:00"), "2h": at("2025-01-16 12:00")},
    ),
    Case(
        "booked 10 minutes ahead: nothing",
        start=at("2025-01-15 14:30"),
        now=at("2025-01-15 14:20"),
        expected={"72h": "in_past", "24h": "in_past", "2h": "too_close"},
    ),
    Case(
        "booked exactly min_lead ahead: one touch",
        start=at("2025-01-15 14:30"),
        now=at("2025-01-15 14:15"),
        expected={"72h": "in_past", "24h": "in_past", "2h": ("now", at("2025-01-15 14:15"))},
    ),
    Case(
        "booked 1 minute ahead with no minimum lead",
        start=at("2025-01-15 14:30"),
        now=at("2025-01-15 14:29"),
        min_lead=timedelta(0),
        expected={"72h": "in_past", "24h": "in_past", "2h": ("now", at("2025-01-15 14:29"))},
    ),
    Case(
        "booked at 22:00 for 07:30: quiet hours win, nothing",
        start=at("2025-01-16 07:30"),
        now=at("2025-01-15 22:00"),
        expected={"72h": "in_past", "24h": "in_past", "2h": "after_appointment"},
    ),
    Case(
        "booked at 07:00 for 08:30: the 2 h touch waits for 08:00, it is not past",
        start=at("2025-01-15 08:30"),
        now=at("2025-01-15 07:00"),
        expected={"72h": "in_past", "24h": "in_past", "2h": at("2025-01-15 08:00")},
    ),
    Case(
        "2 h touch due exactly now is a normal touch",
        start=at("2025-01-15 15:00"),
        now=at("2025-01-15 13:00"),
        expected={"72h": "in_past", "24h": "in_past", "2h": at("2025-01-15 13:00")},
    ),
    # Due 11:30, before the 12:00-13:00 lunch window; booked at 12:10 the catch-up waits for 13:00.
    Case(
        "catch-up touch booked during quiet hours waits for their end",
        start=at("2025-01-15 13:30"),
        now=at("2025-01-15 12:10"),
        quiet=(time(12), time(13)),
        expected={"72h": "in_past", "24h": "in_past", "2h": ("now", at("2025-01-15 13:00"))},
    ),
    Case(
        "catch-up touch booked at 21:30 for 22:45: quiet hours win",
        start=at("2025-01-15 22:45"),
        now=at("2025-01-15 21:30"),
        expected={"72h": "in_past", "24h": "in_past", "2h": "after_appointment"},
    ),
    Case(
        "moved 24 h touch is pending during the quiet hours that moved it",
        start=at("2025-01-16 06:00"),
        now=at("2025-01-15 07:00"),
        expected={"72h": "in_past", "24h": at("2025-01-15 08:00"), "2h": "after_appointment"},
    ),
    Case(
        "appointment already started",
        start=at("2025-01-15 14:00"),
        now=at("2025-01-15 14:00"),
        expected={"72h": "in_past", "24h": "in_past", "2h": "in_past"},
    ),
    # -- merging ----------------------------------------------------------------------------------
    Case(
        "3 h and 2 h both land on 08:00",
        start=at("2025-01-15 10:00"),
        now=at("2025-01-01 00:00"),
        offsets=(hours(3), hours(2)),
        expected={"3h": at("2025-01-15 08:00"), "2h": "merged"},
    ),
    Case(
        "three touches merge into the largest",
        start=at("2025-01-15 09:30"),
        now=at("2025-01-01 00:00"),
        offsets=(hours(2), hours(4), hours(3)),
        expected={"4h": at("2025-01-15 08:00"), "3h": "merged", "2h": "merged"},
    ),
    # After 08:00 the 2 h touch is past and was merged into the 3 h one, which went out at 08:00: the
    # catch-up is the 3 h touch (its key is deduplicated by the sender), never a second reminder "2h".
    Case(
        "merged touches: the catch-up keeps the larger key",
        start=at("2025-01-15 10:00"),
        now=at("2025-01-15 08:30"),
        offsets=(hours(3), hours(2)),
        expected={"3h": ("now", at("2025-01-15 08:30")), "2h": "in_past"},
    ),
    Case(
        "no merge when only one reaches the quiet end",
        start=at("2025-01-15 10:30"),
        now=at("2025-01-01 00:00"),
        offsets=(hours(3), hours(2)),
        expected={"3h": at("2025-01-15 08:00"), "2h": at("2025-01-15 08:30")},
    ),
    # -- other settings ---------------------------------------------------------------------------
    Case(
        "no quiet hours",
        start=at("2025-01-15 02:00"),
        now=at("2025-01-01 00:00"),
        quiet=NO_QUIET,
        expected={"72h": at("2025-01-12 02:00"), "24h": at("2025-01-14 02:00"), "2h": at("2025-01-15 00:00")},
    ),
    Case(
        "equal start and end mean no quiet hours",
        start=at("2025-01-15 02:00"),
        now=at("2025-01-01 00:00"),
        quiet=(time(22), time(22)),
        expected={"72h": at("2025-01-12 02:00"), "24h": at("2025-01-14 02:00"), "2h": at("2025-01-15 00:00")},
    ),
    Case(
        "an offset shorter than min_lead is never sent",
        start=at("2025-01-15 14:00"),
        now=at("2025-01-01 00:00"),
        offsets=(hours(24), minutes(10)),
        expected={"24h": at("2025-01-14 14:00"), "10m": "too_close"},
    ),
    Case(
        "minute offsets",
        start=at("2025-01-15 14:00"),
        now=at("2025-01-01 00:00"),
        offsets=(minutes(90), minutes(30)),
        expected={"90m": at("2025-01-15 12:30"), "30m": at("2025-01-15 13:30")},
    ),
]


@pytest.mark.parametrize("case", PLAN_CASES, ids=[case.id for case in PLAN_CASES])
def test_plan_touches(case: Case) -> None:
    touches = case.plan()
    assert summary(touches) == case.expected
    assert [touch.key for touch in touches] == list(case.expected)  # largest offset first
    for touch in touches:
        assert touch.appointment_start == case.start
        # In UTC: subtracting from a New York datetime would count wall-clock hours, not real ones.
        assert touch.due_at == case.start.astimezone(UTC) - touch.offset
        for instant in (touch.send_at, touch.appointment_start, touch.due_at):
            assert instant is None or instant.tzinfo is UTC


# -- next_allowed across daylight saving ---------------------------------------------------------

NEXT_CASES = [
    # id, zone, quiet window, instant, expected
    ("not quiet: unchanged", NY, NIGHT, at("2025-01-15 12:00"), at("2025-01-15 12:00")),
    ("window end is allowed", NY, NIGHT, at("2025-01-15 08:00"), at("2025-01-15 08:00")),
    ("window start is quiet", NY, NIGHT, at("2025-01-15 21:00"), at("2025-01-16 08:00")),
    ("after midnight", NY, NIGHT, at("2025-01-15 03:00"), at("2025-01-15 08:00")),
    ("before midnight", NY, NIGHT, at("2025-01-15 23:59"), at("2025-01-16 08:00")),
    ("window inside a day", NY, (time(12), time(13)), at("2025-01-15 12:30"), at("2025-01-15 13:00")),
    ("new year's eve", NY, NIGHT, at("2025-12-31 22:00"), at("2026-01-01 08:00")),
    # The night of spring forward is an hour shorter: 22:00 EST to 08:00 EDT is 9 real hours.
    ("spring-forward night", NY, NIGHT, at("2025-03-08 22:00"), at("2025-03-09 08:00")),
    ("fall-back night", NY, NIGHT, at("2025-11-01 22:00"), at("2025-11-02 08:00")),
    # Quiet until 02:30, which New York skips on 9 March: it ends when the clock jumps to 03:00 EDT.
    ("end in the gap", NY, (time(22), time(2, 30)), at("2025-03-09 01:30"), utc("2025-03-09 07:00")),
    ("start in the gap", NY, (time(2, 30), time(6)), at("2025-03-09 01:59"), at("2025-03-09 01:59")),
    (
        "just after the gap, window started in it",
        NY,
        (time(2, 30), time(6)),
        utc("2025-03-09 07:00"),
        at("2025-03-09 06:00"),
    ),
    # Quiet until 01:30, which happens twice on 2 November (05:30 and 06:30 UTC).
    ("end in the fold, first pass", NY, (time(22), time(1, 30)), utc("2025-11-02 04:50"), utc("2025-11-02 05:30")),
    ("end in the fold, second pass", NY, (time(22), time(1, 30)), utc("2025-11-02 06:10"), utc("2025-11-02 06:30")),
    # Quiet from 01:20: at the change the clock falls back to 01:00, outside the window, until 01:20 EST.
    (
        "fold leaves a window that starts in it",
        NY,
        (time(1, 20), time(6)),
        utc("2025-11-02 05:40"),
        utc("2025-11-02 06:00"),
    ),
    ("fold, window entered again", NY, (time(1, 20), time(6)), utc("2025-11-02 06:20"), at("2025-11-02 06:00")),
    ("allowed between the two 01:30s", NY, (time(22), time(1, 30)), utc("2025-11-02 05:40"), utc("2025-11-02 05:40")),
    ("madrid end in the gap", MADRID, (time(22), time(2, 30)), utc("2025-03-30 00:30"), utc("2025-03-30 01:00")),
    ("madrid fold, first pass", MADRID, (time(21), time(2, 30)), utc("2025-10-26 00:10"), utc("2025-10-26 00:30")),
    ("madrid fold, second pass", MADRID, (time(21), time(2, 30)), utc("2025-10-26 01:10"), utc("2025-10-26 01:30")),
    # Lord Howe skips 02:00-02:30 on 5 October: quiet until 02:15 ends at 02:30 +11 = 15:30 UTC.
    ("lord howe 30 min gap", LORD_HOWE, (time(21), time(2, 15)), utc("2025-10-04 14:30"), utc("2025-10-04 15:30")),
    # and repeats 01:30-02:00 on 6 April: 01:35 +10:30 (15:05 UTC) waits for 01:45 +10:30.
    (
        "lord howe fold, second pass",
        LORD_HOWE,
        (time(21), time(1, 45)),
        utc("2025-04-05 15:05"),
        utc("2025-04-05 15:15"),
    ),
    (
        "lord howe fold, first pass",
        LORD_HOWE,
        (time(21), time(1, 45)),
        utc("2025-04-05 14:35"),
        utc("2025-04-05 14:45"),
    ),
    ("kolkata", KOLKATA, NIGHT, utc("2025-01-15 00:00"), utc("2025-01-15 02:30")),
    # The only allowed quarter hour, 02:30-02:45, is skipped on spring-forward night: the next day's.
    (
        "allowed time swallowed by the gap",
        NY,
        (time(2, 45), time(2, 30)),
        at("2025-03-09 01:00"),
        at("2025-03-10 02:30"),
    ),
]


@pytest.mark.parametrize(
    ("zone", "quiet", "instant", "expected"),
    [pytest.param(z, q, i, e, id=name) for name, z, q, i, e in NEXT_CASES],
)
def test_next_allowed(zone: str, quiet: tuple[time, time], instant: datetime, expected: datetime) -> None:
    result = next_allowed(instant, ZoneInfo(zone), *quiet)
    assert result == expected
    assert result.tzinfo is UTC
    assert not is_quiet(result, ZoneInfo(zone), *quiet)


@pytest.mark.parametrize(
    ("instant", "quiet", "expected"),
    [
        (at("2025-01-15 20:59"), NIGHT, False),
        (at("2025-01-15 21:00"), NIGHT, True),
        (at("2025-01-16 07:59"), NIGHT, True),
        (at("2025-01-16 08:00"), NIGHT, False),
        (at("2025-01-15 12:00"), (time(12), time(13)), True),
        (at("2025-01-15 13:00"), (time(12), time(13)), False),
        (at("2025-01-15 03:00"), NO_QUIET, False),
        (utc("2025-11-02 05:40"), (time(1, 20), time(6)), True),  # 01:40 EDT
        (utc("2025-11-02 06:10"), (time(1, 20), time(6)), False),  # 01:10 EST, the clock fell back
    ],
)
def test_is_quiet(instant: datetime, quiet: tuple[time | None, time | None], expected: bool) -> None:
    assert is_quiet(instant, ZoneInfo(NY), *quiet) is expected


def test_the_dst_resolution_matters_for_a_whole_plan() -> None:
    # 2 h touch at 01:10 EST in the repeated hour, quiet until 01:30: sent at the second 01:30, which is
    # after the touch, never at the first 01:30 (an hour in the past by then).
    touches = plan_touches(
        utc("2025-11-02 08:10"),
        offsets=[hours(2)],
        now=utc("2025-11-01 00:00"),
        patient_zone=ZoneInfo(NY),
        quiet_start=time(22),
        quiet_end=time(1, 30),
    )
    assert summary(touches) == {"2h": utc("2025-11-02 06:30")}


# -- reschedule ---------------------------------------------------------------------------------


def plan_for(start: datetime, now: datetime, **kwargs: object) -> list[Touch]:
    return plan_touches(start, now=now, patient_zone=ZoneInfo(NY), quiet_start=NIGHT[0], quiet_end=NIGHT[1], **kwargs)  # type: ignore[arg-type]


def replan_for(old_start: datetime, new_start: datetime, now: datetime, sent: set[str]) -> list[Touch]:
    old = plan_for(old_start, now=old_start - timedelta(days=30))
    return replan(
        old,
        new_start,
        now=now,
        patient_zone=ZoneInfo(NY),
        quiet_start=NIGHT[0],
        quiet_end=NIGHT[1],
        already_sent=sent,
    )


# 2025-01-13 is a Monday.
RESCHEDULE_CASES = [
    # id, old start, new start, now, sent for the old time, expected, rescheduled keys
    (
        "moved two days later after the 72 h touch: new 72 h touch",
        at("2025-01-13 10:00"),
        at("2025-01-15 10:00"),
        at("2025-01-11 12:00"),
        {"72h"},
        {"72h": at("2025-01-12 10:00"), "24h": at("2025-01-14 10:00"), "2h": at("2025-01-15 08:00")},
        {"72h", "24h", "2h"},
    ),
    (
        "moved later the same day, between the 24 h and 2 h touches",
        at("2025-01-13 10:00"),
        at("2025-01-13 15:00"),
        at("2025-01-12 12:00"),
        {"72h", "24h"},
        {"72h": "in_past", "24h": at("2025-01-12 15:00"), "2h": at("2025-01-13 13:00")},
        {"24h", "2h"},
    ),
    (
        "moved to this afternoon: one rescheduled touch now",
        at("2025-01-14 10:00"),
        at("2025-01-13 13:30"),
        at("2025-01-13 12:00"),
        {"72h"},
        {"72h": "in_past", "24h": "in_past", "2h": ("now", at("2025-01-13 12:00"))},
        {"2h"},
    ),
    (
        "moved 15 minutes earlier after the 2 h touch: told again, once",
        at("2025-01-13 10:00"),
        at("2025-01-13 09:45"),
        at("2025-01-13 08:30"),
        {"72h", "24h", "2h"},
        {"72h": "in_past", "24h": "in_past", "2h": ("now", at("2025-01-13 08:30"))},
        {"2h"},
    ),
    (
        "moved to 10 minutes from now: nothing more can be done",
        at("2025-01-13 10:00"),
        at("2025-01-13 08:40"),
        at("2025-01-13 08:30"),
        {"72h", "24h", "2h"},
        {"72h": "in_past", "24h": "in_past", "2h": "too_close"},
        set(),
    ),
    (
        "moved before anything was sent: ordinary reminders",
        at("2025-01-20 10:00"),
        at("2025-01-22 10:00"),
        at("2025-01-13 12:00"),
        set(),
        {"72h": at("2025-01-19 10:00"), "24h": at("2025-01-21 10:00"), "2h": at("2025-01-22 08:00")},
        set(),
    ),
    (
        "same time (sweep): sent keys are not sent again",
        at("2025-01-13 10:00"),
        at("2025-01-13 10:00"),
        at("2025-01-11 12:00"),
        {"72h"},
        {"72h": "already_sent", "24h": at("2025-01-12 10:00"), "2h": at("2025-01-13 08:00")},
        set(),
    ),
    (
        "same time: the catch-up touch already went out",
        at("2025-01-13 10:00"),
        at("2025-01-13 10:00"),
        at("2025-01-13 09:00"),
        {"2h"},
        {"72h": "in_past", "24h": "in_past", "2h": "already_sent"},
        set(),
    ),
    (
        "same instant written in another zone is the same time",
        at("2025-01-13 10:00"),
        at("2025-01-13 16:00", MADRID),
        at("2025-01-11 12:00"),
        {"72h"},
        {"72h": "already_sent", "24h": at("2025-01-12 10:00"), "2h": at("2025-01-13 08:00")},
        set(),
    ),
]


@pytest.mark.parametrize(
    ("old_start", "new_start", "now", "sent", "expected", "rescheduled"),
    [pytest.param(o, n, w, s, e, r, id=i) for i, o, n, w, s, e, r in RESCHEDULE_CASES],
)
def test_replan(
    old_start: datetime,
    new_start: datetime,
    now: datetime,
    sent: set[str],
    expected: dict[str, Expected],
    rescheduled: set[str],
) -> None:
    touches = replan_for(old_start, new_start, now, sent)
    assert summary(touches) == expected
    assert {touch.key for touch in touches if touch.rescheduled} == rescheduled
    assert all(touch.appointment_start == new_start for touch in touches)


def test_replan_with_no_old_plan_is_a_fresh_plan() -> None:
    now, start = at("2025-01-01 00:00"), at("2025-01-15 14:00")
    fresh = replan([], start, now=now, patient_zone=ZoneInfo(NY), quiet_start=None, quiet_end=None, already_sent=set())
    assert fresh == plan_touches(start, now=now, patient_zone=ZoneInfo(NY), quiet_start=None, quiet_end=None)


@pytest.mark.parametrize(
    ("old", "sent", "message"),
    [
        ([], {"72h"}, "needs the old plan"),
        (
            [*plan_for(at("2025-01-13 10:00"), at("2025-01-01")), *plan_for(at("2025-01-14 10:00"), at("2025-01-01"))],
            set(),
            "different appointment times",
        ),
    ],
)
def test_replan_rejects_inconsistent_input(old: list[Touch], sent: set[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replan(
            old,
            at("2025-01-15 10:00"),
            now=at("2025-01-02"),
            patient_zone=ZoneInfo(NY),
            quiet_start=None,
            quiet_end=None,
            already_sent=sent,
        )


# -- validation and helpers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: plan_for(datetime(2025, 1, 15, 10), at("2025-01-01")), "timezone-aware"),
        (lambda: plan_for(at("2025-01-15 10:00"), datetime(2025, 1, 1)), "timezone-aware"),
        (lambda: plan_for(at("2025-01-15 10:00"), at("2025-01-01"), offsets=[]), "at least one"),
        (lambda: plan_for(at("2025-01-15 10:00"), at("2025-01-01"), offsets=[hours(0)]), "positive"),
        (lambda: plan_for(at("2025-01-15 10:00"), at("2025-01-01"), offsets=[-hours(2)]), "positive"),
        (lambda: plan_for(at("2025-01-15 10:00"), at("2025-01-01"), offsets=[hours(24 * 400)]), "at most"),
        (lambda: plan_for(at("2025-01-15 10:00"), at("2025-01-01"), offsets=[hours(2), hours(2)]), "duplicate"),
        (lambda: plan_for(at("2025-01-15 10:00"), at("2025-01-01"), offsets=[hours(2), minutes(120)]), "duplicate"),
        (lambda: plan_for(at("2025-01-15 10:00"), at("2025-01-01"), min_lead=-minutes(1)), "negative"),
        (
            lambda: plan_for(at("2025-01-15 10:00"), at("2025-01-01"), offsets=[timedelta(microseconds=1)]),
            "whole number of seconds",
        ),
        (
            lambda: plan_touches(
                at("2025-01-15"), now=at("2025-01-01"), patient_zone=ZoneInfo(NY), quiet_start=time(21), quiet_end=None
            ),
            "both",
        ),
        (
            lambda: plan_touches(
                at("2025-01-15"),
                now=at("2025-01-01"),
                patient_zone=ZoneInfo(NY),
                quiet_start=time(21, tzinfo=UTC),
                quiet_end=time(8),
            ),
            "without tzinfo",
        ),
        (lambda: next_allowed(datetime(2025, 1, 1), ZoneInfo(NY), *NIGHT), "timezone-aware"),
    ],
)
def test_bad_input_is_rejected(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    ("offset", "key"),
    [(hours(72), "72h"), (hours(2), "2h"), (minutes(90), "90m"), (minutes(120), "2h"), (timedelta(seconds=90), "90s")],
)
def test_touch_key(offset: timedelta, key: str) -> None:
    assert touch_key(offset) == key


def test_touches_round_trip_as_json() -> None:
    touches = plan_for(at("2025-01-15 14:30"), at("2025-01-15 13:00"))
    decoded = msgspec.json.decode(msgspec.json.encode(touches), type=list[Touch])
    assert decoded == touches


# -- properties ---------------------------------------------------------------------------------

TRANSITIONS = [
    utc("2025-03-09 07:00"),  # New York spring forward
    utc("2025-11-02 06:00"),  # New York fall back
    utc("2025-03-09 08:00"),  # Chicago
    utc("2025-11-02 07:00"),
    utc("2025-03-30 01:00"),  # Madrid
    utc("2025-10-26 01:00"),
    utc("2025-04-05 15:00"),  # Lord Howe fall back (30 min)
    utc("2025-10-04 15:30"),  # Lord Howe spring forward (30 min)
]
YEAR_START = utc("2025-01-01 00:00")

instants = st.one_of(
    st.builds(lambda t, m: t + minutes(m), st.sampled_from(TRANSITIONS), st.integers(-3 * 24 * 60, 3 * 24 * 60)),
    st.builds(lambda m: YEAR_START + minutes(m), st.integers(0, 365 * 24 * 60)),
)
clock_times = st.builds(lambda m: time(m // 60, m % 60), st.integers(0, 24 * 60 - 1))
windows = st.one_of(st.just((None, None)), st.just(NIGHT), st.tuples(clock_times, clock_times))
offset_sets = st.lists(st.integers(1, 7 * 24 * 60), min_size=1, max_size=5, unique=True).map(
    lambda values: [minutes(value) for value in values]
)


def quiet_oracle(instant: datetime, zone: ZoneInfo, window: tuple[time | None, time | None]) -> bool:
    """Independent statement of the definition: the clock the patient sees shows a quiet time."""
    start, end = window
    if start is None or end is None or start == end:
        return False
    clock = instant.astimezone(zone).time()
    return start <= clock < end if start < end else (clock >= start or clock < end)


@settings(max_examples=400, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    now=instants,
    ahead=st.integers(-60, 10 * 24 * 60),
    window=windows,
    offsets=offset_sets,
    min_lead=st.integers(0, 120),
)
def test_plan_guarantees(
    zone: str,
    now: datetime,
    ahead: int,
    window: tuple[time | None, time | None],
    offsets: list[timedelta],
    min_lead: int,
) -> None:
    start, lead, tz = now + minutes(ahead), minutes(min_lead), ZoneInfo(zone)
    touches = plan_touches(
        start, offsets=offsets, now=now, patient_zone=tz, quiet_start=window[0], quiet_end=window[1], min_lead=lead
    )
    assert [touch.offset for touch in touches] == sorted(offsets, reverse=True)
    assert len({touch.key for touch in touches}) == len(touches)
    sends = [touch for touch in touches if touch.sends]
    assert len({touch.send_at for touch in sends}) == len(sends)
    assert sum(touch.immediate for touch in sends) <= 1
    for touch in touches:
        assert (touch.send_at is None) == (touch.reason is not None) == (touch.outcome == "skip")
    for touch in sends:
        assert touch.send_at is not None
        assert touch.send_at >= now
        assert touch.send_at < start
        assert start - touch.send_at >= lead
        assert not quiet_oracle(touch.send_at, tz, window)
        if touch.immediate:  # the last touch (the smallest offset's, or the one it was merged into)
            last = next_allowed(start - min(offsets), tz, *window)
            assert next_allowed(start - touch.offset, tz, *window) == last
        else:
            assert touch.send_at >= touch.due_at


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    now=instants,
    ahead=st.integers(1, 4 * 24 * 60),
    later=st.integers(1, 4 * 24 * 60),
    window=windows,
    offsets=offset_sets,
)
def test_planning_again_later_neither_adds_nor_drops_a_touch(
    zone: str, now: datetime, ahead: int, later: int, window: tuple[time | None, time | None], offsets: list[timedelta]
) -> None:
    """What the periodic sweep relies on: a pending send stays planned, and no new key appears."""
    start, tz = now + minutes(ahead), ZoneInfo(zone)

    def plan_at(moment: datetime) -> dict[str, datetime]:
        touches = plan_touches(
            start, offsets=offsets, now=moment, patient_zone=tz, quiet_start=window[0], quiet_end=window[1]
        )
        return {touch.key: touch.send_at for touch in touches if touch.send_at is not None}

    first, second = plan_at(now), plan_at(now + minutes(later))
    assert set(second) <= set(first)
    for key, send_at in first.items():
        if send_at >= now + minutes(later):
            assert second.get(key) == send_at


@settings(max_examples=500, deadline=None)
@given(zone=st.sampled_from(ZONES), instant=instants, window=st.tuples(clock_times, clock_times))
def test_next_allowed_matches_a_minute_by_minute_search(
    zone: str, instant: datetime, window: tuple[time, time]
) -> None:
    tz = ZoneInfo(zone)
    expected = instant
    for _ in range(26 * 60):
        if not quiet_oracle(expected, tz, window):
            break
        expected += minutes(1)
    assert next_allowed(instant, tz, *window) == expected


@settings(max_examples=200, deadline=None)
@given(
    now=instants,
    old_ahead=st.integers(1, 5 * 24 * 60),
    new_ahead=st.integers(1, 5 * 24 * 60),
    sent=st.sets(st.sampled_from(["72h", "24h", "2h"])),
    window=windows,
)
def test_replan_never_repeats_a_sent_key_for_the_same_time(
    now: datetime, old_ahead: int, new_ahead: int, sent: set[str], window: tuple[time | None, time | None]
) -> None:
    tz = ZoneInfo(NY)
    old_start = now + minutes(old_ahead)
    old = plan_touches(old_start, now=now - hours(100), patient_zone=tz, quiet_start=window[0], quiet_end=window[1])
    for new_start in (old_start, now + minutes(new_ahead)):
        touches = replan(
            old, new_start, now=now, patient_zone=tz, quiet_start=window[0], quiet_end=window[1], already_sent=sent
        )
        moved = new_start != old_start
        for touch in touches:
            if touch.sends:
                assert moved or touch.key not in sent
                assert touch.rescheduled == (moved and bool(sent))
            else:
                assert not touch.rescheduled
