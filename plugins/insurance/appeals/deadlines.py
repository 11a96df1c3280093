"""Appeal deadlines: when an appeal must be filed, when its decision is due, which flags are due.

The defaults follow the U.S. federal floors for group health plans (ERISA claims procedure and
the ACA internal/external review rules) and Medicare's later levels; a payer's letter that names
other dates wins, so every default can be overridden when the appeal is recorded or submitted.

Filing window, counted from the adverse decision being appealed (the denial, or the previous
level's decision):

- levels 1 and 2 (internal): 180 days;
- level 3 (external review): 4 calendar months;
- level 4 (further or administrative appeal): 60 days.

Decision window, counted from submission: 72 hours for an expedited appeal at any level;
otherwise 30 days for a pre-service appeal (a prior authorization) and 60 days for a post-service
appeal (a claim) at the internal levels, 45 days for an external review and 90 days at level 4.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from typing import Literal

from plugins.insurance.appeals.states import AWAITING_DECISION

Timing = Literal["pre_service", "post_service"]
Flag = Literal["filing_deadline_near", "filing_deadline_missed", "decision_overdue"]

INTERNAL_FILING_DAYS = 180
EXTERNAL_FILING_MONTHS = 4
FURTHER_FILING_DAYS = 60
EXPEDITED_DECISION = timedelta(hours=72)
STANDARD_DECISION: dict[tuple[int, Timing], timedelta] = {
    (1, "pre_service"): timedelta(days=30),
    (1, "post_service"): timedelta(days=60),
    (2, "pre_service"): timedelta(days=30),
    (2, "post_service"): timedelta(days=60),
    (3, "pre_service"): timedelta(days=45),
    (3, "post_service"): timedelta(days=45),
    (4, "pre_service"): timedelta(days=90),
    (4, "post_service"): timedelta(days=90),
}


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it is shorter (Aug 31 + 1 -> Sep 30)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def filing_deadline(level: int, adverse_on: date) -> date:
    """The last day to file a level-``level`` appeal of a decision dated ``adverse_on``."""
    if level in (1, 2):
        return adverse_on + timedelta(days=INTERNAL_FILING_DAYS)
    if level == 3:
        return add_months(adverse_on, EXTERNAL_FILING_MONTHS)
    if level == 4:
        return adverse_on + timedelta(days=FURTHER_FILING_DAYS)
    raise ValueError(f"appeal levels are 1 to 4, not {level}")


def decision_due(submitted_at: datetime, level: int, urgency: str, timing: Timing) -> datetime:
    """When the reviewer owes a decision on an appeal submitted at ``submitted_at``."""
    if urgency == "expedited":
        return submitted_at + EXPEDITED_DECISION
    return submitted_at + STANDARD_DECISION[(level, timing)]


def filing_flag(status: str, deadline: date, today: date, warning_days: int) -> Flag | None:
    """For a draft: ``filing_deadline_missed`` after the deadline, ``_near`` in the warning window."""
    if status != "draft":
        return None
    if today > deadline:
        return "filing_deadline_missed"
    if today >= deadline - timedelta(days=warning_days):
        return "filing_deadline_near"
    return None


def decision_flag(status: str, due_at: datetime | None, now: datetime) -> Flag | None:
    """For a filed appeal: ``decision_overdue`` once its decision is past due."""
    if status in AWAITING_DECISION and due_at is not None and now > due_at:
        return "decision_overdue"
    return None


def due_flags(
    status: str, deadline: date, due_at: datetime | None, *, today: date, now: datetime, warning_days: int
) -> tuple[Flag, ...]:
    """Every flag an appeal should carry now (the caller raises each at most once)."""
    return tuple(
        flag
        for flag in (filing_flag(status, deadline, today, warning_days), decision_flag(status, due_at, now))
        if flag is not None
    )
