"""The appeal lifecycle as data: which status may follow which, and when an appeal goes up a level.

An appeal is prepared (``draft``), filed with the payer or reviewer (``submitted``), taken up
(``in_review``) and ``decided`` with an outcome. It may be ``withdrawn`` until it is decided.
``decided`` and ``withdrawn`` are final: a decision that still leaves the patient with an adverse
determination (``upheld``, or ``partially_overturned``) is taken further as a new appeal one level
up, until level 4.
"""

from __future__ import annotations

from typing import Literal

Status = Literal["draft", "submitted", "in_review", "decided", "withdrawn"]
STATUSES: tuple[str, ...] = Status.__args__  # type: ignore[attr-defined]
Outcome = Literal["upheld", "overturned", "partially_overturned"]
OUTCOMES: tuple[str, ...] = Outcome.__args__  # type: ignore[attr-defined]
Urgency = Literal["expedited", "standard"]

FINAL = frozenset({"decided", "withdrawn"})
OPEN = frozenset({"draft", "submitted", "in_review"})
AWAITING_DECISION = frozenset({"submitted", "in_review"})

_FORWARD: dict[str, frozenset[str]] = {
    "draft": frozenset({"submitted", "withdrawn"}),
    "submitted": frozenset({"in_review", "decided", "withdrawn"}),
    "in_review": frozenset({"decided", "withdrawn"}),
    "decided": frozenset(),
    "withdrawn": frozenset(),
}

REASON_REQUIRED = frozenset({"withdrawn"})
"""Moves that must say why."""
ARGUMENTS_REQUIRED = frozenset({"submitted"})
"""Filing an appeal needs its arguments written down (on the draft or with the move)."""
OUTCOME_REQUIRED = frozenset({"decided"})

LEVELS: dict[int, str] = {
    1: "first-level internal appeal",
    2: "second-level internal appeal",
    3: "external review",
    4: "further or administrative appeal",
}
MAX_LEVEL = max(LEVELS)
ADVERSE = frozenset({"upheld", "partially_overturned"})
"""Outcomes that leave something to appeal at the next level."""
FAVOURABLE = frozenset({"overturned", "partially_overturned"})
"""Outcomes that let the payer reprocess the claim or authorization."""


def allowed_targets(current: str) -> frozenset[str]:
    return _FORWARD[current]


def can_move(current: str, target: str) -> bool:
    return target in _FORWARD[current]


def can_escalate(status: str, outcome: str | None, level: int) -> bool:
    """A decided appeal whose outcome is still adverse goes one level up, at most to level 4."""
    return status == "decided" and outcome in ADVERSE and level < MAX_LEVEL


def level_name(level: int) -> str:
    return LEVELS[level]
