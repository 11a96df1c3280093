"""Claim amounts and reason codes: pure checks answering field errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from plugins.insurance.claims.rules import check_amounts, check_money, normalize_codes


@pytest.mark.parametrize(
    ("billed", "allowed", "paid", "responsibility", "fields"),
    [
        (Decimal("200"), Decimal("150"), Decimal("120"), Decimal("30"), []),
        (Decimal("200"), Decimal("0"), Decimal("0"), Decimal("200"), []),  # not covered: all the patient's (PR-204)
        (Decimal("200"), None, None, None, []),
        (Decimal("200"), Decimal("250"), Decimal("100"), None, ["allowed_amount"]),
        (Decimal("200"), Decimal("150"), Decimal("160"), None, ["paid_amount"]),
        (Decimal("200"), None, Decimal("201"), None, ["paid_amount"]),
        (Decimal("200"), Decimal("200"), Decimal("150"), Decimal("60"), ["patient_responsibility"]),
        (Decimal("-1"), None, None, None, ["billed_amount"]),
        (
            Decimal("200"),
            Decimal("-5"),
            Decimal("-1"),
            Decimal("-2"),
            ["allowed_amount", "paid_amount", "patient_responsibility"],
        ),
        (Decimal("10.005"), None, None, None, ["billed_amount"]),
        (Decimal("NaN"), None, None, None, ["billed_amount"]),
        (Decimal("10000000000"), None, None, None, ["billed_amount"]),
    ],
)
def test_amounts_stay_in_order(
    billed: Decimal, allowed: Decimal | None, paid: Decimal | None, responsibility: Decimal | None, fields: list[str]
) -> None:
    assert [field for field, _ in check_amounts(billed, allowed, paid, responsibility)] == fields


def test_trailing_zeros_are_cents_not_more_places() -> None:
    assert check_money("paid_amount", Decimal("12.500")) == []
    assert check_money("paid_amount", Decimal("1E+2")) == []


def test_carc_codes_take_an_optional_group_and_are_upper_cased_once() -> None:
    codes, errors = normalize_codes("carc_codes", ["co-50", "PR-1", "CO-50", "97", "B7", "XX-1", "50A"], "CARC")
    assert codes == ["CO-50", "PR-1", "97", "B7"]
    assert [field for field, _ in errors] == ["carc_codes", "carc_codes"]
    assert "'XX-1' is not a CARC code" in errors[0][1]


def test_rarc_codes() -> None:
    codes, errors = normalize_codes("rarc_codes", ["N115", "ma130", "M15", "X1", "N"], "RARC")
    assert codes == ["N115", "MA130", "M15"]
    assert len(errors) == 2
