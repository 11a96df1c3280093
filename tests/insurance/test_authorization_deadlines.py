"""Payer decision deadlines (CMS-0057-F), at-risk and overdue events, and expiry in the tenant's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from plugins.insurance.authorizations.deadlines import (
    DecisionClock,
    decision_due,
    due_events,
    expires_at,
    is_expired,
    local_date,
)

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
AUCKLAND = ZoneInfo("Pacific/Auckland")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# (submitted at, urgency, zone, due at, hours in the window)
DUE = [
    ("2026-05-04T10:00:00+00:00", "expedited", UTC, "2026-05-07T10:00:00+00:00", 72),
    ("2026-05-04T10:00:00+00:00", "standard", UTC, "2026-05-11T10:00:00+00:00", 168),
    # spring forward in New York (2026-03-08): 7 calendar days are 167 hours, 72 hours stay 72
    ("2026-03-05T12:00:00-05:00", "standard", NY, "2026-03-12T12:00:00-04:00", 167),
    ("2026-03-07T12:00:00-05:00", "expedited", NY, "2026-03-10T13:00:00-04:00", 72),
    # fall back in New York (2026-11-01): 7 calendar days are 169 hours
    ("2026-10-29T09:00:00-04:00", "standard", NY, "2026-11-05T09:00:00-05:00", 169),
    ("2026-10-30T09:00:00-04:00", "expedited", NY, "2026-11-02T08:00:00-05:00", 72),
    # Berlin's change (2026-03-29) counts in Berlin, not in UTC
    ("2026-03-25T08:30:00+01:00", "standard", BERLIN, "2026-04-01T08:30:00+02:00", 167),
    # a wall time that does not exist on the due day (02:30 on 2026-03-08 in New York) reads one hour later
    ("2026-03-01T02:30:00-05:00", "standard", NY, "2026-03-08T03:30:00-04:00", 168),
    # the same instant is a different calendar day in Auckland: days count there
    ("2026-04-01T13:30:00+00:00", "standard", AUCKLAND, "2026-04-08T14:30:00+00:00", 169),  # NZDT ends 04-05
]


@pytest.mark.parametrize(("submitted", "urgency", "zone", "due", "hours"), DUE)
def test_decision_due(submitted: str, urgency: str, zone: ZoneInfo, due: str, hours: int) -> None:
    result = decision_due(datetime.fromisoformat(submitted), urgency, zone)  # type: ignore[arg-type]
    assert result == utc(due)
    assert result.tzinfo == UTC
    assert result - datetime.fromisoformat(submitted) == timedelta(hours=hours)


def test_decision_due_needs_an_aware_time_and_a_known_urgency() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decision_due(datetime(2026, 5, 4, 10), "standard", UTC)
    with pytest.raises(ValueError, match="urgency"):
        decision_due(datetime(2026, 5, 4, 10, tzinfo=UTC), "urgent", UTC)  # type: ignore[arg-type]


START = datetime(2026, 5, 4, 10, tzinfo=UTC)
EXPEDITED = DecisionClock.of(START, START + timedelta(hours=72), 0.75)
HOUR = timedelta(hours=1)
TICK = timedelta(microseconds=1)

# (hours after submission, events already fired, clock stopped after hours, events due now)
EVENTS: list[tuple[timedelta, set[str], timedelta | None, list[str]]] = [
    (timedelta(0), set(), None, []),
    (54 * HOUR - TICK, set(), None, []),
    (54 * HOUR, set(), None, ["at_risk"]),  # 75 % of 72 h, exactly
    (54 * HOUR, {"at_risk"}, None, []),
    (72 * HOUR - TICK, {"at_risk"}, None, []),
    (72 * HOUR, {"at_risk"}, None, ["overdue"]),  # exactly on the deadline
    (72 * HOUR, set(), None, ["overdue"]),  # no late at-risk warning once overdue
    (100 * HOUR, {"at_risk", "overdue"}, None, []),
    (100 * HOUR, {"overdue"}, None, []),
    # pended, then decided after 60 h: the clock stopped, nothing more fires
    (80 * HOUR, {"at_risk"}, 60 * HOUR, []),
    (55 * HOUR, set(), 60 * HOUR - TICK, ["at_risk"]),  # the stop lies ahead of now
    (80 * HOUR, set(), 50 * HOUR, []),  # decided before it was even at risk
]


@pytest.mark.parametrize(("after", "fired", "stopped", "expected"), EVENTS)
def test_due_events(after: timedelta, fired: set[str], stopped: timedelta | None, expected: list[str]) -> None:
    clock = DecisionClock.of(START, START + timedelta(hours=72), 0.75, None if stopped is None else START + stopped)
    assert due_events(clock, START + after, fired) == expected


def test_at_risk_is_a_fraction_of_the_window_in_elapsed_time() -> None:
    assert EXPEDITED.at_risk_at == START + timedelta(hours=54)
    submitted = datetime.fromisoformat("2026-03-05T12:00:00-05:00")
    standard = DecisionClock.of(submitted, decision_due(submitted, "standard", NY), 0.5)
    assert standard.at_risk_at - submitted == timedelta(hours=83.5)  # half of the 167 h the window lasts
    assert standard.is_overdue(standard.due_at)
    assert not standard.is_overdue(standard.due_at - TICK)


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1])
def test_the_at_risk_fraction_lies_strictly_inside_the_window(fraction: float) -> None:
    with pytest.raises(ValueError, match="fraction"):
        DecisionClock.of(START, START + HOUR, fraction)


# (valid through, zone, now, expired?)
EXPIRY = [
    (date(2026, 3, 31), NY, "2026-03-31T23:59:59-04:00", False),  # already April 1 in UTC: still valid
    (date(2026, 3, 31), NY, "2026-04-01T00:00:00-04:00", True),
    (date(2026, 3, 31), UTC, "2026-03-31T23:59:59+00:00", False),
    (date(2026, 3, 31), UTC, "2026-04-01T00:00:00+00:00", True),
    (date(2026, 3, 31), AUCKLAND, "2026-03-31T12:00:00+00:00", True),  # 01:00 on April 1 in Auckland
    (date(2026, 3, 31), AUCKLAND, "2026-03-31T10:59:59+00:00", False),
    (date(2026, 3, 8), NY, "2026-03-09T03:59:59+00:00", False),  # the short day of spring forward
    (date(2026, 3, 8), NY, "2026-03-09T04:00:00+00:00", True),
    (date(2026, 3, 1), NY, "2026-01-01T00:00:00+00:00", False),
]


@pytest.mark.parametrize(("valid_to", "zone", "now", "expired"), EXPIRY)
def test_expiry_is_read_in_the_tenants_zone(valid_to: date, zone: ZoneInfo, now: str, expired: bool) -> None:
    assert is_expired(valid_to, datetime.fromisoformat(now), zone) == expired


def test_an_authorization_without_an_end_never_expires_and_the_end_is_midnight_local() -> None:
    assert not is_expired(None, datetime(2099, 1, 1, tzinfo=UTC), NY)
    assert expires_at(date(2026, 3, 31), NY) == utc("2026-04-01T04:00:00+00:00")
    assert expires_at(date(2026, 3, 7), NY) == utc("2026-03-08T05:00:00+00:00")  # EST midnight
    assert expires_at(date(2026, 3, 8), NY) == utc("2026-03-09T04:00:00+00:00")  # EDT midnight
    assert local_date(datetime.fromisoformat("2026-04-01T02:00:00+00:00"), NY) == date(2026, 3, 31)
