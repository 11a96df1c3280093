"""The referral lifecycle, pair by pair: every legal move and every illegal one."""

from __future__ import annotations

import itertools

import pytest

from plugins.referrals.states import STATUSES, allowed_targets, can_move, can_reroute

# Written out independently of the implementation's table, in the order a referral lives.
LEGAL = {
    ("draft", "sent"),
    ("draft", "cancelled"),
    ("sent", "received"),
    ("sent", "on_hold"),
    ("sent", "cancelled"),
    ("received", "accepted"),
    ("received", "rejected"),
    ("received", "on_hold"),
    ("received", "cancelled"),
    ("accepted", "scheduled"),
    ("accepted", "on_hold"),
    ("accepted", "cancelled"),
    ("rejected", "cancelled"),
    ("scheduled", "seen"),
    ("scheduled", "accepted"),
    ("scheduled", "on_hold"),
    ("scheduled", "cancelled"),
    ("seen", "closed"),
    ("seen", "on_hold"),
}
NOT_ON_HOLD = [s for s in STATUSES if s != "on_hold"]


@pytest.mark.parametrize(("current", "target"), list(itertools.product(NOT_ON_HOLD, STATUSES)))
def test_each_pair_is_legal_exactly_when_the_lifecycle_says(current: str, target: str) -> None:
    assert can_move(current, target) == ((current, target) in LEGAL)


@pytest.mark.parametrize("held_from", ["sent", "received", "accepted", "scheduled", "seen"])
def test_on_hold_resumes_only_where_it_was_held_or_cancels(held_from: str) -> None:
    assert allowed_targets("on_hold", held_from) == {held_from, "cancelled"}
    for target in STATUSES:
        assert can_move("on_hold", target, held_from) == (target in {held_from, "cancelled"})


@pytest.mark.parametrize("held_from", [None, "draft", "closed", "on_hold"])
def test_on_hold_without_a_resumable_origin_can_only_be_cancelled(held_from: str | None) -> None:
    assert allowed_targets("on_hold", held_from) == {"cancelled"}


@pytest.mark.parametrize("final", ["closed", "cancelled", "replaced"])
def test_final_statuses_go_nowhere_and_cannot_be_rerouted(final: str) -> None:
    assert allowed_targets(final) == frozenset()
    assert not can_reroute(final)


def test_rerouting_is_for_referrals_nobody_has_seen_the_patient_for() -> None:
    assert {s for s in STATUSES if can_reroute(s)} == {"sent", "received", "accepted", "rejected", "on_hold"}
