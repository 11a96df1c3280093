"""SLA arithmetic on business calendars: weekends, holidays, zones, daylight saving, pauses, events.

Pure: no database, no app. Expected instants are worked out by hand in the tables (comments show the
sums); the property tests compare against a brute-force minute counter that knows nothing of how the
library resolves wall times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.referrals.calendar import WEEKDAYS, BusinessCalendar, CalendarSettings
from plugins.referrals.sla import Pause, SlaClock, SlaTargets, due_events, next_check_at

NY, LONDON, KOLKATA, LORD_HOWE = "America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe"
LUNCH = dict.fromkeys(WEEKDAYS[:5], ("08:00-12:00", "13:00-17:00"))


def at(text: str, zone: str = NY) -> datetime:
    """A local wall time; for instants in a fold, tables use ``utc()`` instead."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


CALENDARS: dict[str, BusinessCalendar] = {
    "ny": BusinessCalendar(NY),  # Mon-Fri 08:00-17:00, 9 h a day
    "ny_july4": BusinessCalendar(NY, holidays=[date(2025, 7, 4)]),
    "ny_xmas": BusinessCalendar(NY, holidays=[date(2025, 12, 25), date(2025, 12, 26)]),
    "ny_lunch": BusinessCalendar(NY, LUNCH),
    "ny_sunday_night": BusinessCalendar(NY, {"sun": ["00:00-06:00"]}),
    "ny_sunday_gap": BusinessCalendar(NY, {"sun": ["02:00-02:30"]}),
    "ny_sunday_fold": BusinessCalendar(NY, {"sun": ["01:30-03:00"]}),
    "london": BusinessCalendar(LONDON),
    "london_sunday_night": BusinessCalendar(LONDON, {"sun": ["00:00-06:00"]}),
    "kolkata": BusinessCalendar(KOLKATA),
    "lord_howe_sunday": BusinessCalendar(LORD_HOWE, {"sun": ["00:00-04:00"]}),
}

# -- add_business_time --------------------------------------------------------------------------

# 2025-01-06 is a Monday.
ADD_CASES = [
    # id, calendar, start, business hours, expected
    ("ends exactly at closing, not next opening", "ny", at("2025-01-06 09:00"), 8, at("2025-01-06 17:00")),
    ("one hour into the next day", "ny", at("2025-01-06 09:00"), 9, at("2025-01-07 09:00")),
    ("friday afternoon to monday", "ny", at("2025-01-10 15:00"), 4, at("2025-01-13 10:00")),
    ("start on saturday", "ny", at("2025-01-11 12:00"), 1, at("2025-01-13 09:00")),
    ("start before opening", "ny", at("2025-01-06 06:00"), 1, at("2025-01-06 09:00")),
    ("start after closing", "ny", at("2025-01-06 18:00"), 1, at("2025-01-07 09:00")),
    ("zero duration keeps start, even off hours", "ny", at("2025-01-11 12:00"), 0, at("2025-01-11 12:00")),
    # 5 x 9 h = 45 h in week one, then 27 h = Mon, Tue, Wed.
    ("72 h routine target", "ny", at("2025-01-06 08:00"), 72, at("2025-01-15 17:00")),
    ("exactly one week from sunday", "ny", at("2025-01-05 00:00"), 45, at("2025-01-10 17:00")),
    ("one week skipped whole", "ny", at("2025-01-05 00:00"), 46, at("2025-01-13 09:00")),
    # 52 weeks of 45 h from a Monday 08:00 = Friday 17:00 of week 52.
    ("a year of business time", "ny", at("2025-01-06 08:00"), 52 * 45, at("2026-01-02 17:00")),
    ("holiday friday (july 4)", "ny_july4", at("2025-07-03 16:00"), 2, at("2025-07-07 09:00")),
    ("christmas thu+fri", "ny_xmas", at("2025-12-24 16:00"), 2, at("2025-12-29 09:00")),
    ("lunch break skipped", "ny_lunch", at("2025-01-06 11:00"), 2, at("2025-01-06 14:00")),
    ("start during lunch", "ny_lunch", at("2025-01-06 12:30"), 1, at("2025-01-06 14:00")),
    ("ends at lunch, not after it", "ny_lunch", at("2025-01-06 11:00"), 1, at("2025-01-06 12:00")),
    # US spring forward on Sunday 2025-03-09: office hours stay 08:00 local.
    ("friday EST to monday EDT", "ny", at("2025-03-07 16:00"), 2, utc("2025-03-10 13:00")),
    ("london friday GMT to monday BST", "london", at("2025-03-28 16:00", LONDON), 2, utc("2025-03-31 08:00")),
    # Kolkata is UTC+05:30: 16:30 IST + 30 min Monday + 30 min Tuesday = 08:30 IST = 03:00 UTC.
    ("half-hour offset zone", "kolkata", at("2025-01-06 16:30", KOLKATA), 1, utc("2025-01-07 03:00")),
    # Shift 00:00-06:00 across the change: real hours count (00:00 EST = 05:00 UTC).
    ("spring forward inside shift", "ny_sunday_night", at("2025-03-09 00:00"), 2, utc("2025-03-09 07:00")),
    ("spring forward whole shift is 5 h", "ny_sunday_night", at("2025-03-09 00:00"), 5, utc("2025-03-09 10:00")),
    ("spring forward: 6 h spills a week", "ny_sunday_night", at("2025-03-09 00:00"), 6, utc("2025-03-16 05:00")),
    # 00:00 EDT = 04:00 UTC; +2 h lands in the repeated hour (01:00 EST).
    ("fall back into the repeated hour", "ny_sunday_night", at("2025-11-02 00:00"), 2, utc("2025-11-02 06:00")),
    ("fall back whole shift is 7 h", "ny_sunday_night", at("2025-11-02 00:00"), 7, utc("2025-11-02 11:00")),
    ("london spring forward", "london_sunday_night", at("2025-03-30 00:00", LONDON), 5, utc("2025-03-30 05:00")),
    ("london fall back", "london_sunday_night", at("2025-10-26 00:00", LONDON), 7, utc("2025-10-26 06:00")),
    # Lord Howe moves by 30 minutes: +10:30 -> +11 at 02:00 on 2025-10-05.
    ("lord howe half-hour spring", "lord_howe_sunday", at("2025-10-05 00:00", LORD_HOWE), 3, utc("2025-10-04 16:30")),
    ("lord howe half-hour fall", "lord_howe_sunday", at("2025-04-06 00:00", LORD_HOWE), 3, utc("2025-04-05 16:00")),
    # 02:00-02:30 does not exist on 2025-03-09: that Sunday has no working time at all.
    ("interval inside a gap is empty", "ny_sunday_gap", at("2025-03-02 02:00"), 1, at("2025-03-16 02:30")),
]


