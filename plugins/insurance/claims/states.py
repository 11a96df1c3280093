"""The claim lifecycle as data: which status may follow which.

A claim is recorded when it goes to the payer (``submitted``). The payer's front end accepts it
for adjudication (``accepted``) or rejects it unprocessed (``rejected``: fix it and resubmit, back
to ``submitted``). An accepted claim may be held for information (``pended``) and is adjudicated
as ``paid`` (in full or in part: the amounts say which) or ``denied``. A provider may void a claim
that was not paid. ``paid`` and ``denied`` are the payer's answer and stay put, unless an appeal
of the claim was overturned after it: the payer then reprocesses the claim (``accepted``) or pays
it (``paid``). ``voided`` is final.
"""

from __future__ import annotations

from typing import Literal

Status = Literal["submitted", "accepted", "rejected", "pended", "paid", "denied", "voided"]
STATUSES: tuple[str, ...] = Status.__args__  # type: ignore[attr-defined]

FINAL = frozenset({"voided"})
ADJUDICATED = frozenset({"paid", "denied"})
"""The payer's decision on the claim (an 835 remittance or an explanation of benefits)."""
APPEALABLE = frozenset({"denied", "paid"})
"""A claim can be appealed when it was denied, or paid less than billed (a partial denial)."""

_FORWARD: dict[str, frozenset[str]] = {
    "submitted": frozenset({"accepted", "rejected", "voided"}),
    "accepted": frozenset({"pended", "paid", "denied", "voided"}),
    "rejected": frozenset({"submitted", "voided"}),
    "pended": frozenset({"paid", "denied", "voided"}),
    "paid": frozenset(),
    "denied": frozenset({"voided"}),
    "voided": frozenset(),
}
_AFTER_OVERTURN: dict[str, frozenset[str]] = {
    "denied": frozenset({"accepted", "paid"}),
    "paid": frozenset({"accepted"}),
}
"""Moves an appeal overturned (fully or partly) after the claim's adjudication opens again."""


def allowed_targets(current: str, overturned: bool = False) -> frozenset[str]:
    """Statuses ``current`` may move to; ``overturned``: an appeal was won since the claim got here."""
    targets = _FORWARD[current]
    if overturned:
        targets = targets | _AFTER_OVERTURN.get(current, frozenset())
    return targets


def can_move(current: str, target: str, overturned: bool = False) -> bool:
    return target in allowed_targets(current, overturned)


def needs_overturn(current: str, target: str) -> bool:
    """The move is only legal after an overturned appeal (so a refusal can say so)."""
    return target in _AFTER_OVERTURN.get(current, frozenset())


REASON_REQUIRED = frozenset({"rejected", "pended", "denied", "voided"})
"""Moves that must say why (kept in the transition log)."""
CARC_REQUIRED = frozenset({"denied"})
"""A denial carries the payer's claim adjustment reason code(s), e.g. ``CO-50``."""
AMOUNTS_REQUIRED = frozenset({"paid"})
"""Recording a payment needs the allowed and paid amounts."""
