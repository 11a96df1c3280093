"""270 building and 271 reading (pure, no services)."""

from __future__ import annotations

import random
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.payers.messages import Benefit, EligibilityInquiry, EligibilityResult, Party, Person, Rejection
from plugins.insurance.x12 import X12SyntaxError, build_270, parse_271
from plugins.insurance.x12.envelope import levels, parse_interchange

SAMPLES = Path(__file__).parent / "samples"
NOW = datetime(2026, 3, 2, 9, 30)
PAYER = Party(name="ACME HEALTH PLAN", identifier="ACME01")
PROVIDER = Party(name="RIVERSIDE CLINIC", identifier="1234567893")
SUBSCRIBER = Person(
    last_name="RIVERA",
    first_name="ANA",
    birth_date=date(1984, 2, 11),
    gender="F",
    member_id="W100200300",
    group_number="GRP-100",
)
CHILD = Person(last_name="RIVERA", first_name="LUCIA", birth_date=date(2016, 7, 4), gender="F")


def sample(name: str) -> str:
    return (SAMPLES / name).read_bytes().decode()


def inquiry(**overrides: object) -> EligibilityInquiry:
    fields: dict[str, object] = {
        "payer": PAYER,
        "provider": PROVIDER,
        "subscriber": SUBSCRIBER,
        "as_of": date(2026, 3, 2),
        "trace_number": "ELIG-1001",
    }
    fields.update(overrides)
    return EligibilityInquiry(**fields)  # type: ignore[arg-type]


def build(request: EligibilityInquiry) -> str:
    return build_270(request, sender_id="CARECOORD", receiver_id="ACMEHP", control_number=1001, now=NOW)


def test_build_270_for_the_subscriber() -> None:
    assert build(inquiry(service_types=("30", "98"))).split("~") == [
        "ISA*00*          *00*          *ZZ*CARECOORD      *ZZ*ACMEHP         *260302*0930*^*00501*000001001*0*P*:",
        "GS*HS*CARECOORD*ACMEHP*20260302*0930*1001*X*005010X279A1",
        "ST*270*1001*005010X279A1",
        "BHT*0022*13*ELIG-1001*20260302*0930",
        "HL*1**20*1",
        "NM1*PR*2*ACME HEALTH PLAN*****PI*ACME01",
        "HL*2*1*21*1",
        "NM1*1P*2*RIVERSIDE CLINIC*****XX*1234567893",
        "HL*3*2*22*0",
        "TRN*1*ELIG-1001*9CARECOORD",
        "NM1*IL*1*RIVERA*ANA****MI*W100200300",
        "REF*6P*GRP-100",
        "DMG*D8*19840211*F",
        "DTP*291*D8*20260302",
        "EQ*30",
        "EQ*98",
        "SE*15*1001",
        "GE*1*1001",
        "IEA*1*000001001",
        "",
    ]


def test_build_270_for_a_dependent() -> None:
    text = build(inquiry(patient=CHILD, relationship="19"))
    assert text.split("~")[8:-3] == [
        "HL*3*2*22*1",
        "NM1*IL*1*RIVERA*ANA****MI*W100200300",
        "REF*6P*GRP-100",
        "DMG*D8*19840211*F",
        "HL*4*3*23*0",
        "TRN*1*ELIG-1001*9CARECOORD",
        "NM1*03*1*RIVERA*LUCIA",
        "DMG*D8*20160704*F",
        "INS*N*19",
        "DTP*291*D8*20260302",
        "EQ*30",
        "SE*18*1001",
    ]


