"""The FHIR Task state machine and the "due today" arithmetic, unit-tested without services."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.care.tasks.service import day_bounds, local_today, zone_named
from core.care.tasks.states import (
    CLOSED,
    INITIAL,
    OPEN,
    STATUSES,
    TRANSITIONS,
    IllegalTransitionError,
    can_transition,
    check_transition,
)

# The legal moves, written out independently of the table under test.
LEGAL = {
    ("draft", "requested"),
    ("draft", "ready"),
    ("draft", "cancelled"),
    ("requested", "received"),
    ("requested", "accepted"),
    ("requested", "rejected"),
    ("requested", "ready"),
    ("requested", "in-progress"),
    ("requested", "cancelled"),
    ("received", "accepted"),
    ("received", "rejected"),
    ("received", "ready"),
    ("received", "in-progress"),
    ("received", "cancelled"),
    ("accepted", "ready"),
    ("accepted", "in-progress"),
    ("accepted", "on-hold"),
    ("accepted", "cancelled"),
    ("ready", "in-progress"),
    ("ready", "on-hold"),
    ("ready", "completed"),
    ("ready", "failed"),
    ("ready", "cancelled"),
    ("in-progress", "on-hold"),
    ("in-progress", "completed"),
    ("in-progress", "failed"),
    ("in-progress", "cancelled"),
    ("on-hold", "ready"),
    ("on-hold", "in-progress"),
    ("on-hold", "failed"),
    ("on-hold", "cancelled"),
} | {(s, "entered-in-error") for s in STATUSES if s != "entered-in-error"}

ALL_PAIRS = [(a, b) for a in STATUSES for b in STATUSES]


def test_statuses_are_fhir_task_statuses() -> None:
    assert set(STATUSES) == {
        "draft",
        "requested",
        "received",
        "accepted",
        "rejected",
        "ready",
        "cancelled",
        "in-progress",
        "on-hold",
        "failed",
        "completed",
        "entered-in-error",
    }
    assert set(TRANSITIONS) == set(STATUSES)
    assert set(STATUSES) == OPEN | CLOSED
    assert not OPEN & CLOSED
    assert INITIAL <= OPEN


@pytest.mark.parametrize(("current", "requested"), ALL_PAIRS, ids=lambda s: s)
def test_every_pair(current: str, requested: str) -> None:
    legal = (current, requested) in LEGAL
    assert can_transition(current, requested) is legal
    if legal:
        check_transition(current, requested)
    else:
        with pytest.raises(IllegalTransitionError) as caught:
            check_transition(current, requested)
        assert caught.value.current == current
        assert caught.value.requested == requested
        assert current in str(caught.value)
        assert requested in str(caught.value)


def test_closed_states_only_lead_to_entered_in_error() -> None:
    for status in CLOSED:
        assert TRANSITIONS[status] <= {"entered-in-error"}
    assert TRANSITIONS["entered-in-error"] == frozenset()


def test_unknown_status_is_never_legal() -> None:
    assert not can_transition("bogus", "completed")
    assert not can_transition("ready", "bogus")


CHICAGO = ZoneInfo("America/Chicago")


def test_day_bounds_in_chicago_winter() -> None:
    start, end = day_bounds(date(2026, 1, 15), CHICAGO)
    assert start == datetime(2026, 1, 15, 6, tzinfo=UTC)
    assert end == datetime(2026, 1, 16, 6, tzinfo=UTC)


def test_day_bounds_on_dst_days_are_23_and_25_hours() -> None:
    spring = day_bounds(date(2026, 3, 8), CHICAGO)
    autumn = day_bounds(date(2026, 11, 1), CHICAGO)
    assert spring[1] - spring[0] == timedelta(hours=23)
    assert autumn[1] - autumn[0] == timedelta(hours=25)
    assert spring[0] == datetime(2026, 3, 8, 6, tzinfo=UTC)
    assert spring[1] == datetime(2026, 3, 9, 5, tzinfo=UTC)


def test_late_evening_in_chicago_is_tomorrow_in_utc() -> None:
    due = datetime(2026, 6, 10, 23, 30, tzinfo=CHICAGO)
    start, end = day_bounds(date(2026, 6, 10), CHICAGO)
    assert start <= due < end
    utc_start, utc_end = day_bounds(date(2026, 6, 10), ZoneInfo("UTC"))
    assert not utc_start <= due < utc_end
    assert local_today(CHICAGO, due) == date(2026, 6, 10)
    assert local_today(ZoneInfo("UTC"), due) == date(2026, 6, 11)


def test_zone_named() -> None:
    assert zone_named("Asia/Kolkata") == ZoneInfo("Asia/Kolkata")
    for bad in ("Mars/Olympus", "", "../etc/passwd", "UTC+5"):
        with pytest.raises(ValueError, match="IANA"):
            zone_named(bad)
