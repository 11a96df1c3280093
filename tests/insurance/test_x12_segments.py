"""X12 segment reading/writing and envelope checks (pure, no services)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from core.payers.adapter import PayerResponseError
from plugins.insurance.x12.envelope import build_interchange, levels, parse_interchange
from plugins.insurance.x12.segments import Delimiters, Row, X12SyntaxError, read_segments, render

SAMPLES = Path(__file__).parent / "samples"
NOW = datetime(2026, 3, 2, 9, 31)


def sample(name: str) -> str:
    return (SAMPLES / name).read_bytes().decode()


def envelope(body: Sequence[Row], **overrides: object) -> str:
    options: dict[str, object] = {
        "set_id": "271",
        "functional_id": "HB",
        "version": "005010X279A1",
        "sender_id": "ACMEHP",
        "receiver_id": "CARECOORD",
        "control_number": 7,
        "now": NOW,
    }
    options.update(overrides)
    return build_interchange(body, **options)  # type: ignore[arg-type]


def syntax_error(text: str) -> str:
    with pytest.raises(X12SyntaxError) as caught:
        parse_interchange(text)
    return str(caught.value)


def test_default_delimiters_are_read_from_the_isa() -> None:
    interchange = parse_interchange(sample("271_active.x12"))
    assert interchange.delimiters == Delimiters(element="*", component=":", repetition="^", segment="~")
    assert (interchange.sender_id, interchange.receiver_id) == ("ACMEHP", "CARECOORD")
    assert interchange.control_number == "000001001"
    assert interchange.usage == "T"
    [group] = interchange.groups
    assert (group.functional_id, group.control_number, group.version) == ("HB", "1001", "005010X279A1")
    [transaction] = group.transactions
    assert (transaction.set_id, transaction.control_number) == ("271", "1001")
    assert transaction.segments[0].id == "ST"
    assert transaction.segments[-1].id == "SE"
    assert len(transaction.segments) == 36


def test_non_default_delimiters_and_newline_terminator() -> None:
    text = sample("271_pipe_delimiters.x12")
    assert "~" not in text
    assert "*" not in text
    delimiters, segments = read_segments(text)
    assert delimiters == Delimiters(element="|", component="^", repetition="}", segment="\n")
    eb = next(seg for seg in segments if seg.id == "EB")
    assert eb.repeats(3) == ("30", "1")
    assert eb.get(5) == "GOLD PPO 500"
    assert parse_interchange(text).transactions[0].set_id == "271"


def test_crlf_after_terminators_is_tolerated() -> None:
    text = sample("271_crlf.x12")
    assert "~\r\n" in text
    plain = parse_interchange(sample("271_inactive.x12"))
    crlf = parse_interchange(text)
    assert [seg.id for seg in crlf.segments] == [seg.id for seg in plain.segments]
    assert all("\r" not in value for seg in crlf.segments for value in seg.elements)


def test_segment_indexes_are_positions_in_the_interchange() -> None:
    _, segments = read_segments(sample("271_active.x12"))
    assert [seg.index for seg in segments] == list(range(1, len(segments) + 1))
    assert segments[0].id == "ISA"
    assert segments[0].get(6) == "ACMEHP         "


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "segment 1 (ISA): the interchange is empty (expected an ISA segment)"),
        ("  \r\n ", "segment 1 (ISA): the interchange is empty (expected an ISA segment)"),
        ("GS*HB*X~", "segment 1 (ISA): the interchange starts with 'GS*', not ISA"),
        (
            "ISA*00*          *00*          *ZZ*ACMEHP",
            "segment 1 (ISA): the ISA segment is truncated (41 characters, expected 106)",
        ),
    ],
)
def test_unreadable_starts(text: str, message: str) -> None:
    assert syntax_error(text) == message


def test_truncated_isa_sample() -> None:
    assert syntax_error(sample("truncated_isa.x12")) == (
        "segment 1 (ISA): the ISA segment is truncated (60 characters, expected 106)"
    )


def test_isa_fields_must_have_their_fixed_width() -> None:
    text = envelope([("BHT", "0022", "11")]).replace("ACMEHP         ", "ACMEHP        ", 1)
    assert syntax_error(text + "x") == "segment 1 (ISA): ISA06 'ACMEHP        ' must be 15 characters wide"


def test_delimiters_must_be_distinct() -> None:
    text = envelope([("BHT", "0022", "11")])
    broken = text[:104] + "~" + text[105:]  # ISA16 (component separator) = segment terminator
    assert syntax_error(broken) == "segment 1 (ISA): delimiters '*~^~' are not distinct"


def test_se_count_mismatch_names_the_se_segment() -> None:
    assert syntax_error(sample("bad_se_count.x12")) == (
        "segment 18 (SE): SE01 says '19' segments, the transaction set has 16"
    )


def test_st_se_control_number_mismatch() -> None:
    assert syntax_error(sample("bad_st_se_control.x12")) == ("segment 18 (SE): SE02 '9999' does not match ST02 '3002'")


def test_group_and_interchange_counts_are_checked() -> None:
    text = envelope([("BHT", "0022", "11")])
    assert syntax_error(text.replace("GE*1*7~", "GE*2*7~")) == (
        "segment 6 (GE): GE01 says '2' transaction sets, the group has 1"
    )
    assert syntax_error(text.replace("GE*1*7~", "GE*1*8~")) == "segment 6 (GE): GE02 '8' does not match GS06 '7'"
    assert syntax_error(text.replace("IEA*1*", "IEA*3*")) == (
        "segment 7 (IEA): IEA01 says '3' functional groups, the interchange has 1"
    )
    assert syntax_error(text.replace("IEA*1*000000007", "IEA*1*000000008")) == (
        "segment 7 (IEA): IEA02 '000000008' does not match ISA13 '000000007'"
    )


def test_envelope_order_is_checked() -> None:
    text = envelope([("BHT", "0022", "11")])
    assert syntax_error(text.replace("IEA*1*000000007~", "")) == (
        "segment 6 (GE): the interchange ends without an IEA segment"
    )
    assert syntax_error(text + "ST*271*0008~") == "segment 8 (ST): data after the IEA segment"
    assert syntax_error(text.replace("SE*3*0007~", "")) == (
        "segment 5 (GE): transaction set 0007 (segment 3) has no SE segment"
    )
    assert syntax_error(text.replace("BHT*", "bh!*")) == "segment 4: 'bh!' is not a segment identifier"


def test_hierarchy_is_checked() -> None:
    body = [("BHT", "0022", "11"), ("HL", "1", "", "20", "1"), ("HL", "2", "1", "21", "1"), ("HL", "2", "1", "22", "0")]
    transaction = parse_interchange(envelope(body)).transactions[0]
    with pytest.raises(X12SyntaxError, match=r"^segment 7 \(HL\): HL01 '2' is used twice$"):
        levels(transaction)
    body[3] = ("HL", "3", "9", "22", "0")
    transaction = parse_interchange(envelope(body)).transactions[0]
    with pytest.raises(X12SyntaxError, match=r"^segment 7 \(HL\): HL02 '9' is not an earlier HL$"):
        levels(transaction)


def test_typed_element_access() -> None:
    body = [("XX1", "12.50", ".5", "-3", "7.0", "20260229", "20260101-20260331", "abc", "2026-01-01", "1.5")]
    _, segments = read_segments(envelope(body))
    seg = segments[3]
    assert seg.index == 4
    assert seg.id == "XX1"
    assert seg.amount(1) == Decimal("12.50")
    assert seg.decimal(2) == Decimal("0.5")
    assert seg.integer(3) == -3
    assert seg.whole(4) == 7
    assert seg.amount(20) is None
    assert seg.day(20) is None
    assert seg.get(20) == ""
    with pytest.raises(X12SyntaxError, match=r"^segment 4 \(XX1\): XX105 '20260229' is not a CCYYMMDD date$"):
        seg.day(5)
    with pytest.raises(X12SyntaxError, match=r"XX107 'abc' is not a monetary amount"):
        seg.amount(7)
    with pytest.raises(X12SyntaxError, match=r"XX107 'abc' is not an integer"):
        seg.integer(7)
    with pytest.raises(X12SyntaxError, match=r"XX109 '1.5' is not a whole quantity"):
        seg.whole(9)
    with pytest.raises(X12SyntaxError, match=r"^segment 4 \(XX1\): XX120 is required$"):
        seg.require(20)


def test_periods() -> None:
    body = [
        ("DTP", "291", "RD8", "20260101-20261231"),
        ("DTP", "291", "D8", "20260101"),
        ("DTP", "291", "RD8", "20261231-20260101"),
        ("DTP", "291", "RD8", "20260101"),
        ("DTP", "291", "DT", "202601011200"),
    ]
    _, segments = read_segments(envelope(body))
    good_range, single, backwards, not_a_range, other_format = segments[3:8]
    assert good_range.period(2, 3) == (date(2026, 1, 1), date(2026, 12, 31))
    assert single.period(2, 3) == (date(2026, 1, 1), None)
    with pytest.raises(X12SyntaxError, match=r"segment 6 \(DTP\): DTP03 '20261231-20260101' ends before it starts"):
        backwards.period(2, 3)
    with pytest.raises(X12SyntaxError, match=r"DTP03 '20260101' is not a CCYYMMDD-CCYYMMDD range"):
        not_a_range.period(2, 3)
    with pytest.raises(X12SyntaxError, match=r"DTP02 'DT' is not a supported date format \(D8 or RD8\)"):
        other_format.period(2, 3)


def test_error_is_a_payer_response_error_with_its_location() -> None:
    with pytest.raises(PayerResponseError) as caught:
        parse_interchange(sample("bad_st_se_control.x12"))
    error = caught.value
    assert isinstance(error, X12SyntaxError)
    assert (error.segment_index, error.segment_id, error.element) == (18, "SE", 2)
    assert error.message == str(error)


def test_render_trims_and_joins_composites() -> None:
    rows = [
        ("NM1", "IL", "1", "DOE", "", "", ""),
        ("SV1", ("HC", "99213", "", ""), "", "UN", "1"),
        ("HL", "1", "", "20"),
    ]
    assert render(rows, Delimiters()) == "NM1*IL*1*DOE~SV1*HC:99213**UN*1~HL*1**20~"
    assert render(rows[:1], Delimiters(element="|", segment="\n")) == "NM1|IL|1|DOE\n"
    assert render(rows[:1], Delimiters(), line_breaks=True) == "NM1*IL*1*DOE~\n"


@pytest.mark.parametrize("value", ["O*BRIEN", "A~B", "A:B", "A^B", "A\nB"])
def test_render_refuses_delimiters_in_values(value: str) -> None:
    with pytest.raises(ValueError, match=r"^NM103 .* contains an X12 delimiter$"):
        render([("NM1", "IL", "1", value)], Delimiters())


def test_built_envelope_is_padded_and_counted() -> None:
    text = envelope([("BHT", "0022", "13", "T-1", "20260302", "0931"), ("HL", "1", "", "20", "1")], control_number=42)
    lines = text.split("~")
    isa = lines[0]
    assert len(isa) == 105
    assert text[105] == "~"
    assert isa == (
        "ISA*00*          *00*          *ZZ*ACMEHP         *ZZ*CARECOORD      *260302*0931*^*00501*000000042*0*P*:"
    )
    assert lines[1:] == [
        "GS*HB*ACMEHP*CARECOORD*20260302*0931*42*X*005010X279A1",
        "ST*271*0042*005010X279A1",
        "BHT*0022*13*T-1*20260302*0931",
        "HL*1**20*1",
        "SE*4*0042",
        "GE*1*42",
        "IEA*1*000000042",
        "",
    ]
    interchange = parse_interchange(text)
    assert interchange.control_number == "000000042"
    assert interchange.transactions[0].control_number == "0042"


def test_built_envelope_with_other_delimiters_reads_back() -> None:
    delimiters = Delimiters(element="|", component=">", repetition="!", segment="\n")
    text = envelope([("EB", "1", "", "30", "", "PLAN")], delimiters=delimiters, usage="T")
    interchange = parse_interchange(text)
    assert interchange.delimiters == delimiters
    assert interchange.usage == "T"
    assert interchange.transactions[0].body[0].get(5) == "PLAN"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"control_number": 0}, "control_number"),
        ({"control_number": 10**9}, "control_number"),
        ({"sender_id": ""}, "sender_id"),
        ({"receiver_id": "X" * 16}, "receiver_id"),
        ({"sender_id": "A*B"}, "delimiter"),
        ({"usage": "X"}, "usage"),
        ({"delimiters": Delimiters(element="A")}, "delimiters"),
    ],
)
def test_envelope_arguments_are_checked(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        envelope([("BHT", "0022", "13")], **overrides)
