"""The appointment state machine and the pure helpers behind appointments, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from uuid import uuid4

import msgspec
import pytest

from core.care.appointments import service
from core.care.appointments.schemas import AppointmentCreate, Reschedule, Transition
from core.care.appointments.states import (
    INITIAL,
    OCCUPYING,
    RESCHEDULABLE,
    STATUSES,
    TERMINAL,
    TRANSITIONS,
    IllegalTransitionError,
    allowed,
    check_transition,
)
from core.db import cursors

# The specification, written out independently of the module under test.
LEGAL = {
    ("proposed", "pending"),
    ("proposed", "booked"),
    ("proposed", "cancelled"),
    ("pending", "booked"),
    ("pending", "cancelled"),
    ("booked", "arrived"),
    ("booked", "checked-in"),
    ("booked", "cancelled"),
    ("booked", "noshow"),
    ("arrived", "checked-in"),
    ("arrived", "fulfilled"),
    ("checked-in", "fulfilled"),
    ("proposed", "entered-in-error"),
    ("pending", "entered-in-error"),
    ("booked", "entered-in-error"),
    ("arrived", "entered-in-error"),
    ("checked-in", "entered-in-error"),
    ("fulfilled", "entered-in-error"),
}
ALL_STATUSES = [
    "proposed",
    "pending",
    "booked",
    "arrived",
    "checked-in",
    "fulfilled",
    "cancelled",
    "noshow",
    "entered-in-error",
]
MATRIX = [(a, b) for a in ALL_STATUSES for b in ALL_STATUSES]


def test_the_status_set_is_fhirs() -> None:
    assert list(STATUSES) == ALL_STATUSES
    assert set(TRANSITIONS) == set(ALL_STATUSES)


@pytest.mark.parametrize(("current", "requested"), sorted(LEGAL))
def test_legal_transition_is_allowed(current: str, requested: str) -> None:
    assert allowed(current, requested)
    check_transition(current, requested)


@pytest.mark.parametrize(("current", "requested"), [p for p in MATRIX if p not in LEGAL])
def test_illegal_transition_raises_naming_both_statuses(current: str, requested: str) -> None:
    assert not allowed(current, requested)
    with pytest.raises(IllegalTransitionError) as raised:
        check_transition(current, requested)
    assert (raised.value.current, raised.value.requested) == (current, requested)
    assert current in str(raised.value)
    assert requested in str(raised.value)


def test_unknown_statuses_are_never_allowed() -> None:
    assert not allowed("booked", "confirmed")
    assert not allowed("confirmed", "booked")


def test_terminal_statuses_have_no_way_out_but_the_correction() -> None:
    assert {"cancelled", "noshow", "entered-in-error", "fulfilled"} == TERMINAL
    for status in ("cancelled", "noshow", "entered-in-error"):
        assert TRANSITIONS[status] == frozenset()
    assert TRANSITIONS["fulfilled"] == frozenset({"entered-in-error"})


def test_status_groups() -> None:
    assert frozenset({"booked", "arrived", "checked-in"}) == OCCUPYING
    assert frozenset({"proposed", "pending", "booked"}) == RESCHEDULABLE
    assert frozenset({"proposed", "booked"}) == INITIAL


# -- days in a time zone ------------------------------------------------------------------------------------


def test_day_bounds_are_local_midnights() -> None:
    start, end = service.day_bounds(date(2026, 11, 23), "America/Chicago")
    assert start == datetime(2026, 11, 23, 6, tzinfo=UTC)  # CST is UTC-6
    assert end == datetime(2026, 11, 24, 6, tzinfo=UTC)
    late = datetime(2026, 11, 23, 23, 30, tzinfo=timezone(timedelta(hours=-6)))  # 05:30 UTC on the 24th
    assert late.astimezone(UTC).date() == date(2026, 11, 24)
    assert start <= late < end


def test_day_bounds_follow_daylight_saving() -> None:
    spring_start, spring_end = service.day_bounds(date(2026, 3, 8), "America/Chicago")
    assert spring_end - spring_start == timedelta(hours=23)
    autumn_start, autumn_end = service.day_bounds(date(2026, 11, 1), "America/Chicago")
    assert autumn_end - autumn_start == timedelta(hours=25)


def test_day_bounds_east_of_utc() -> None:
    start, end = service.day_bounds(date(2026, 11, 23), "Asia/Kolkata")
    assert start == datetime(2026, 11, 22, 18, 30, tzinfo=UTC)
    assert end - start == timedelta(hours=24)


# -- cursors ------------------------------------------------------------------------------------------------


def test_cursor_round_trip() -> None:
    when, ident = datetime(2027, 1, 5, 9, 30, tzinfo=UTC), uuid4()
    assert cursors.decode_cursor(cursors.encode_cursor(when, ident)) == (when, ident)


@pytest.mark.parametrize("bad", ["", "not-a-cursor", "W10", cursors.encode_cursor(datetime(2027, 1, 1), uuid4())])
def test_bad_cursor_is_refused(bad: str) -> None:
    with pytest.raises(cursors.BadCursorError):
        cursors.decode_cursor(bad)


# -- input validation ---------------------------------------------------------------------------------------

BODY = {
    "patient_id": str(uuid4()),
    "start": "2027-01-05T09:00:00-06:00",
    "end": "2027-01-05T09:30:00-06:00",
    "time_zone": "America/Chicago",
}


def decode_create(**overrides: object) -> AppointmentCreate:
    return msgspec.json.decode(msgspec.json.encode({**BODY, **overrides}), type=AppointmentCreate)


def test_a_valid_body_decodes_booked_by_default() -> None:
    created = decode_create()
    assert created.status == "booked"
    assert created.end - created.start == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"end": "2027-01-05T08:59:00-06:00"}, "end must be after start"),
        ({"end": BODY["start"]}, "end must be after start"),
        ({"start": "2027-01-05T09:00:00"}, "start needs a time zone offset"),
        ({"end": "2027-01-05T09:30:00"}, "end needs a time zone offset"),
        ({"time_zone": "Mars/Olympus"}, "not an IANA time zone"),
        ({"status": "arrived"}, "status"),
        ({"status": "pending"}, "status"),
        ({"colour": "red"}, "colour"),
        ({"reason": "x" * 501}, "reason"),
    ],
)
def test_bad_bodies_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=message):
        decode_create(**overrides)


def test_reschedule_and_transition_bodies_validate() -> None:
    with pytest.raises(msgspec.ValidationError, match="end must be after start"):
        msgspec.convert({"start": "2027-01-05T10:00:00Z", "end": "2027-01-05T09:00:00Z"}, Reschedule)
    with pytest.raises(msgspec.ValidationError, match="Expected `str` of length"):
        msgspec.convert({"start": "2027-01-05T10:00:00Z", "end": "2027-01-05T11:00:00Z", "time_zone": ""}, Reschedule)
    with pytest.raises(msgspec.ValidationError, match="status"):
        msgspec.convert({"status": "confirmed"}, Transition)