@pytest.mark.parametrize(
    ("calendar", "start", "duration", "expected"),
    [pytest.param(c, s, d, e, id=i) for i, c, s, d, e in ADD_CASES],
)
def test_add_business_time(calendar: str, start: datetime, duration: float, expected: datetime) -> None:
    result = CALENDARS[calendar].add_business_time(start, hours(duration))
    assert result == expected
    assert result.tzinfo is UTC
    assert CALENDARS[calendar].business_time_between(start, result) == hours(duration)


# -- business_time_between ----------------------------------------------------------------------

US_HOLIDAYS_2025 = [
    date(2025, m, d)
    for m, d in [(1, 1), (1, 20), (2, 17), (5, 26), (6, 19), (7, 4), (9, 1), (10, 13), (11, 11), (11, 27)]
]
CALENDARS["ny_us_holidays"] = BusinessCalendar(NY, holidays=[*US_HOLIDAYS_2025, date(2025, 12, 25)])

BETWEEN_CASES = [
    ("friday 16:00 to monday 10:00", "ny", at("2025-01-10 16:00"), at("2025-01-13 10:00"), hours(3)),
    ("reversed is negative", "ny", at("2025-01-13 10:00"), at("2025-01-10 16:00"), -hours(3)),
    ("same instant", "ny", at("2025-01-06 10:00"), at("2025-01-06 10:00"), hours(0)),
    ("weekend only", "ny", at("2025-01-11 00:00"), at("2025-01-13 00:00"), hours(0)),
    ("whole day clipped to hours", "ny", at("2025-01-06 07:00"), at("2025-01-06 18:00"), hours(9)),
    ("lunch excluded", "ny_lunch", at("2025-01-06 11:30"), at("2025-01-06 13:30"), hours(1)),
    # 2025 has 261 weekdays; 11 of the listed holidays fall on weekdays.
    ("year 2025", "ny", at("2025-01-01 00:00"), at("2026-01-01 00:00"), hours(261 * 9)),
    ("year 2025, US holidays", "ny_us_holidays", at("2025-01-01 00:00"), at("2026-01-01 00:00"), hours(250 * 9)),
    ("ny spring forward shift", "ny_sunday_night", at("2025-03-09 00:00"), at("2025-03-10 00:00"), hours(5)),
    ("ny fall back shift", "ny_sunday_night", at("2025-11-02 00:00"), at("2025-11-03 00:00"), hours(7)),
    (
        "london spring forward shift",
        "london_sunday_night",
        at("2025-03-30", LONDON),
        at("2025-03-31", LONDON),
        hours(5),
    ),
    ("london fall back shift", "london_sunday_night", at("2025-10-26", LONDON), at("2025-10-27", LONDON), hours(7)),
    (
        "lord howe spring (30 min)",
        "lord_howe_sunday",
        at("2025-10-05", LORD_HOWE),
        at("2025-10-06", LORD_HOWE),
        hours(3.5),
    ),
    (
        "lord howe fall (30 min)",
        "lord_howe_sunday",
        at("2025-04-06", LORD_HOWE),
        at("2025-04-07", LORD_HOWE),
        hours(4.5),
    ),
    # Only the part of the repeated hour after the opening counts.
    ("part of the repeated hour", "ny_sunday_night", utc("2025-11-02 05:30"), utc("2025-11-02 06:30"), hours(1)),
    ("gap interval on a normal sunday", "ny_sunday_gap", at("2025-03-02 00:00"), at("2025-03-03 00:00"), hours(0.5)),
    ("gap interval on the change day", "ny_sunday_gap", at("2025-03-09 00:00"), at("2025-03-10 00:00"), hours(0)),
    # 01:30 is ambiguous on 2025-11-02: the earlier (EDT, 05:30 UTC) instant opens; 03:00 EST = 08:00 UTC.
    (
        "opening in a fold takes the earlier",
        "ny_sunday_fold",
        at("2025-11-02 00:00"),
        at("2025-11-03 00:00"),
        hours(2.5),
    ),
    ("kolkata whole week", "kolkata", at("2025-01-06", KOLKATA), at("2025-01-13", KOLKATA), hours(45)),
]


