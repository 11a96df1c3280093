"""Appeal deadlines as pure functions: filing windows, decision windows, which flags are due."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from plugins.insurance.appeals.deadlines import (
    add_months,
    decision_due,
    decision_flag,
    due_flags,
    filing_deadline,
    filing_flag,
)

DENIED_ON = date(2026, 3, 2)
SUBMITTED = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("level", "expected"),
    [(1, date(2026, 8, 29)), (2, date(2026, 8, 29)), (3, date(2026, 7, 2)), (4, date(2026, 5, 1))],
)
def test_filing_windows_by_level(level: int, expected: date) -> None:
    assert filing_deadline(level, DENIED_ON) == expected


def test_filing_deadline_refuses_unknown_levels() -> None:
    with pytest.raises(ValueError, match="1 to 4"):
        filing_deadline(5, DENIED_ON)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 10, 31), 4, date(2027, 2, 28)),
        (date(2027, 10, 31), 4, date(2028, 2, 29)),
        (date(2026, 1, 15), 12, date(2027, 1, 15)),
        (date(2026, 9, 30), 3, date(2026, 12, 30)),
    ],
)
def test_months_are_calendar_months_clamped_to_the_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("level", "urgency", "timing", "window"),
    [
        (1, "expedited", "pre_service", timedelta(hours=72)),
        (3, "expedited", "post_service", timedelta(hours=72)),
        (1, "standard", "pre_service", timedelta(days=30)),
        (1, "standard", "post_service", timedelta(days=60)),
        (2, "standard", "post_service", timedelta(days=60)),
        (3, "standard", "pre_service", timedelta(days=45)),
        (4, "standard", "post_service", timedelta(days=90)),
    ],
)
def test_decision_windows_by_urgency_timing_and_level(level: int, urgency: str, timing: str, window: timedelta) -> None:
    assert decision_due(SUBMITTED, level, urgency, timing) == SUBMITTED + window  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 4, 16), None),  # 15 days ahead
        (date(2026, 4, 17), "filing_deadline_near"),  # 14 days ahead: the window opens
        (date(2026, 5, 1), "filing_deadline_near"),  # the last day to file
        (date(2026, 5, 2), "filing_deadline_missed"),
    ],
)
def test_filing_flags_of_a_draft(today: date, expected: str | None) -> None:
    assert filing_flag("draft", date(2026, 5, 1), today, 14) == expected


@pytest.mark.parametrize("status", ["submitted", "in_review", "decided", "withdrawn"])
def test_only_a_draft_can_miss_its_filing_deadline(status: str) -> None:
    assert filing_flag(status, date(2026, 5, 1), date(2026, 6, 1), 14) is None


@pytest.mark.parametrize(
    ("status", "late", "expected"),
    [
        ("submitted", True, "decision_overdue"),
        ("in_review", True, "decision_overdue"),
        ("submitted", False, None),
        ("decided", True, None),
        ("withdrawn", True, None),
        ("draft", True, None),
    ],
)
def test_decision_overdue_only_while_awaiting_it(status: str, late: bool, expected: str | None) -> None:
    due = SUBMITTED + timedelta(hours=72)
    now = due + timedelta(seconds=1) if late else due
    assert decision_flag(status, due, now) == expected


def test_no_decision_due_means_never_overdue() -> None:
    assert decision_flag("submitted", None, SUBMITTED + timedelta(days=999)) is None


def test_due_flags_combine_both_kinds() -> None:
    now = datetime(2026, 5, 2, 8, tzinfo=UTC)
    assert due_flags("draft", date(2026, 5, 1), None, today=now.date(), now=now, warning_days=14) == (
        "filing_deadline_missed",
    )
    late = now - timedelta(days=1)
    assert due_flags("in_review", date(2026, 5, 1), late, today=now.date(), now=now, warning_days=14) == (
        "decision_overdue",
    )
    assert due_flags("decided", date(2026, 5, 1), late, today=now.date(), now=now, warning_days=14) == ()
