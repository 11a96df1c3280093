"""The prior-authorization lifecycle as data: statuses, legal moves, and what a payer's answer means.

draft -> submitted -> (pended ->) decided -> expired, plus cancelled. A coordinator may cancel a
draft, submitted or pended request; only the payer can cancel a decided one (action code C). A
request the payer rejects before reviewing it (AAA: member not found, missing data) goes back to
draft, to be corrected and submitted again in a new round. ``expired`` and ``cancelled`` are final.

``decided`` means the payer's review is complete, not that anything was approved: the ``decision``
says what the payer decided (``not_certified`` is a decision too).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

Status = Literal["draft", "submitted", "pended", "decided", "expired", "cancelled"]
STATUSES: tuple[str, ...] = Status.__args__  # type: ignore[attr-defined]

LineDecision = Literal[
    "certified", "partially_certified", "not_certified", "pended", "modified", "cancelled", "contact_payer"
]  # fmt: skip
"""A payer's decision on one service line (X12 action codes A1, A2, A3, A4, A6, C, CT)."""
LINE_DECISIONS: tuple[str, ...] = LineDecision.__args__  # type: ignore[attr-defined]

Decision = LineDecision
"""The decision on the whole request, derived from its lines by :func:`overall_decision`."""

ACTION_CODES: dict[str, str] = {
    "certified": "A1",
    "partially_certified": "A2",
    "not_certified": "A3",
    "pended": "A4",
    "modified": "A6",
    "cancelled": "C",
    "contact_payer": "CT",
}
"""Decision -> X12 action code (HCR01), the inverse of ``core.payers.messages.DECISIONS``."""

FINAL = frozenset({"expired", "cancelled"})
RUNNING = frozenset({"submitted", "pended"})
"""Statuses in which the payer's decision clock runs."""
CANCELLABLE = frozenset({"draft", "submitted", "pended"})
"""Statuses a coordinator may cancel from; a decided authorization is cancelled only by the payer."""
DECIDABLE = frozenset({"submitted", "pended", "decided"})
"""Statuses in which a payer's answer can be recorded (on ``decided`` only a cancellation)."""
EDITABLE = frozenset({"draft"})

APPROVING = frozenset({"certified", "partially_certified", "modified"})
"""Decisions that let (some of) the services go ahead; only these expire."""
OPEN = frozenset({"pended", "contact_payer"})
"""Line decisions that leave the review open."""
DECIDED = frozenset({"certified", "partially_certified", "not_certified", "modified"})
"""Line decisions that close the review of the line."""

_MOVES: dict[str, frozenset[str]] = {
    "draft": frozenset({"submitted", "cancelled"}),
    "submitted": frozenset({"pended", "decided", "draft", "cancelled"}),  # draft: the payer rejected the request
    "pended": frozenset({"decided", "cancelled"}),
    "decided": frozenset({"expired", "cancelled"}),  # cancelled: by the payer (C), never by a coordinator
    "expired": frozenset(),
    "cancelled": frozenset(),
}


class IllegalMoveError(Exception):
    """``current`` may not become ``requested``."""

    def __init__(self, current: str, requested: str) -> None:
        super().__init__(f"{current} -> {requested}")
        self.current = current
        self.requested = requested


def allowed_targets(current: str) -> frozenset[str]:
    return _MOVES[current]


def can_move(current: str, target: str) -> bool:
    return target in _MOVES[current]


def can_cancel(current: str) -> bool:
    """May a coordinator cancel an authorization in ``current``?"""
    return current in CANCELLABLE


def overall_decision(lines: Iterable[str]) -> Decision:
    """The decision on the request from its lines' decisions.

    - every line cancelled: ``cancelled``; cancelled lines are otherwise left out;
    - a line still pended or to discuss with the payer: ``contact_payer`` when no line is decided
      and one says so, else ``pended`` (the review is not complete);
    - every line certified: ``certified``; every line not certified: ``not_certified``;
    - everything approved, some of it with changes: ``modified``;
    - any other mix (something approved, something partially or not): ``partially_certified``.
    """
    given = list(lines)
    unknown = [d for d in given if d not in LINE_DECISIONS]
    if not given or unknown:
        raise ValueError(f"line decisions must be some of {', '.join(LINE_DECISIONS)}; got {given!r}")
    live = {d for d in given if d != "cancelled"}
    if not live:
        return "cancelled"
    if live & OPEN:
        return "contact_payer" if "contact_payer" in live and not live & DECIDED else "pended"
    if live == {"certified"}:
        return "certified"
    if live == {"not_certified"}:
        return "not_certified"
    if live <= {"certified", "modified"}:
        return "modified"
    return "partially_certified"


def status_for(decision: str) -> Status:
    """The status an authorization takes when the payer's answer amounts to ``decision``."""
    if decision in OPEN:
        return "pended"
    if decision == "cancelled":
        return "cancelled"
    return "decided"


def after_decision(current: str, decision: str) -> Status:
    """The status after recording the payer's ``decision`` on an authorization in ``current``.

    A pended answer on a pended authorization keeps it pended (no move); anything else must be a
    legal move. Raises :class:`IllegalMoveError`.
    """
    target = status_for(decision)
    if current not in DECIDABLE:
        raise IllegalMoveError(current, target)
    if current == "pended" and target == "pended":
        return "pended"
    if current == "decided" and target != "cancelled":
        raise IllegalMoveError(current, target)
    if not can_move(current, target):
        raise IllegalMoveError(current, target)
    return target


def is_approved(status: str, decision: str | None) -> bool:
    """Whether services may go ahead on this authorization now (decided and (partly) approved)."""
    return status == "decided" and decision in APPROVING
