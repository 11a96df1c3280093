"""The appeal lifecycle, pair by pair, and when an appeal goes up a level."""

from __future__ import annotations

import itertools

import pytest

from plugins.insurance.appeals.states import (
    LEVELS,
    OUTCOMES,
    STATUSES,
    allowed_targets,
    can_escalate,
    can_move,
    level_name,
)

LEGAL = {
    ("draft", "submitted"),
    ("draft", "withdrawn"),
    ("submitted", "in_review"),
    ("submitted", "decided"),
    ("submitted", "withdrawn"),
    ("in_review", "decided"),
    ("in_review", "withdrawn"),
}


def test_the_statuses_and_outcomes() -> None:
    assert set(STATUSES) == {"draft", "submitted", "in_review", "decided", "withdrawn"}
    assert set(OUTCOMES) == {"upheld", "overturned", "partially_overturned"}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(STATUSES, STATUSES)))
def test_each_pair_is_legal_exactly_when_the_lifecycle_says(current: str, target: str) -> None:
    assert can_move(current, target) == ((current, target) in LEGAL)
    assert (target in allowed_targets(current)) == ((current, target) in LEGAL)


@pytest.mark.parametrize(
    ("status", "outcome", "level", "expected"),
    [
        ("decided", "upheld", 1, True),
        ("decided", "upheld", 3, True),
        ("decided", "upheld", 4, False),
        ("decided", "partially_overturned", 2, True),
        ("decided", "overturned", 1, False),
        *[(s, None, 1, False) for s in ("draft", "submitted", "in_review", "withdrawn")],
    ],
)
def test_only_an_adverse_decision_below_level_four_escalates(
    status: str, outcome: str | None, level: int, expected: bool
) -> None:
    assert can_escalate(status, outcome, level) is expected


def test_levels_are_named() -> None:
    assert sorted(LEVELS) == [1, 2, 3, 4]
    assert level_name(1) == "first-level internal appeal"
    assert level_name(3) == "external review"