def test_built_270_reads_back_with_its_hierarchy() -> None:
    text = build(inquiry(patient=CHILD, relationship="19"))
    interchange = parse_interchange(text)
    assert (interchange.sender_id, interchange.receiver_id, interchange.control_number) == (
        "CARECOORD",
        "ACMEHP",
        "000001001",
    )
    [group] = interchange.groups
    assert (group.functional_id, group.control_number, group.version) == ("HS", "1001", "005010X279A1")
    [transaction] = group.transactions
    assert (transaction.set_id, transaction.control_number) == ("270", "1001")
    assert transaction.segments[-1].get(1) == str(len(transaction.segments))
    hierarchy = [(level.id, level.parent, level.code, level.hl.get(4)) for level in levels(transaction)]
    assert hierarchy == [("1", None, "20", "1"), ("2", "1", "21", "1"), ("3", "2", "22", "1"), ("4", "3", "23", "0")]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"provider": Party(name="X", identifier="1234567890")}, "provider NPI"),
        ({"subscriber": Person(last_name="RIVERA", first_name="ANA")}, "member id"),
        ({"subscriber": Person(last_name="O*BRIEN", first_name="ANA", member_id="W1")}, "NM103 'O\\*BRIEN'"),
        ({"service_types": ("30", "abc")}, "service_types"),
        ({"service_types": ()}, "service_types"),
        ({"trace_number": ""}, "trace_number"),
        ({"patient": CHILD, "relationship": "child"}, "relationship"),
        ({"payer": Party(name="ACME", identifier="")}, "payer id"),
    ],
)
def test_build_270_refuses_bad_input(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(inquiry(**overrides))


def test_active_271_with_cost_sharing() -> None:
    request = build(inquiry())
    result = parse_271(sample("271_active.x12"), raw_request=request)
    assert result.status == "active"
    assert result.payer_name == "ACME HEALTH PLAN"
    assert result.member_id == "W100200300"
    assert (result.plan_name, result.plan_number, result.group_number) == ("GOLD PPO 500", "GP-500", "GRP-100")
    assert (result.coverage_begin, result.coverage_end) == (date(2026, 1, 1), date(2026, 12, 31))
    assert result.copay == Decimal(25)  # the out-of-network 60 is listed first
    assert result.coinsurance_percent == Decimal(20)
    assert (result.deductible, result.deductible_remaining) == (Decimal(1500), Decimal("1125.50"))
    assert (result.out_of_pocket, result.out_of_pocket_remaining) == (Decimal(6000), Decimal(5210))
    assert result.trace_number == "ELIG-1001"  # TRN*2 echo, not the payer's own TRN*1
    assert result.rejections == ()
    assert result.raw_request == request
    assert result.raw_response == sample("271_active.x12")
    assert len(result.benefits) == 12
    assert result.benefits[0] == Benefit(
        kind="copay", service_type="98", period="visit", amount=Decimal(60), in_network=False
    )
    assert (
        Benefit(
            kind="deductible",
            service_type="30",
            coverage_level="family",
            period="remaining",
            amount=Decimal(2400),
            in_network=True,
        )
        in result.benefits
    )
    coinsurance = next(benefit for benefit in result.benefits if benefit.kind == "coinsurance")
    assert (coinsurance.percent, coinsurance.amount, coinsurance.in_network) == (Decimal(20), None, True)


def test_inactive_271() -> None:
    result = parse_271(sample("271_inactive.x12"))
    assert result.status == "inactive"
    assert (result.coverage_begin, result.coverage_end) == (date(2024, 1, 1), date(2025, 12, 31))
    assert (result.member_id, result.group_number, result.trace_number) == ("W555000111", "GRP-220", "ELIG-1002")
    assert result.benefits == ()
    assert result.copay is None
    assert result.plan_name is None


def test_271_rejected_at_subscriber_level() -> None:
    result = parse_271(sample("271_rejected_subscriber.x12"))
    assert result.status == "unknown"
    assert result.rejections == (
        Rejection(code="72", message="Invalid/missing subscriber/insured ID", follow_up="C", loop="subscriber"),
    )
    assert result.trace_number == "ELIG-1003"
    assert result.benefits == ()


def test_dependent_271() -> None:
    result = parse_271(sample("271_dependent.x12"))
    assert result.status == "active"
    assert (result.member_id, result.group_number, result.plan_name) == ("W300400500", "GRP-330", "SILVER HMO")
    assert (result.coverage_begin, result.coverage_end) == (date(2026, 1, 1), date(2026, 12, 31))
    assert (result.copay, result.deductible, result.deductible_remaining) == (Decimal(15), Decimal(500), Decimal(320))
    assert result.out_of_pocket is None
    assert result.coinsurance_percent is None
    assert result.trace_number == "ELIG-1004"


def test_271_with_pipe_delimiters_and_newline_terminators() -> None:
    result = parse_271(sample("271_pipe_delimiters.x12"))
    assert (result.status, result.plan_name, result.plan_number) == ("active", "GOLD PPO 500", "GP-500")
    assert (result.coverage_begin, result.coverage_end) == (date(2026, 1, 1), date(2026, 12, 31))
    assert result.copay == Decimal(30)


def test_271_with_crlf_after_terminators() -> None:
    assert parse_271(sample("271_crlf.x12")).status == "inactive"


def replace_body(old: str, new: str, name: str = "271_inactive.x12") -> str:
    text = sample(name)
    assert old in text
    return text.replace(old, new)


def test_cannot_process_and_payer_level_rejection() -> None:
    text = replace_body("EB*6**30~", "EB*V~").replace(
        "NM1*PR*2*ACME HEALTH PLAN*****PI*ACME01~", "NM1*PR*2*ACME HEALTH PLAN*****PI*ACME01~AAA*Y**42*R~"
    )
    text = text.replace("SE*16*1002", "SE*17*1002")
    result = parse_271(text)
    assert result.status == "unknown"
    assert result.rejections == (
        Rejection(code="42", message="Unable to respond at current time", follow_up="R", loop="payer"),
    )


def test_unknown_reject_reason_keeps_its_code() -> None:
    text = replace_body("AAA*N**72*C", "AAA*N**ZZ", "271_rejected_subscriber.x12")
    [rejection] = parse_271(text).rejections
    assert (rejection.code, rejection.follow_up) == ("ZZ", None)
    assert "ZZ" in rejection.message


def test_plan_name_falls_back_to_the_plan_number_description() -> None:
    text = replace_body("EB*1*FAM*30^1^33*HM*GOLD PPO 500~", "EB*1*FAM*30^1^33*HM~", "271_active.x12")
    text = text.replace("REF*18*GP-500*GOLD PPO 500~", "REF*18*GP-500*GOLD PLAN DESCRIPTION~")
    assert parse_271(text).plan_name == "GOLD PLAN DESCRIPTION"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("truncated_isa.x12", "segment 1 (ISA): the ISA segment is truncated (60 characters, expected 106)"),
        ("bad_se_count.x12", "segment 18 (SE): SE01 says '19' segments, the transaction set has 16"),
        ("bad_st_se_control.x12", "segment 18 (SE): SE02 '9999' does not match ST02 '3002'"),
        ("bad_date.x12", "segment 15 (DTP): DTP03 '20251345' is not a CCYYMMDD date"),
        ("bad_amount.x12", "segment 19 (EB): EB07 'abc' is not a monetary amount"),
        ("wrong_transaction.x12", "segment 3 (ST): expected a 271 transaction set, got '278'"),
    ],
)
def test_malformed_271s(name: str, message: str) -> None:
    text = sample(name)
    with pytest.raises(X12SyntaxError) as caught:
        parse_271(text, raw_request="the 270")
    assert str(caught.value) == message
    assert (caught.value.raw_request, caught.value.raw_response) == ("the 270", text)


