"""The claim lifecycle, pair by pair: every legal move and every illegal one, with and without a won appeal."""

from __future__ import annotations

import itertools

import pytest

from plugins.insurance.claims.states import (
    ADJUDICATED,
    APPEALABLE,
    FINAL,
    REASON_REQUIRED,
    STATUSES,
    allowed_targets,
    can_move,
    needs_overturn,
)

# Written out independently of the implementation's table, in the order a claim lives.
LEGAL = {
    ("submitted", "accepted"),
    ("submitted", "rejected"),
    ("submitted", "voided"),
    ("rejected", "submitted"),
    ("rejected", "voided"),
    ("accepted", "pended"),
    ("accepted", "paid"),
    ("accepted", "denied"),
    ("accepted", "voided"),
    ("pended", "paid"),
    ("pended", "denied"),
    ("pended", "voided"),
    ("denied", "voided"),
}
AFTER_OVERTURN = {("denied", "accepted"), ("denied", "paid"), ("paid", "accepted")}


def test_the_statuses_are_the_lifecycle() -> None:
    assert set(STATUSES) == {"submitted", "accepted", "rejected", "pended", "paid", "denied", "voided"}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(STATUSES, STATUSES)))
def test_each_pair_is_legal_exactly_when_the_lifecycle_says(current: str, target: str) -> None:
    assert can_move(current, target) == ((current, target) in LEGAL)
    assert (target in allowed_targets(current)) == ((current, target) in LEGAL)


@pytest.mark.parametrize(("current", "target"), list(itertools.product(STATUSES, STATUSES)))
def test_an_overturned_appeal_reopens_only_the_adjudicated_claim(current: str, target: str) -> None:
    assert can_move(current, target, overturned=True) == ((current, target) in LEGAL | AFTER_OVERTURN)
    assert needs_overturn(current, target) == ((current, target) in AFTER_OVERTURN)


def test_voided_is_final_and_paid_waits_for_an_appeal() -> None:
    assert {"voided"} == FINAL
    assert allowed_targets("voided", overturned=True) == frozenset()
    assert allowed_targets("paid") == frozenset()
    assert {"paid", "denied"} == ADJUDICATED
    assert {"paid", "denied"} == APPEALABLE


def test_refusals_and_denials_must_say_why() -> None:
    assert {"rejected", "denied"} <= REASON_REQUIRED
    assert not {"submitted", "accepted", "paid"} & REASON_REQUIRED
