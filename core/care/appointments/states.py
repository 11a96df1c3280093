"""The appointment status state machine (FHIR Appointment.status), pure and without I/O.

``TRANSITIONS`` is the whole truth: a status may move only to the statuses listed
for it. ``fulfilled`` is terminal except for the correction ``entered-in-error``;
``cancelled``, ``noshow`` and ``entered-in-error`` are final.
"""

from __future__ import annotations

from typing import Literal, get_args

Status = Literal[
    "proposed",
    "pending",
    "booked",
    "arrived",
    "checked-in",
    "fulfilled",
    "cancelled",
    "noshow",
    "entered-in-error",
]
STATUSES: tuple[str, ...] = get_args(Status)

TRANSITIONS: dict[str, frozenset[str]] = {
    "proposed": frozenset({"pending", "booked", "cancelled", "entered-in-error"}),
    "pending": frozenset({"booked", "cancelled", "entered-in-error"}),
    "booked": frozenset({"arrived", "checked-in", "cancelled", "noshow", "entered-in-error"}),
    "arrived": frozenset({"checked-in", "fulfilled", "entered-in-error"}),
    "checked-in": frozenset({"fulfilled", "entered-in-error"}),
    "fulfilled": frozenset({"entered-in-error"}),
    "cancelled": frozenset(),
    "noshow": frozenset(),
    "entered-in-error": frozenset(),
}

TERMINAL = frozenset({"fulfilled", "cancelled", "noshow", "entered-in-error"})
"""Statuses the appointment's own life has ended in (``fulfilled`` may still be corrected)."""
OCCUPYING = frozenset({"booked", "arrived", "checked-in"})
"""Statuses that hold the time slot: a new booking must not overlap one of these."""
RESCHEDULABLE = frozenset({"proposed", "pending", "booked"})
"""Statuses whose start and end may still change."""
INITIAL = frozenset({"proposed", "booked"})
"""Statuses an appointment may be created in."""


class IllegalTransitionError(ValueError):
    """``current`` may not move to ``requested``."""

    def __init__(self, current: str, requested: str) -> None:
        super().__init__(f"An appointment in status {current!r} cannot move to {requested!r}")
        self.current = current
        self.requested = requested


def allowed(current: str, requested: str) -> bool:
    """True when an appointment in ``current`` may move to ``requested``."""
    return requested in TRANSITIONS.get(current, frozenset())


def check_transition(current: str, requested: str) -> None:
    """Raise IllegalTransitionError unless ``current`` -> ``requested`` is legal."""
    if not allowed(current, requested):
        raise IllegalTransitionError(current, requested)
