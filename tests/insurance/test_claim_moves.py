"""What a claim carries after each move: amounts and codes kept, replaced or cleared (pure, no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from plugins.insurance.claims.moves import plan_move
from plugins.insurance.claims.schemas import ClaimTransitionIn

TODAY = date(2026, 5, 4)
PAID = {
    "status": "paid",
    "billed_amount": Decimal("250.00"),
    "allowed_amount": Decimal("200.00"),
    "paid_amount": Decimal("150.00"),
    "patient_responsibility": Decimal("50.00"),
    "carc_codes": ["CO-45", "PR-2"],
    "rarc_codes": ["N130"],
    "remittance_date": date(2026, 4, 30),
}
DENIED = {**PAID, "status": "denied", "allowed_amount": Decimal(0), "paid_amount": Decimal(0), "carc_codes": ["CO-50"]}


def plan(row: dict[str, Any], **request: Any) -> tuple[dict[str, Any], list[str]]:
    values, errors = plan_move(row, ClaimTransitionIn(**request), TODAY)
    return values, [field for field, _ in errors]


def test_a_denial_pays_nothing_and_dates_the_remittance_today() -> None:
    accepted = {**PAID, "status": "accepted", "allowed_amount": None, "paid_amount": None, "carc_codes": []}
    values, errors = plan(accepted, to="denied", reason="r", carc_codes=["co-50", "CO-50"])
    assert errors == []
    assert (values["allowed"], values["paid"], values["carc"]) == (Decimal(0), Decimal(0), ["CO-50"])
    assert values["remittance_date"] == TODAY


def test_a_void_keeps_what_the_payer_said() -> None:
    values, errors = plan(DENIED, to="voided", reason="replaced")
    assert errors == []
    assert (values["paid"], values["carc"], values["remittance_date"]) == (Decimal(0), ["CO-50"], date(2026, 4, 30))


def test_reprocessing_clears_the_old_adjudication() -> None:
    values, errors = plan(PAID, to="accepted")
    assert errors == []
    assert (values["allowed"], values["paid"], values["patient_responsibility"]) == (None, None, None)
    assert (values["carc"], values["rarc"], values["remittance_date"]) == ([], [], None)


def test_a_pended_claim_keeps_its_codes_unless_new_ones_come() -> None:
    accepted = {**PAID, "status": "accepted"}
    assert plan(accepted, to="pended", reason="records")[0]["rarc"] == ["N130"]
    assert plan(accepted, to="pended", reason="records", rarc_codes=["M127"])[0]["rarc"] == ["M127"]


def test_amount_rules_are_checked_against_the_billed_amount_after_the_move() -> None:
    rejected = {**PAID, "status": "rejected", "allowed_amount": None, "paid_amount": None}
    values, errors = plan(rejected, to="submitted", billed_amount=Decimal("300.00"))
    assert (values["billed"], errors) == (Decimal("300.00"), [])
    assert plan(rejected, to="submitted", billed_amount=Decimal("-1"))[1] == ["billed_amount"]
    assert plan({**PAID, "status": "accepted"}, to="paid", allowed_amount=Decimal(260), paid_amount=Decimal(1))[1] == [
        "allowed_amount"
    ]
