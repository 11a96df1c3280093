"""The prior-authorization lifecycle, pair by pair, and the overall decision derived from the lines."""

from __future__ import annotations

import itertools

import pytest

from core.payers.messages import DECISIONS
from plugins.insurance.authorizations.states import (
    ACTION_CODES,
    LINE_DECISIONS,
    STATUSES,
    IllegalMoveError,
    after_decision,
    allowed_targets,
    can_cancel,
    can_move,
    is_approved,
    overall_decision,
    status_for,
)

# Written out independently of the implementation's table, in the order an authorization lives.
LEGAL = {
    ("draft", "submitted"),
    ("draft", "cancelled"),
    ("submitted", "pended"),
    ("submitted", "decided"),
    ("submitted", "draft"),  # the payer rejected the request (AAA): corrected and resubmitted
    ("submitted", "cancelled"),
    ("pended", "decided"),
    ("pended", "cancelled"),
    ("decided", "expired"),
    ("decided", "cancelled"),  # the payer's C
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(STATUSES, STATUSES)))
def test_each_pair_is_legal_exactly_when_the_lifecycle_says(current: str, target: str) -> None:
    assert can_move(current, target) == ((current, target) in LEGAL)


def test_the_statuses_are_the_six_of_the_lifecycle() -> None:
    assert set(STATUSES) == {"draft", "submitted", "pended", "decided", "expired", "cancelled"}


@pytest.mark.parametrize("final", ["expired", "cancelled"])
def test_final_statuses_go_nowhere(final: str) -> None:
    assert allowed_targets(final) == frozenset()


@pytest.mark.parametrize("status", STATUSES)
def test_a_coordinator_cancels_only_before_the_decision(status: str) -> None:
    assert can_cancel(status) == (status in {"draft", "submitted", "pended"})


# (line decisions, overall decision)
OVERALL = [
    (["certified"], "certified"),
    (["certified", "certified"], "certified"),
    (["not_certified"], "not_certified"),
    (["not_certified", "not_certified"], "not_certified"),
    (["certified", "not_certified"], "partially_certified"),
    (["partially_certified"], "partially_certified"),
    (["certified", "partially_certified"], "partially_certified"),
    (["modified", "not_certified"], "partially_certified"),
    (["modified"], "modified"),
    (["certified", "modified"], "modified"),
    (["cancelled"], "cancelled"),
    (["cancelled", "cancelled"], "cancelled"),
    (["certified", "cancelled"], "certified"),  # a cancelled line leaves the others' decision
    (["not_certified", "cancelled"], "not_certified"),
    (["pended"], "pended"),
    (["certified", "pended"], "pended"),  # review not complete while a line is pended
    (["contact_payer"], "contact_payer"),
    (["contact_payer", "pended"], "contact_payer"),
    (["contact_payer", "cancelled"], "contact_payer"),
    (["certified", "contact_payer"], "pended"),  # something decided: the review is under way
]


@pytest.mark.parametrize(("lines", "expected"), OVERALL)
def test_the_overall_decision_follows_the_lines(lines: list[str], expected: str) -> None:
    assert overall_decision(lines) == expected
    assert overall_decision(reversed(lines)) == expected


@pytest.mark.parametrize("bad", [[], ["approved"], ["certified", "A1"]])
def test_no_lines_or_unknown_decisions_are_refused(bad: list[str]) -> None:
    with pytest.raises(ValueError, match="line decisions"):
        overall_decision(bad)


@pytest.mark.parametrize(
    ("decision", "status"),
    [
        ("certified", "decided"),
        ("partially_certified", "decided"),
        ("not_certified", "decided"),
        ("modified", "decided"),
        ("pended", "pended"),
        ("contact_payer", "pended"),
        ("cancelled", "cancelled"),
    ],
)
def test_each_decision_leads_to_its_status(decision: str, status: str) -> None:
    assert status_for(decision) == status


def test_processing_complete_is_not_approved() -> None:
    assert not is_approved("decided", "not_certified")
    assert not is_approved("pended", "pended")
    assert not is_approved("expired", "certified")
    assert not is_approved("cancelled", "cancelled")
    assert {d for d in LINE_DECISIONS if is_approved("decided", d)} == {"certified", "partially_certified", "modified"}


# (current status, overall decision recorded) -> status after, or None when refused
AFTER = {
    ("submitted", "certified"): "decided",
    ("submitted", "not_certified"): "decided",
    ("submitted", "pended"): "pended",
    ("submitted", "contact_payer"): "pended",
    ("submitted", "cancelled"): "cancelled",
    ("pended", "certified"): "decided",
    ("pended", "partially_certified"): "decided",
    ("pended", "pended"): "pended",  # still pended: recorded, no move
    ("pended", "contact_payer"): "pended",
    ("pended", "cancelled"): "cancelled",
    ("decided", "cancelled"): "cancelled",  # the payer withdraws its decision
}


@pytest.mark.parametrize(("current", "decision"), list(itertools.product(STATUSES, LINE_DECISIONS)))
def test_recording_a_decision_moves_only_where_allowed(current: str, decision: str) -> None:
    expected = AFTER.get((current, decision))
    if expected is None and current in {"submitted", "pended"}:
        expected = "decided"  # every other real decision closes the review
    if expected is None:
        with pytest.raises(IllegalMoveError) as refused:
            after_decision(current, decision)
        assert refused.value.current == current
    else:
        assert after_decision(current, decision) == expected


def test_action_codes_are_the_inverse_of_the_payer_messages_table() -> None:
    assert {code: decision for decision, code in ACTION_CODES.items()} == DECISIONS