@pytest.mark.parametrize(
    ("calendar", "a", "b", "expected"),
    [pytest.param(c, a, b, e, id=i) for i, c, a, b, e in BETWEEN_CASES],
)
def test_business_time_between(calendar: str, a: datetime, b: datetime, expected: timedelta) -> None:
    assert CALENDARS[calendar].business_time_between(a, b) == expected


def test_arguments_in_other_zones_are_compared_as_instants() -> None:
    # Monday 09:00 New York is 14:00 London; an hour later in London is 10:00 in New York.
    assert CALENDARS["ny"].business_time_between(at("2025-01-06 14:00", LONDON), at("2025-01-06 10:00")) == hours(1)


@pytest.mark.parametrize(
    ("instant", "working"),
    [
        (at("2025-01-06 08:00"), True),
        (at("2025-01-06 16:59"), True),
        (at("2025-01-06 17:00"), False),
        (at("2025-01-11 12:00"), False),
    ],
)
def test_is_working(instant: datetime, working: bool) -> None:
    assert CALENDARS["ny"].is_working(instant) is working


def test_always_open_counts_elapsed_time_across_dst() -> None:
    calendar = BusinessCalendar.always_open(NY)
    start, end = at("2025-03-01 00:00"), at("2025-04-01 00:00")  # 31 days less the skipped hour
    assert calendar.business_time_between(start, end) == timedelta(days=31) - hours(1)
    assert calendar.add_business_time(start, hours(24 * 31 - 1)) == end


# -- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "unknown time zone"),
        ({"time_zone": "../etc/passwd"}, "unknown time zone"),
        ({"time_zone": NY, "hours": {"mon": ["17:00-08:00"]}}, "must end after it starts"),
        ({"time_zone": NY, "hours": {"mon": ["08:00-08:00"]}}, "must end after it starts"),
        ({"time_zone": NY, "hours": {"tue": ["08:00-12:00", "11:00-17:00"]}}, "tue: working intervals overlap"),
        ({"time_zone": NY, "hours": {"mon": ["8:00-17:00"]}}, "not an interval"),
        ({"time_zone": NY, "hours": {"mon": ["08:00-24:30"]}}, "not a time of day"),
        ({"time_zone": NY, "hours": {"mon": ["08:60-17:00"]}}, "not a time of day"),
        ({"time_zone": NY, "hours": {"monday": ["08:00-17:00"]}}, "unknown weekday"),
        ({"time_zone": NY, "hours": {}}, "no working hours"),
    ],
)
def test_calendar_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(**kwargs)  # type: ignore[arg-type]


