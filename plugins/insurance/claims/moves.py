"""What a move of a claim carries: the amounts and codes after it, and the rules the request breaks.

A pure function of the claim's row and the request, so each rule is testable without a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from plugins.insurance.claims import rules, states
from plugins.insurance.claims.schemas import ClaimTransitionIn

FRESH = frozenset({"submitted", "accepted"}) | states.ADJUDICATED
"""Moves after which the claim carries only the codes given with them (a new answer replaces the old one)."""


def plan_move(row: Mapping[str, Any], data: ClaimTransitionIn, today: date) -> tuple[dict[str, Any], rules.Errors]:
    """The claim's values after the move ``data`` (the claim now being ``row``) and every rule the request breaks.

    The move itself must already be legal; this checks what comes with it.
    """
    target = data.to
    adjudicating = target in states.ADJUDICATED
    carc, errors = rules.normalize_codes("carc_codes", data.carc_codes, "CARC")
    rarc, rarc_errors = rules.normalize_codes("rarc_codes", data.rarc_codes, "RARC")
    errors += rarc_errors
    if target in states.REASON_REQUIRED and not data.reason:
        errors.append(("reason", f"moving a claim to {target} needs a reason"))
    if target in states.CARC_REQUIRED and not data.carc_codes:
        errors.append(("carc_codes", "a denial needs the payer's claim adjustment reason code(s), e.g. CO-50"))
    if target in states.AMOUNTS_REQUIRED:
        errors += [
            (f, f"recording a payment needs {f}") for f in ("allowed_amount", "paid_amount") if getattr(data, f) is None
        ]
    if data.billed_amount is not None and not (row["status"] == "rejected" and target == "submitted"):
        errors.append(("billed_amount", "billed_amount changes only when a rejected claim is resubmitted"))
    if not adjudicating:
        for field in ("allowed_amount", "paid_amount", "patient_responsibility", "remittance_date"):
            if getattr(data, field) is not None:
                errors.append((field, f"{field} is recorded with an adjudication (paid or denied)"))
    elif target == "denied" and data.paid_amount not in (None, Decimal(0)):
        errors.append(("paid_amount", "a denied claim pays nothing; record a partial payment as paid"))
    if data.remittance_date is not None and data.remittance_date > today:
        errors.append(("remittance_date", "remittance_date must not be in the future"))
    values: dict[str, Any] = {
        "billed": row["billed_amount"] if data.billed_amount is None else data.billed_amount,
        "carc": carc if carc or target in FRESH else list(row["carc_codes"]),
        "rarc": rarc if rarc or target in FRESH else list(row["rarc_codes"]),
    }
    if adjudicating:
        zero = Decimal(0) if target == "denied" else None
        values.update(
            allowed=zero if data.allowed_amount is None else data.allowed_amount,
            paid=zero if data.paid_amount is None else data.paid_amount,
            patient_responsibility=data.patient_responsibility,
            remittance_date=data.remittance_date or today,
        )
    elif target == "voided":  # a void keeps what the payer last said
        values.update(
            allowed=row["allowed_amount"],
            paid=row["paid_amount"],
            patient_responsibility=row["patient_responsibility"],
            remittance_date=row["remittance_date"],
        )
    else:  # in process (again): no adjudication stands
        values.update(allowed=None, paid=None, patient_responsibility=None, remittance_date=None)
    if not errors:
        errors += rules.check_amounts(
            values["billed"], values["allowed"], values["paid"], values["patient_responsibility"]
        )
    return values, errors
