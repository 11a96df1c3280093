"""The FHIR Task state machine: which status may follow which.

Pure data and functions, no I/O, so the whole matrix is unit-tested directly.

- ``draft`` is a task not yet actionable; ``requested`` is waiting for an owner to act.
- ``received`` / ``accepted`` / ``rejected`` are the owner's answer; ``ready`` means it can start.
- ``in-progress`` and ``on-hold`` while it is worked; it ends ``completed``, ``failed`` or ``cancelled``.
- Any status except ``entered-in-error`` itself may become ``entered-in-error`` (recorded by mistake).
"""

from __future__ import annotations

from typing import Final, Literal, get_args

TaskStatus = Literal[
    "draft",
    "requested",
    "received",
    "accepted",
    "rejected",
    "ready",
    "cancelled",
    "in-progress",
    "on-hold",
    "failed",
    "completed",
    "entered-in-error",
]
STATUSES: Final[tuple[str, ...]] = get_args(TaskStatus)

_ERROR = "entered-in-error"

TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "draft": frozenset({"requested", "ready", "cancelled", _ERROR}),
    "requested": frozenset({"received", "accepted", "rejected", "ready", "in-progress", "cancelled", _ERROR}),
    "received": frozenset({"accepted", "rejected", "ready", "in-progress", "cancelled", _ERROR}),
    "accepted": frozenset({"ready", "in-progress", "on-hold", "cancelled", _ERROR}),
    "rejected": frozenset({_ERROR}),
    "ready": frozenset({"in-progress", "on-hold", "completed", "failed", "cancelled", _ERROR}),
    "in-progress": frozenset({"on-hold", "completed", "failed", "cancelled", _ERROR}),
    "on-hold": frozenset({"ready", "in-progress", "failed", "cancelled", _ERROR}),
    "cancelled": frozenset({_ERROR}),
    "failed": frozenset({_ERROR}),
    "completed": frozenset({_ERROR}),
    _ERROR: frozenset(),
}

INITIAL: Final[frozenset[str]] = frozenset({"draft", "requested", "received", "accepted", "ready", "in-progress"})
"""Statuses a task may be created in."""

CLOSED: Final[frozenset[str]] = frozenset({"rejected", "cancelled", "failed", "completed", _ERROR})
"""Statuses in which nobody works on the task any more: never overdue, off the default worklist."""

OPEN: Final[frozenset[str]] = frozenset(STATUSES) - CLOSED


class IllegalTransitionError(Exception):
    """``requested`` may not follow ``current``."""

    def __init__(self, current: str, requested: str) -> None:
        super().__init__(f"A task cannot go from {current!r} to {requested!r}")
        self.current = current
        self.requested = requested


def can_transition(current: str, requested: str) -> bool:
    """True when ``requested`` may follow ``current`` (staying in the same status is not a transition)."""
    return requested in TRANSITIONS.get(current, frozenset())


def check_transition(current: str, requested: str) -> None:
    """Raise IllegalTransitionError unless ``requested`` may follow ``current``."""
    if not can_transition(current, requested):
        raise IllegalTransitionError(current, requested)