def test_touching_intervals_and_midnight_end_are_fine() -> None:
    calendar = BusinessCalendar(NY, {"mon": ["08:00-12:00", "12:00-24:00"]})
    assert calendar.business_time_between(at("2025-01-06"), at("2025-01-07")) == hours(16)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.add_business_time(datetime(2025, 1, 6, 9), hours(1)), "timezone-aware"),
        (lambda c: c.add_business_time(at("2025-01-06 09:00"), -hours(1)), "negative"),
        (lambda c: c.business_time_between(datetime(2025, 1, 6), at("2025-01-07")), "timezone-aware"),
        (lambda c: c.add_business_time(at("2025-01-06 09:00"), timedelta(days=36500)), "more than"),
    ],
)
def test_arithmetic_rejects_bad_input(call: Callable[[BusinessCalendar], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(CALENDARS["ny"])


def test_calendar_settings_defaults_and_round_trip() -> None:
    settings = msgspec.json.decode(b'{"holidays": ["2025-12-25"]}', type=CalendarSettings)
    assert settings.mon == ("08:00-17:00",)
    assert settings.sat == ()
    calendar = BusinessCalendar.from_settings(settings, KOLKATA)
    assert calendar.zone.key == KOLKATA
    assert calendar.holidays == {date(2025, 12, 25)}
    assert msgspec.json.decode(msgspec.json.encode(settings), type=CalendarSettings) == settings


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"mon": ["08:00-12:00", "11:00-17:00"]}', "overlap"),
        (b'{"mon": ["9-5"]}', "Expected `str` matching regex"),
        (b'{"wed": ["17:00-08:00"]}', "must end after it starts"),
        (b'{"mon": [], "tue": [], "wed": [], "thu": [], "fri": []}', "no working hours"),
        (b'{"mondays": []}', "unknown field"),
    ],
)
def test_calendar_settings_reject_bad_hours(body: bytes, message: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=message):
        msgspec.json.decode(body, type=CalendarSettings)


# -- targets ------------------------------------------------------------------------------------


def test_sla_targets_defaults() -> None:
    targets = SlaTargets()
    assert [targets.target(p) for p in ("routine", "urgent", "asap", "stat")] == [
        hours(72),
        hours(24),
        hours(8),
        hours(2),
    ]
    assert targets.at_risk_fraction == 0.75
    with pytest.raises(ValueError, match="unknown priority"):
        targets.target("whenever")


@pytest.mark.parametrize(
    "body",
    [b'{"routine_hours": 0}', b'{"stat_hours": -1}', b'{"at_risk_fraction": 1}', b'{"at_risk_fraction": 0}'],
)
def test_sla_targets_reject_out_of_range(body: bytes) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(body, type=SlaTargets)