def test_empty_and_garbage_input() -> None:
    with pytest.raises(X12SyntaxError, match=r"^segment 1 \(ISA\): the interchange is empty"):
        parse_271("")
    garbage = bytes(random.Random(7).randrange(256) for _ in range(600)).decode("latin-1")
    with pytest.raises(X12SyntaxError, match=r"^segment 1 \(ISA\): the interchange starts with"):
        parse_271(garbage)
    with pytest.raises(X12SyntaxError, match=r"^segment 1 \(ISA\)"):
        parse_271("ISA" + garbage)


def test_bad_percentage_is_refused() -> None:
    text = replace_body("EB*A**98*HM****.2****Y", "EB*A**98*HM****20****Y", "271_active.x12")
    with pytest.raises(X12SyntaxError, match=r"^segment 24 \(EB\): EB08 '20' is not a percentage between 0 and 1$"):
        parse_271(text)


def test_a_270_is_not_a_271() -> None:
    with pytest.raises(X12SyntaxError, match=r"^segment 3 \(ST\): expected a 271 transaction set, got '270'$"):
        parse_271(build(inquiry()))


ACTIVE = sample("271_active.x12")
_CHARS = st.sampled_from(list("*~:^|\n\r-.0123456789ABCEGHLMNPRSTVXYZ ")) | st.characters(max_codepoint=0x2FF)
_MUTATION = st.tuples(st.integers(0, len(ACTIVE) - 1), st.sampled_from(["replace", "delete", "insert"]), _CHARS)


def mutate(text: str, mutations: list[tuple[int, str, str]]) -> str:
    chars = list(text)
    for position, operation, char in mutations:
        position = min(position, len(chars) - 1)
        if operation == "replace":
            chars[position] = char
        elif operation == "delete":
            del chars[position]
        else:
            chars.insert(position, char)
    return "".join(chars)


def parses_or_refuses(text: str) -> None:
    try:
        result = parse_271(text)
    except X12SyntaxError as error:
        refused = error
    else:
        assert isinstance(result, EligibilityResult)
        return
    assert str(refused).startswith("segment ")
    assert refused.raw_response == text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_MUTATION, min_size=1, max_size=6))
def test_mutated_271s_parse_or_raise_x12_syntax_errors(mutations: list[tuple[int, str, str]]) -> None:
    parses_or_refuses(mutate(ACTIVE, mutations))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_random_bytes_parse_or_raise_x12_syntax_errors(data: bytes, after_isa: bool) -> None:
    text = data.decode("latin-1")
    parses_or_refuses(ACTIVE[:106] + text if after_isa else text)
