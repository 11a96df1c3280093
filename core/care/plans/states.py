"""The lifecycles of care plans, goals and activities, and how a goal's progress is measured.

Pure rules, no I/O, so they are unit-tested directly. Status names are FHIR's:
CarePlan.status, Goal.lifecycleStatus and CarePlan.activity.detail.status.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Literal

PlanStatus = Literal["draft", "active", "on-hold", "revoked", "completed", "entered-in-error"]
GoalStatus = Literal[
    "proposed", "planned", "accepted", "active", "on-hold", "completed", "cancelled", "entered-in-error", "rejected"
]
Achievement = Literal["in-progress", "improving", "worsening", "no-change", "achieved", "not-achieved"]
ActivityKind = Literal["appointment", "referral", "task", "education", "medication", "other"]
ActivityStatus = Literal["not-started", "scheduled", "in-progress", "on-hold", "completed", "cancelled", "stopped"]
LinkedType = Literal["appointment", "referral", "task"]

PLAN_TRANSITIONS: Mapping[str, frozenset[str]] = {
    "draft": frozenset({"active", "revoked", "entered-in-error"}),
    "active": frozenset({"on-hold", "completed", "revoked", "entered-in-error"}),
    "on-hold": frozenset({"active", "revoked", "entered-in-error"}),
    "completed": frozenset({"entered-in-error"}),
    "revoked": frozenset({"entered-in-error"}),
    "entered-in-error": frozenset(),
}
"""Legal moves of a plan; ``entered-in-error`` retracts a plan recorded by mistake, from any state."""

PLAN_EDITABLE = frozenset({"draft", "active", "on-hold"})
"""A plan whose goals, activities and details may still change; the others are closed records."""

GOAL_TRANSITIONS: Mapping[str, frozenset[str]] = {
    "proposed": frozenset({"planned", "accepted", "active", "rejected", "cancelled", "entered-in-error"}),
    "planned": frozenset({"accepted", "active", "on-hold", "cancelled", "entered-in-error"}),
    "accepted": frozenset({"active", "on-hold", "cancelled", "entered-in-error"}),
    "active": frozenset({"on-hold", "completed", "cancelled", "entered-in-error"}),
    "on-hold": frozenset({"active", "cancelled", "entered-in-error"}),
    "completed": frozenset({"entered-in-error"}),
    "cancelled": frozenset({"entered-in-error"}),
    "rejected": frozenset({"entered-in-error"}),
    "entered-in-error": frozenset(),
}

ACTIVITY_TRANSITIONS: Mapping[str, frozenset[str]] = {
    "not-started": frozenset({"scheduled", "in-progress", "on-hold", "completed", "cancelled"}),
    "scheduled": frozenset({"in-progress", "on-hold", "completed", "cancelled"}),
    "in-progress": frozenset({"on-hold", "completed", "stopped"}),
    "on-hold": frozenset({"scheduled", "in-progress", "cancelled", "stopped"}),
    "completed": frozenset(),
    "cancelled": frozenset(),
    "stopped": frozenset(),
}


class IllegalTransitionError(Exception):
    """A status change the lifecycle does not allow; the API answers 409 naming both states."""

    def __init__(self, what: str, current: str, requested: str) -> None:
        super().__init__(f"A {what} cannot go from {current} to {requested}")
        self.what = what
        self.current = current
        self.requested = requested


def check_transition(what: str, table: Mapping[str, frozenset[str]], current: str, requested: str) -> None:
    """Raise :class:`IllegalTransitionError` unless ``current`` -> ``requested`` is in ``table``."""
    if requested not in table.get(current, frozenset()):
        raise IllegalTransitionError(what, current, requested)


def goal_progress(
    target_value: Decimal | None, baseline: Decimal | None, latest: Decimal | None
) -> tuple[Decimal, Decimal, Decimal, bool] | None:
    """Progress of a goal: (baseline, latest, percent, target_met), or None without target or measurement.

    ``baseline`` is the first measurement and ``latest`` the last one; whether lower or
    higher is better follows from where the target lies relative to the baseline.
    ``percent`` is the share of the way from baseline to target that the latest value
    has covered, clamped to 0..100 (getting worse is 0, overshooting is 100).
    """
    if target_value is None or baseline is None or latest is None:
        return None
    if baseline == target_value:
        met = latest == target_value
        return baseline, latest, Decimal(100 if met else 0), met
    lower_is_better = target_value < baseline
    met = latest <= target_value if lower_is_better else latest >= target_value
    fraction = (baseline - latest) / (baseline - target_value)
    percent = min(max(fraction * 100, Decimal(0)), Decimal(100)).quantize(Decimal("0.1"))
    return baseline, latest, percent, met