@pytest.mark.parametrize("kwargs", [{"urgent_hours": 0.0}, {"at_risk_fraction": 1.5}])
def test_sla_targets_validate_direct_construction(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        SlaTargets(**kwargs)


# -- clocks -------------------------------------------------------------------------------------

MONDAY_9 = at("2025-01-06 09:00")


def urgent(*pauses: Pause, start: datetime = MONDAY_9, stopped_at: datetime | None = None) -> SlaClock:
    """24 business hours on the New York 08:00-17:00 calendar, at risk at 75 % (18 h)."""
    return SlaTargets().clock("urgent", CALENDARS["ny"], start, pauses, stopped_at)


DUE_CASES = [
    # Mon 8 h + Tue 9 h + Wed 7 h = 24 h.
    ("no pauses", MONDAY_9, [], at("2025-01-08 15:00")),
    # Paused Mon 7 h + Tue 2 h = 9 h of business time.
    ("one pause", MONDAY_9, [Pause(at("2025-01-06 10:00"), at("2025-01-07 10:00"))], at("2025-01-09 15:00")),
    (
        "pause overnight costs nothing",
        MONDAY_9,
        [Pause(at("2025-01-06 18:00"), at("2025-01-07 07:00"))],
        at("2025-01-08 15:00"),
    ),
    # Started Friday: Fri 8 + Mon 9 + Tue 7; the weekend pause changes nothing.
    (
        "pause over a weekend",
        at("2025-01-10 09:00"),
        [Pause(at("2025-01-10 17:30"), at("2025-01-13 07:00"))],
        at("2025-01-14 15:00"),
    ),
    # 1 h Monday + 1 h Tuesday + 1 h Wednesday = 3 h: Wed 15:00 -> Wed 17:00 (2 h) -> Thu 09:00.
    (
        "several pauses",
        MONDAY_9,
        [Pause(at("2025-01-06 10:00"), at("2025-01-06 11:00")), Pause(at("2025-01-07 16:00"), at("2025-01-08 09:00"))],
        at("2025-01-09 09:00"),
    ),
    # 10:00-12:00 and 11:00-12:30 merge into 2.5 h.
    (
        "overlapping pauses merged",
        MONDAY_9,
        [Pause(at("2025-01-06 11:00"), at("2025-01-06 12:30")), Pause(at("2025-01-06 10:00"), at("2025-01-06 12:00"))],
        at("2025-01-09 08:30"),
    ),
    (
        "pause before start clipped",
        MONDAY_9,
        [Pause(at("2025-01-05 12:00"), at("2025-01-06 10:00"))],
        at("2025-01-08 16:00"),
    ),
    (
        "pause after the due time",
        MONDAY_9,
        [Pause(at("2025-01-09 10:00"), at("2025-01-09 11:00"))],
        at("2025-01-08 15:00"),
    ),
    ("open pause: unknown", MONDAY_9, [Pause(at("2025-01-07 10:00"))], None),
    ("open pause after the due time", MONDAY_9, [Pause(at("2025-01-09 10:00"))], at("2025-01-08 15:00")),
    ("pause ending at due", MONDAY_9, [Pause(at("2025-01-08 15:00"), at("2025-01-08 16:00"))], at("2025-01-08 15:00")),
]


@pytest.mark.parametrize(("start", "pauses", "due"), [pytest.param(s, p, d, id=i) for i, s, p, d in DUE_CASES])
def test_due_at(start: datetime, pauses: list[Pause], due: datetime | None) -> None:
    clock = urgent(*pauses, start=start)
    assert clock.due_at == due
    if due is not None:
        assert clock.elapsed(due) == clock.target
        assert clock.remaining(due) == timedelta(0)


# One 2 h pause on Tuesday 12:00-14:00: at risk (18 h) Wed 11:00, due (24 h) Wed 17:00.
TUESDAY_PAUSE = Pause(at("2025-01-07 12:00"), at("2025-01-07 14:00"))

STATE_CASES = [
    ("2025-01-06 08:00", "on_track", 0, 0.0),  # before the start
    ("2025-01-06 09:00", "on_track", 0, 0.0),
    ("2025-01-06 15:00", "on_track", 6, 0.25),
    ("2025-01-07 13:00", "paused", 12, 0.5),
    ("2025-01-07 20:00", "on_track", 15, 0.625),
    ("2025-01-08 11:00", "at_risk", 18, 0.75),
    ("2025-01-08 16:00", "at_risk", 23, 23 / 24),
    ("2025-01-08 17:00", "breached", 24, 1.0),
    ("2025-01-09 09:00", "breached", 25, 25 / 24),
    ("2025-01-11 09:00", "breached", 42, 42 / 24),  # Saturday: no more business time passes
]


@pytest.mark.parametrize(("now", "state", "elapsed", "fraction"), STATE_CASES)
def test_clock_through_its_life(now: str, state: str, elapsed: float, fraction: float) -> None:
    clock = urgent(TUESDAY_PAUSE)
    assert clock.at_risk_at == at("2025-01-08 11:00")
    assert clock.due_at == at("2025-01-08 17:00")
    assert clock.state(at(now)) == state
    assert clock.elapsed(at(now)) == hours(elapsed)
    assert clock.remaining(at(now)) == hours(24 - elapsed)
    assert clock.elapsed_fraction(at(now)) == pytest.approx(fraction)


@pytest.mark.parametrize(
    ("stopped_at", "now", "state"),
    [
        ("2025-01-08 10:00", "2025-01-09 12:00", "met"),
        ("2025-01-08 16:59", "2025-01-08 16:59", "met"),
        ("2025-01-08 17:00", "2025-01-08 17:00", "missed"),  # the goal must be reached before due_at
        ("2025-01-10 10:00", "2025-01-20 10:00", "missed"),
        ("2025-01-08 17:30", "2025-01-08 17:00", "breached"),  # asked about a moment before the stop
        ("2025-01-07 13:00", "2025-01-07 13:30", "met"),  # stopped while paused
    ],
)
def test_stopped_clock(stopped_at: str, now: str, state: str) -> None:
    assert urgent(TUESDAY_PAUSE, stopped_at=at(stopped_at)).state(at(now)) == state


def test_stopped_clock_freezes_elapsed() -> None:
    clock = urgent(stopped_at=at("2025-01-07 10:00"))
    assert clock.elapsed(at("2025-02-01 10:00")) == hours(10) == clock.elapsed(at("2025-01-07 10:00"))


@pytest.mark.parametrize(
    ("pause_start", "now", "state", "due_known"),
    [
        ("2025-01-07 10:00", "2025-01-08 12:00", "paused", False),  # on hold before at-risk
        ("2025-01-08 12:00", "2025-01-08 13:00", "paused", False),  # on hold after at-risk: still paused
        ("2025-01-09 10:00", "2025-01-09 12:00", "breached", True),  # a breach is not hidden by a pause
    ],
)
def test_open_pause(pause_start: str, now: str, state: str, due_known: bool) -> None:
    clock = urgent(Pause(at(pause_start)))
    assert clock.state(at(now)) == state
    assert (clock.due_at is not None) is due_known
    assert clock.elapsed(at(now)) == clock.elapsed(at(now) + timedelta(days=30))  # frozen while held


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": timedelta(0)}, "target must be positive"),
        ({"at_risk_fraction": 1.0}, "at_risk_fraction"),
        ({"started_at": datetime(2025, 1, 6, 9)}, "timezone-aware"),
        ({"stopped_at": at("2025-01-05 09:00")}, "before started_at"),
    ],
)
def test_clock_validation(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"calendar": CALENDARS["ny"], "started_at": MONDAY_9, "target": hours(24), **kwargs}
    with pytest.raises(ValueError, match=message):
        SlaClock(**arguments)  # type: ignore[arg-type]


