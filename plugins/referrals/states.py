"""The referral lifecycle as data: which status may follow which.

draft -> sent -> received -> accepted | rejected -> scheduled -> seen -> closed, plus on-hold (back
to where it was held), cancelled, and re-route (the referral becomes ``replaced`` and a new draft
goes to another specialist). ``closed``, ``cancelled`` and ``replaced`` are final.
"""

from __future__ import annotations

from typing import Literal

Status = Literal[
    "draft", "sent", "received", "accepted", "rejected", "scheduled", "seen", "closed", "on_hold", "cancelled",
    "replaced",
]  # fmt: skip
STATUSES: tuple[str, ...] = Status.__args__  # type: ignore[attr-defined]

FINAL = frozenset({"closed", "cancelled", "replaced"})
HOLDABLE = frozenset({"sent", "received", "accepted", "scheduled", "seen"})
"""Statuses a referral can be put on hold from (and resumes to)."""
REROUTABLE = frozenset({"sent", "received", "accepted", "rejected", "on_hold"})
"""Statuses from which a referral may be re-routed to another specialist (before anyone saw the patient)."""

_FORWARD: dict[str, frozenset[str]] = {
    "draft": frozenset({"sent", "cancelled"}),
    "sent": frozenset({"received", "on_hold", "cancelled"}),
    "received": frozenset({"accepted", "rejected", "on_hold", "cancelled"}),
    "accepted": frozenset({"scheduled", "on_hold", "cancelled"}),
    "rejected": frozenset({"cancelled"}),
    "scheduled": frozenset({"seen", "accepted", "on_hold", "cancelled"}),  # accepted: the appointment fell through
    "seen": frozenset({"closed", "on_hold"}),
    "closed": frozenset(),
    "cancelled": frozenset(),
    "replaced": frozenset(),
}


def allowed_targets(current: str, held_from: str | None = None) -> frozenset[str]:
    """Statuses ``current`` may move to; from ``on_hold`` only back to ``held_from`` (or cancelled)."""
    if current == "on_hold":
        return frozenset({held_from, "cancelled"} if held_from in HOLDABLE else {"cancelled"})
    return _FORWARD[current]


def can_move(current: str, target: str, held_from: str | None = None) -> bool:
    return target in allowed_targets(current, held_from)


def can_reroute(current: str) -> bool:
    return current in REROUTABLE


REASON_REQUIRED = frozenset({"rejected", "on_hold", "cancelled"})
"""Moves that must say why (kept in the transition log)."""

SLA_GOAL = "scheduled"
"""The SLA clock runs from ``sent`` until the referral is scheduled (or later): "% scheduled within 72 h"."""
SLA_STOP = frozenset({"scheduled", "seen", "closed", "cancelled", "replaced", "rejected"})
