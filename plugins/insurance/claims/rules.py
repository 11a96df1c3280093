"""Checks on a claim's amounts and reason codes, as pure functions returning ``(field, message)`` errors."""

from __future__ import annotations

from decimal import Decimal

from plugins.insurance.validation import CARC, RARC

MAX_AMOUNT = Decimal("9999999999.99")
"""numeric(12,2)."""
Errors = list[tuple[str, str]]


def check_money(field: str, value: Decimal | None) -> Errors:
    """A finite, non-negative amount with at most two decimal places."""
    if value is None:
        return []
    if not value.is_finite():
        return [(field, f"{field} must be a number")]
    if value < 0:
        return [(field, f"{field} must not be negative")]
    if value > MAX_AMOUNT:
        return [(field, f"{field} must be at most {MAX_AMOUNT}")]
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and value != value.quantize(Decimal("0.01")):
        return [(field, f"{field} has at most two decimal places (cents)")]
    return []


def check_amounts(
    billed: Decimal, allowed: Decimal | None, paid: Decimal | None, patient_responsibility: Decimal | None
) -> Errors:
    """Each amount well formed, and ``paid <= allowed <= billed``, ``paid + patient_responsibility <= billed``.

    Patient responsibility is compared with the billed amount, not the allowed one: a service the
    plan does not cover (``PR-204``) is the patient's although the payer allowed nothing for it.
    """
    errors = [
        *check_money("billed_amount", billed),
        *check_money("allowed_amount", allowed),
        *check_money("paid_amount", paid),
        *check_money("patient_responsibility", patient_responsibility),
    ]
    if errors:
        return errors
    if allowed is not None and allowed > billed:
        errors.append(("allowed_amount", f"allowed_amount {allowed} exceeds billed_amount {billed}"))
    if paid is not None and allowed is not None and paid > allowed:
        errors.append(("paid_amount", f"paid_amount {paid} exceeds allowed_amount {allowed}"))
    elif paid is not None and paid > billed:
        errors.append(("paid_amount", f"paid_amount {paid} exceeds billed_amount {billed}"))
    if patient_responsibility is not None and (paid or Decimal(0)) + patient_responsibility > billed:
        errors.append(
            ("patient_responsibility", "paid_amount and patient_responsibility together exceed billed_amount")
        )
    return errors


def normalize_codes(field: str, codes: list[str], kind: str) -> tuple[list[str], Errors]:
    """Codes upper-cased, duplicates dropped (first kept); errors name each malformed one."""
    pattern = CARC if kind == "CARC" else RARC
    example = "CO-50 or PR-1" if kind == "CARC" else "N115 or MA130"
    cleaned: list[str] = []
    errors: Errors = []
    for code in codes:
        value = code.strip().upper()
        if not pattern.match(value):
            errors.append((field, f"{code!r} is not a {kind} code (e.g. {example})"))
        elif value not in cleaned:
            cleaned.append(value)
    return cleaned, errors