def test_pause_validation() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        Pause(at("2025-01-07 10:00"), at("2025-01-07 09:00"))
    with pytest.raises(ValueError, match="timezone-aware"):
        Pause(datetime(2025, 1, 7, 10))


def test_local_times_in_the_repeated_hour_are_ordered_as_instants() -> None:
    # 01:30 EDT (05:30 UTC) comes before 01:10 EST (06:10 UTC) although its wall clock reads later.
    zone = ZoneInfo(NY)
    pause = Pause(datetime(2025, 11, 2, 1, 30, tzinfo=zone), datetime(2025, 11, 2, 1, 10, fold=1, tzinfo=zone))
    clock = SlaClock(BusinessCalendar.always_open(NY), at("2025-11-02 00:00"), hours(24), (pause,))
    assert clock.is_paused(datetime(2025, 11, 2, 1, 5, fold=1, tzinfo=zone))
    assert clock.elapsed(datetime(2025, 11, 2, 2, 0, tzinfo=zone)) == hours(3) - timedelta(minutes=40)
    assert clock.due_at == utc("2025-11-03 04:40")  # 00:00 EDT = 04:00 UTC, + 24 h + 40 min paused


def test_clock_in_a_half_hour_zone_across_a_holiday() -> None:
    calendar = BusinessCalendar(KOLKATA, holidays=[date(2025, 1, 14)])  # Tuesday
    clock = SlaTargets().clock("urgent", calendar, at("2025-01-13 12:00", KOLKATA))
    # Mon 5 h, Tue holiday, Wed 9 h, Thu 9 h -> 23 h; Fri 08:00 + 1 h.
    assert clock.due_at == at("2025-01-17 09:00", KOLKATA) == utc("2025-01-17 03:30")


def test_clock_across_spring_forward() -> None:
    # Stat (2 h) sent Friday 16:30 EST: 30 min Friday, 90 min Monday (now EDT).
    clock = SlaTargets().clock("stat", CALENDARS["ny"], at("2025-03-07 16:30"))
    assert clock.due_at == at("2025-03-10 09:30") == utc("2025-03-10 13:30")


# -- events, exactly once -----------------------------------------------------------------------


def run_checks(clock: SlaClock, checks: list[datetime]) -> list[tuple[str, datetime]]:
    """What a scheduler calling ``due_events`` at each instant would fire, recording as it goes."""
    fired: list[tuple[str, datetime]] = []
    for now in checks:
        events = due_events(clock, now, {name for name, _ in fired})
        fired.extend((event, now) for event in events)
    return fired


