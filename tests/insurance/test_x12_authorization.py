"""278 request building and 278 response reading (pure, no services)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.payers.messages import (
    AuthorizationRequest,
    AuthorizationResponse,
    LineDecision,
    Party,
    Person,
    Rejection,
    ServiceLine,
)
from plugins.insurance.x12 import X12SyntaxError, build_278, parse_278
from plugins.insurance.x12.envelope import levels, parse_interchange

SAMPLES = Path(__file__).parent / "samples"
NOW = datetime(2026, 3, 2, 9, 30)
SUBSCRIBER = Person(
    last_name="RIVERA", first_name="ANA", birth_date=date(1984, 2, 11), gender="F", member_id="W100200300"
)
MRI = ServiceLine(
    line=1,
    code="72148",
    code_system="CPT",
    modifiers=("26",),
    units=1,
    service_from=date(2026, 3, 10),
    service_to=date(2026, 6, 9),
)
INJECTION = ServiceLine(line=2, code="J1100", code_system="HCPCS", units=2, service_from=date(2026, 3, 10))


def sample(name: str) -> str:
    return (SAMPLES / name).read_bytes().decode()


def request(**overrides: object) -> AuthorizationRequest:
    fields: dict[str, object] = {
        "payer": Party(name="ACME HEALTH PLAN", identifier="ACME01"),
        "provider": Party(name="RIVERSIDE CLINIC", identifier="1234567893"),
        "subscriber": SUBSCRIBER,
        "diagnosis_codes": ("M54.50", "G89.29"),
        "urgency": "standard",
        "service_lines": (MRI, INJECTION),
        "trace_number": "PA-2001",
    }
    fields.update(overrides)
    return AuthorizationRequest(**fields)  # type: ignore[arg-type]


def build(value: AuthorizationRequest) -> str:
    return build_278(value, sender_id="CARECOORD", receiver_id="ACMEHP", control_number=2001, now=NOW)


def test_build_278() -> None:
    assert build(request()).split("~") == [
        "ISA*00*          *00*          *ZZ*CARECOORD      *ZZ*ACMEHP         *260302*0930*^*00501*000002001*0*P*:",
        "GS*HI*CARECOORD*ACMEHP*20260302*0930*2001*X*005010X217",
        "ST*278*2001*005010X217",
        "BHT*0007*13*PA-2001*20260302*0930",
        "HL*1**20*1",
        "NM1*X3*2*ACME HEALTH PLAN*****PI*ACME01",
        "HL*2*1*21*1",
        "NM1*1P*2*RIVERSIDE CLINIC*****XX*1234567893",
        "HL*3*2*22*1",
        "NM1*IL*1*RIVERA*ANA****MI*W100200300",
        "DMG*D8*19840211*F",
        "HL*4*3*EV*1",
        "TRN*1*PA-2001*9CARECOORD",
        "UM*HS*I*3",
        "HI*ABK:M5450*ABF:G8929",
        "HL*5*4*SS*0",
        "TRN*1*PA-2001-1*9CARECOORD",
        "UM*HS*I",
        "DTP*472*RD8*20260310-20260609",
        "SV1*HC:72148:26**UN*1",
        "HSD*VS*1",
        "HL*6*4*SS*0",
        "TRN*1*PA-2001-2*9CARECOORD",
        "UM*HS*I",
        "DTP*472*D8*20260310",
        "SV1*HC:J1100**UN*2",
        "HSD*VS*2",
        "SE*26*2001",
        "GE*1*2001",
        "IEA*1*000002001",
        "",
    ]


def test_build_278_expedited_for_a_dependent() -> None:
    child = Person(last_name="RIVERA", first_name="LUCIA", birth_date=date(2016, 7, 4), gender="F")
    subscriber = Person(
        last_name="RIVERA",
        first_name="ANA",
        birth_date=date(1984, 2, 11),
        gender="F",
        member_id="W100200300",
        group_number="GRP-100",
    )
    text = build(
        request(
            subscriber=subscriber, patient=child, relationship="19", urgency="expedited", service_lines=(INJECTION,)
        )
    )
    assert text.split("~")[8:20] == [
        "HL*3*2*22*1",
        "NM1*IL*1*RIVERA*ANA****MI*W100200300",
        "DMG*D8*19840211*F",
        "HL*4*3*23*1",
        "NM1*QC*1*RIVERA*LUCIA",
        "DMG*D8*20160704*F",
        "INS*N*19",
        "HL*5*4*EV*1",
        "TRN*1*PA-2001*9CARECOORD",
        "UM*HS*I*3***U",
        "HI*ABK:M5450*ABF:G8929",
        "HL*6*5*SS*0",
    ]


def test_built_278_reads_back_with_its_hierarchy() -> None:
    interchange = parse_interchange(build(request()))
    [transaction] = interchange.transactions
    assert (interchange.control_number, interchange.groups[0].functional_id) == ("000002001", "HI")
    assert (transaction.set_id, transaction.control_number, transaction.version) == ("278", "2001", "005010X217")
    assert transaction.segments[-1].get(1) == str(len(transaction.segments)) == "26"
    assert [(level.id, level.parent, level.code) for level in levels(transaction)] == [
        ("1", None, "20"),
        ("2", "1", "21"),
        ("3", "2", "22"),
        ("4", "3", "EV"),
        ("5", "4", "SS"),
        ("6", "4", "SS"),
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"service_lines": (ServiceLine(line=3, code="7214", code_system="CPT"),)},
            "service line 3: '7214' is not a CPT",
        ),
        (
            {"service_lines": (ServiceLine(line=4, code="72148", code_system="HCPCS"),)},
            "service line 4: '72148' is not",
        ),
        ({"service_lines": (ServiceLine(line=5, code="J11000", code_system="HCPCS"),)}, "service line 5"),
        ({"service_lines": (ServiceLine(line=6, code="0001U", code_system="CPT", modifiers=("X",)),)}, "line 6: mod"),
        ({"service_lines": (ServiceLine(line=7, code="99213", code_system="CPT", units=0),)}, "line 7: units"),
        ({"service_lines": (MRI, MRI)}, "unique"),
        ({"service_lines": ()}, "at least one service line"),
        ({"diagnosis_codes": ()}, "diagnosis codes"),
        ({"diagnosis_codes": ("U07.1X",)}, "'U07.1X' is not an ICD-10-CM code"),
        ({"service_type": "consult"}, "service_type"),
        ({"provider": Party(name="X", identifier="123")}, "provider NPI"),
    ],
)
def test_build_278_refuses_bad_input(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(request(**overrides))


def test_category_ii_and_iii_cpt_codes_are_accepted() -> None:
    lines = (
        ServiceLine(line=1, code="3074F", code_system="CPT"),
        ServiceLine(line=2, code="0042T", code_system="CPT"),
    )
    assert "SV1*HC:3074F**UN*1~" in build(request(service_lines=lines))


def parse(name: str) -> AuthorizationResponse:
    return parse_278(sample(name), raw_request="the 278 request")


def test_certified() -> None:
    response = parse("278_certified.x12")
    assert (response.trace_number, response.action, response.authorization_number) == ("PA-2001", "A1", "AUTH778899")
    assert (response.valid_from, response.valid_to) == (date(2026, 3, 10), date(2026, 6, 9))
    assert response.lines == (
        LineDecision(
            line=1,
            action="A1",
            code="97110",
            approved_units=12,
            authorization_number="AUTH778899-1",
            valid_from=date(2026, 3, 10),
            valid_to=date(2026, 6, 9),
        ),
    )
    assert response.rejections == ()
    assert response.raw_request == "the 278 request"
    assert response.raw_response == sample("278_certified.x12")


def test_partially_certified_with_approved_units_and_validity() -> None:
    response = parse("278_partial.x12")
    assert (response.action, response.authorization_number) == ("A2", "AUTH880011")
    assert (response.valid_from, response.valid_to) == (date(2026, 3, 15), date(2026, 6, 14))
    first, second = response.lines
    assert (first.line, first.action, first.approved_units, first.code) == (1, "A1", 1, "72148")
    assert second == LineDecision(
        line=2,
        action="A2",
        code="97140",
        approved_units=6,
        authorization_number="AUTH880011-2",
        valid_from=date(2026, 3, 15),
        valid_to=date(2026, 4, 15),
        reason_codes=("0B",),
    )
    assert second.decision == "partially_certified"


def test_pended() -> None:
    response = parse("278_pended.x12")
    assert (response.action, response.authorization_number, response.valid_from) == ("A4", None, None)
    [line] = response.lines  # no HCR of its own: the review-level decision applies
    assert (line.line, line.action, line.code, line.decision) == (1, "A4", "70553", "pended")


def test_not_certified_with_reason_codes() -> None:
    response = parse("278_not_certified.x12")
    assert response.action == "A3"
    assert [(line.line, line.action, line.reason_codes, line.code) for line in response.lines] == [
        (1, "A3", ("CT",), "J1100"),
        (2, "A3", ("0F",), "96372"),
    ]
    assert all(line.decision == "not_certified" for line in response.lines)


def test_modified() -> None:
    response = parse("278_modified.x12")
    assert (response.action, response.authorization_number) == ("A6", "AUTH991100")
    assert (response.valid_from, response.valid_to) == (date(2026, 4, 1), date(2026, 4, 30))
    [line] = response.lines
    assert (line.action, line.approved_units, line.reason_codes, line.decision) == ("A6", 4, ("0U",), "modified")


def test_cancelled_and_contact_payer() -> None:
    cancelled = parse("278_cancelled.x12")
    assert (cancelled.action, cancelled.authorization_number, cancelled.lines) == ("C", "AUTH778899", ())
    contact = parse("278_contact_payer.x12")
    assert (contact.action, contact.trace_number, contact.lines) == ("CT", "PA-2007", ())


def test_rejected_request() -> None:
    response = parse("278_rejected.x12")
    assert response.action is None
    assert response.lines == ()
    assert response.rejections == (
        Rejection(code="75", message="Subscriber/insured not found", follow_up="N", loop="subscriber"),
    )
    assert response.trace_number == "PA-2008"


def test_lines_without_our_trace_are_numbered_in_order() -> None:
    text = sample("278_partial.x12").replace("TRN*2*PA-2002-2*9CARECOORD", "TRN*2*OTHER-2*9CARECOORD")
    assert [line.line for line in parse_278(text).lines] == [1, 2]
    text = sample("278_partial.x12").replace("TRN*2*PA-2002-2*9CARECOORD", "TRN*2*PA-2002-7*9CARECOORD")
    assert [line.line for line in parse_278(text).lines] == [1, 7]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            sample("bad_hcr_action.x12"),
            "segment 15 (HCR): HCR01 'ZZ' is not a known action code (A1, A2, A3, A4, A6, C, CT)",
        ),
        (sample("271_active.x12"), "segment 3 (ST): expected a 278 transaction set, got '271'"),
        (sample("truncated_isa.x12"), "segment 1 (ISA): the ISA segment is truncated"),
        (
            sample("278_certified.x12").replace("20260310-20260609", "20260310-2026069"),
            "segment 16 (DTP): DTP03 '20260310-2026069' is not a CCYYMMDD-CCYYMMDD range",
        ),
        (
            sample("278_certified.x12").replace("HSD*VS*12", "HSD*VS*twelve"),
            "segment 23 (HSD): HSD02 'twelve' is not a quantity",
        ),
        (sample("278_certified.x12").replace("SE*22*2001", "SE*21*2001"), "segment 24 (SE): SE01 says '21'"),
        ("", "segment 1 (ISA): the interchange is empty"),
        ("\x00\x01\x02garbage\xff" * 20, "segment 1 (ISA): the interchange starts with"),
    ],
)
def test_malformed_278s(text: str, message: str) -> None:
    with pytest.raises(X12SyntaxError) as caught:
        parse_278(text, raw_request="req")
    assert str(caught.value).startswith(message)
    assert (caught.value.raw_request, caught.value.raw_response) == ("req", text)


def test_a_request_is_not_a_response() -> None:
    with pytest.raises(X12SyntaxError, match=r"^segment 4 \(BHT\): BHT02 '13' marks a 278 request, not a response$"):
        parse_278(build(request()))


PARTIAL = sample("278_partial.x12")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(PARTIAL) - 1),
            st.sampled_from(list("*~:^0123456789ACHRSTUV-\n")) | st.characters(max_codepoint=0x2FF),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_mutated_278s_parse_or_raise_x12_syntax_errors(replacements: list[tuple[int, str]]) -> None:
    chars = list(PARTIAL)
    for position, char in replacements:
        chars[position] = char
    text = "".join(chars)
    try:
        response = parse_278(text)
    except X12SyntaxError as error:
        refused = error
    else:
        assert isinstance(response, AuthorizationResponse)
        return
    assert str(refused).startswith("segment ")