def every(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    count = int((end - start) / step)
    return [start + step * i for i in range(count + 1)]


def test_events_fire_once_each_over_many_checks() -> None:
    checks = every(at("2025-01-06 08:00"), at("2025-01-13 08:00"), timedelta(minutes=30))
    assert run_checks(urgent(TUESDAY_PAUSE), checks) == [
        ("at_risk", at("2025-01-08 11:00")),
        ("breached", at("2025-01-08 17:00")),
    ]


@pytest.mark.parametrize(
    ("now", "already_fired", "expected"),
    [
        ("2025-01-08 10:59", set(), []),
        ("2025-01-08 11:00", set(), ["at_risk"]),
        ("2025-01-08 11:00", {"at_risk"}, []),
        ("2025-01-09 12:00", set(), ["at_risk", "breached"]),  # first check after both: both, in order
        ("2025-01-09 12:00", {"at_risk"}, ["breached"]),
        ("2025-01-09 12:00", {"at_risk", "breached"}, []),
        ("2025-01-09 12:00", {"breached"}, []),  # at-risk never follows a breach
        ("2025-01-09 12:00", {"something_else"}, ["at_risk", "breached"]),
    ],
)
def test_due_events(now: str, already_fired: set[str], expected: list[str]) -> None:
    assert due_events(urgent(TUESDAY_PAUSE), at(now), already_fired) == expected


def test_stopped_clock_fires_nothing() -> None:
    clock = urgent(stopped_at=at("2025-01-08 08:30"))  # met at 17.5 h, never at risk (18 h)
    assert run_checks(clock, every(MONDAY_9, at("2025-01-20 09:00"), hours(1))) == []
    late = urgent(stopped_at=at("2025-01-09 10:00"))  # missed, but the checker only looks after the stop
    assert due_events(late, at("2025-01-09 11:00"), set()) == []
    assert next_check_at(late, at("2025-01-09 11:00"), set()) is None


def test_open_pause_holds_events() -> None:
    clock = urgent(Pause(at("2025-01-07 10:00")))
    assert run_checks(clock, every(MONDAY_9, at("2025-03-01 09:00"), hours(6))) == []
    assert next_check_at(clock, at("2025-01-07 11:00"), set()) is None


@pytest.mark.parametrize(
    ("now", "already_fired", "expected"),
    [
        ("2025-01-06 09:00", set(), "2025-01-08 11:00"),
        ("2025-01-08 11:00", {"at_risk"}, "2025-01-08 17:00"),
        ("2025-01-08 12:00", set(), "2025-01-08 12:00"),  # overdue check: now
        ("2025-01-09 12:00", {"at_risk", "breached"}, None),
        ("2025-01-09 12:00", {"breached"}, None),
    ],
)
def test_next_check_at(now: str, already_fired: set[str], expected: str | None) -> None:
    result = next_check_at(urgent(TUESDAY_PAUSE), at(now), already_fired)
    assert result == (None if expected is None else at(expected))


def test_scheduler_driven_by_next_check_fires_at_the_exact_instants() -> None:
    clock, fired, now = urgent(TUESDAY_PAUSE), [], MONDAY_9
    for _ in range(10):
        wake = next_check_at(clock, now, {name for name, _ in fired})
        if wake is None:
            break
        now = wake
        fired.extend((event, now) for event in due_events(clock, now, {name for name, _ in fired}))
    assert fired == [("at_risk", clock.at_risk_at), ("breached", clock.due_at)]


def test_next_check_ignores_instants_after_a_known_stop() -> None:
    clock = urgent(TUESDAY_PAUSE, stopped_at=at("2025-01-08 12:00"))
    assert next_check_at(clock, MONDAY_9, set()) == at("2025-01-08 11:00")
    assert next_check_at(clock, at("2025-01-08 11:00"), {"at_risk"}) is None


# -- properties ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """A calendar described as plain data, so the brute-force oracle can read it independently."""

    zone: str
    hours: dict[str, tuple[str, ...]]
    holidays: tuple[date, ...] = ()

    def build(self) -> BusinessCalendar:
        return BusinessCalendar(self.zone, self.hours, self.holidays)

    def works_at(self, instant: datetime) -> bool:
        """Does the wall clock read a working minute at ``instant``? (No gap/fold rules: just read it.)"""
        local = instant.astimezone(ZoneInfo(self.zone))
        if local.date() in self.holidays:
            return False
        minute = local.hour * 60 + local.minute
        for interval in self.hours.get(WEEKDAYS[local.weekday()], ()):
            start, end = ((int(t[:2]) * 60 + int(t[3:])) for t in interval.split("-"))
            if start <= minute < end:
                return True
        return False

    def minutes_between(self, a: datetime, b: datetime) -> timedelta:
        return timedelta(
            minutes=sum(self.works_at(a + timedelta(minutes=i)) for i in range(int((b - a) / timedelta(minutes=1))))
        )


# Interval ends avoid wall times inside a fold (where "read the clock" and "earlier instant" differ).
SPECS = [
    Spec(NY, dict.fromkeys(WEEKDAYS[:5], ("08:00-17:00",))),
    Spec(NY, {"sun": ("00:00-06:00", "22:00-24:00"), "mon": ("00:00-02:30", "08:00-12:00", "13:00-17:00")}),
    Spec(LONDON, {"sat": ("22:00-24:00",), "sun": ("00:00-03:00", "12:00-13:00"), "wed": ("09:30-17:45",)}),
    Spec(KOLKATA, dict.fromkeys(WEEKDAYS[:6], ("09:30-18:00",)), (date(2025, 1, 26), date(2025, 10, 20))),
    Spec(LORD_HOWE, {"sun": ("00:00-04:00",), "thu": ("08:00-17:00",)}),
    Spec(LORD_HOWE, dict.fromkeys(WEEKDAYS, ("00:00-24:00",))),
]
BUILT = [spec.build() for spec in SPECS]
# Days around every change used above, plus ordinary days.
ANCHORS = [
    utc(text)
    for text in (
        "2025-03-09 00:00", "2025-11-02 00:00", "2025-03-30 00:00", "2025-10-26 00:00",
        "2025-04-05 12:00", "2025-10-04 12:00", "2025-01-26 00:00", "2025-06-15 00:00",
    )
]  # fmt: skip

calendar_index = st.integers(0, len(SPECS) - 1)
near_anchor = st.builds(
    lambda anchor, minutes: anchor + timedelta(minutes=minutes),
    st.sampled_from(ANCHORS),
    st.integers(-4 * 24 * 60, 4 * 24 * 60),
)


@settings(max_examples=150, deadline=None)
@given(index=calendar_index, start=near_anchor, minutes=st.integers(0, 5 * 24 * 60))
def test_between_matches_a_minute_by_minute_count(index: int, start: datetime, minutes: int) -> None:
    end = start + timedelta(minutes=minutes)
    assert BUILT[index].business_time_between(start, end) == SPECS[index].minutes_between(start, end)


@settings(max_examples=300, deadline=None)
@given(index=calendar_index, start=near_anchor, minutes=st.integers(0, 3000 * 60))
def test_add_then_between_round_trips(index: int, start: datetime, minutes: int) -> None:
    calendar, duration = BUILT[index], timedelta(minutes=minutes)
    end = calendar.add_business_time(start, duration)
    assert calendar.business_time_between(start, end) == duration
    if duration:  # the earliest such instant: a microsecond earlier is not enough
        assert calendar.business_time_between(start, end - timedelta(microseconds=1)) < duration


@settings(max_examples=100, deadline=None)
@given(
    pause_offsets=st.lists(st.tuples(st.integers(0, 14 * 24 * 60), st.integers(1, 3 * 24 * 60)), max_size=4),
    check_offsets=st.lists(st.integers(0, 30 * 24 * 60), max_size=40),
    priority=st.sampled_from(["routine", "urgent", "asap", "stat"]),
)
def test_events_fire_exactly_once_in_order_whatever_the_schedule(
    pause_offsets: list[tuple[int, int]], check_offsets: list[int], priority: str
) -> None:
    start = at("2025-03-03 10:15")  # a DST change falls inside most clocks
    pauses = [Pause(start + timedelta(minutes=s), start + timedelta(minutes=s + d)) for s, d in pause_offsets]
    clock = SlaTargets().clock(priority, CALENDARS["ny"], start, pauses)
    assert clock.at_risk_at is not None
    assert clock.due_at is not None
    last = clock.due_at + timedelta(days=1)  # a check after everything is due
    checks = sorted([last, *(start + timedelta(minutes=m) for m in check_offsets)])
    fired = run_checks(clock, checks)
    assert [name for name, _ in fired] == ["at_risk", "breached"]
    for name, when in fired:
        instant = clock.at_risk_at if name == "at_risk" else clock.due_at
        assert when == min(check for check in checks if check >= instant)
