"""278 services review (005010X217): the request out, the payer's review in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from core.payers.messages import (
    ActionCode,
    AuthorizationRequest,
    AuthorizationResponse,
    LineDecision,
    Rejection,
    ServiceLine,
)
from plugins.insurance.validation import CPT, HCPCS, ICD10, check_npi
from plugins.insurance.x12 import codes
from plugins.insurance.x12.eligibility import organization, originator_id, person, rejection
from plugins.insurance.x12.envelope import Level, build_interchange, levels, only_transaction
from plugins.insurance.x12.segments import Row, Segment, X12SyntaxError

VERSION = "005010X217"
ACTIONS: dict[str, ActionCode] = {"A1": "A1", "A2": "A2", "A3": "A3", "A4": "A4", "A6": "A6", "C": "C", "CT": "CT"}
"""HCR01 values this codec understands (code list 306 as core.payers.messages models it)."""
_MODIFIER = re.compile(r"[A-Z0-9]{2}")
_SERVICE_TYPE = re.compile(r"[A-Z0-9]{1,2}")
_EFFECTIVE = ("AAH", "007")
"""Certification effective date qualifiers (a range, or a start with 036 as the expiration)."""


def build_278(
    request: AuthorizationRequest,
    *,
    sender_id: str,
    receiver_id: str,
    control_number: int,
    now: datetime,
    usage: str = "P",
) -> str:
    """One 278 review request: a patient event (2000E) with one service level (2000F) per line.

    ValueError (naming the field or the service line) on input the payer could not accept.
    """
    _check(request)
    event_id = "5" if request.patient is not None else "4"
    body: list[Row] = [
        ("BHT", "0007", "13", request.trace_number, now.strftime("%Y%m%d"), now.strftime("%H%M")),
        ("HL", "1", "", "20", "1"),
        organization("X3", request.payer, "PI"),
        ("HL", "2", "1", "21", "1"),
        organization("1P", request.provider, "XX"),
        ("HL", "3", "2", "22", "1"),
        *person("IL", request.subscriber, group=False),  # X217 2010C has no group number REF
    ]
    if request.patient is not None:
        body += [("HL", "4", "3", "23", "1"), *person("QC", request.patient)]
        if request.relationship:
            body.append(("INS", "N", request.relationship))
    origin = originator_id(sender_id)
    level_of_service = "U" if request.urgency == "expedited" else ""
    diagnoses = [("ABK" if i == 0 else "ABF", code.replace(".", "")) for i, code in enumerate(request.diagnosis_codes)]
    body += [
        ("HL", event_id, str(int(event_id) - 1), "EV", "1"),
        ("TRN", "1", request.trace_number, origin),
        ("UM", "HS", "I", request.service_type, "", "", level_of_service),
        ("HI", *diagnoses),
    ]
    for offset, line in enumerate(request.service_lines, start=1):
        body += [
            ("HL", str(int(event_id) + offset), event_id, "SS", "0"),
            ("TRN", "1", f"{request.trace_number}-{line.line}", origin),
            ("UM", "HS", "I"),
            *_service_dates(line),
            ("SV1", ("HC", line.code, *line.modifiers), "", "UN", str(line.units)),
            ("HSD", "VS", str(line.units)),
        ]
    return build_interchange(
        body,
        set_id="278",
        functional_id="HI",
        version=VERSION,
        sender_id=sender_id,
        receiver_id=receiver_id,
        control_number=control_number,
        now=now,
        usage=usage,
    )


def _service_dates(line: ServiceLine) -> list[Row]:
    if line.service_from is None:
        return []
    if line.service_to is None or line.service_to == line.service_from:
        return [("DTP", "472", "D8", line.service_from.strftime("%Y%m%d"))]
    span = f"{line.service_from:%Y%m%d}-{line.service_to:%Y%m%d}"
    return [("DTP", "472", "RD8", span)]


def _check(request: AuthorizationRequest) -> None:
    if not request.trace_number or len(request.trace_number) > 40:
        raise ValueError("trace_number must be 1-40 characters")
    if not request.payer.name or not request.payer.identifier:
        raise ValueError("the payer needs a name and a payer id")
    if not request.provider.name:
        raise ValueError("the provider needs a name")
    try:
        check_npi(request.provider.identifier)
    except ValueError as exc:
        raise ValueError(f"provider NPI: {exc}") from exc
    if not request.subscriber.member_id:
        raise ValueError("the subscriber needs a member id")
    for role, who in (("subscriber", request.subscriber), ("patient", request.patient)):
        if who is not None and not (who.last_name and who.first_name):
            raise ValueError(f"the {role} needs a first and a last name")
    if request.relationship is not None and not re.fullmatch(r"[0-9]{2}", request.relationship):
        raise ValueError("relationship must be a two-digit X12 individual relationship code")
    if not _SERVICE_TYPE.fullmatch(request.service_type):
        raise ValueError(f"service_type {request.service_type!r} is not an X12 service type code")
    if not 1 <= len(request.diagnosis_codes) <= 12:
        raise ValueError("a request carries 1 to 12 diagnosis codes")
    for code in request.diagnosis_codes:
        if not (code.isascii() and ICD10.fullmatch(code)):
            raise ValueError(f"diagnosis code {code!r} is not an ICD-10-CM code")
    if not request.service_lines:
        raise ValueError("a request needs at least one service line")
    numbers = [line.line for line in request.service_lines]
    if len(set(numbers)) != len(numbers):
        raise ValueError("service line numbers must be unique")
    for line in request.service_lines:
        _check_line(line)


def _check_line(line: ServiceLine) -> None:
    label = f"service line {line.line}"
    pattern = CPT if line.code_system == "CPT" else HCPCS
    if not (line.code.isascii() and pattern.fullmatch(line.code)):
        raise ValueError(f"{label}: {line.code!r} is not a {line.code_system} code")
    if len(line.modifiers) > 4 or not all(_MODIFIER.fullmatch(modifier) for modifier in line.modifiers):
        raise ValueError(f"{label}: modifiers are up to four codes of two letters or digits")
    if not 1 <= line.units <= 99999:
        raise ValueError(f"{label}: units must be between 1 and 99999")
    if line.service_to is not None and line.service_from is None:
        raise ValueError(f"{label}: service_to needs service_from")
    if line.service_from and line.service_to and line.service_to < line.service_from:
        raise ValueError(f"{label}: service_to is before service_from")


def parse_278(text: str, *, raw_request: str = "") -> AuthorizationResponse:
    """Read a 278 review response. X12SyntaxError (carrying both raw texts) when unreadable."""
    try:
        return _read(text, raw_request)
    except X12SyntaxError as error:
        error.raw_request, error.raw_response = raw_request, text
        raise


@dataclass
class _Review:
    """What one HL loop (2000E or 2000F) says."""

    trace: str | None = None
    action: ActionCode | None = None
    number: str | None = None
    previous_number: str | None = None
    reasons: tuple[str, ...] = ()
    code: str | None = None
    units: int | None = None
    effective: tuple[date, date | None] | None = None
    expires: date | None = None
    service: tuple[date, date | None] | None = None

    def valid(self) -> tuple[date | None, date | None]:
        period = self.effective or self.service
        start, end = period if period else (None, None)
        return start, self.expires or end


def _read(text: str, raw_request: str) -> AuthorizationResponse:
    transaction = only_transaction(text, "278")
    bht = next((seg for seg in transaction.body if seg.id == "BHT"), None)
    if bht is not None and bht.get(2) == "13":
        raise bht.error("BHT02 '13' marks a 278 request, not a response", 2)
    rejections: list[Rejection] = []
    event = _Review()
    lines: list[_Review] = []
    for level in levels(transaction):
        review = _Review() if level.code == "SS" else event
        if level.code == "SS":
            lines.append(review)
        _read_level(level, review, rejections)
    decisions: list[LineDecision] = []
    for position, line in enumerate(lines, start=1):
        action = line.action or event.action
        if action is None:
            continue
        valid_from, valid_to = line.valid()
        decisions.append(
            LineDecision(
                line=_line_number(line.trace, event.trace, position),
                action=action,
                code=line.code,
                approved_units=line.units,
                authorization_number=line.number or line.previous_number,
                valid_from=valid_from,
                valid_to=valid_to,
                reason_codes=line.reasons,
            )
        )
    valid_from, valid_to = event.valid()
    return AuthorizationResponse(
        trace_number=event.trace,
        action=event.action,
        authorization_number=event.number or event.previous_number,
        valid_from=valid_from,
        valid_to=valid_to,
        lines=tuple(decisions),
        rejections=tuple(rejections),
        raw_request=raw_request,
        raw_response=text,
    )


def _read_level(level: Level, review: _Review, rejections: list[Rejection]) -> None:
    where = codes.LOOPS.get(level.code, level.code)
    in_name = False  # after an NM1 (loops 2010x): REF and DTP belong to that party
    for seg in level.segments:
        if seg.id == "AAA":
            rejections.append(rejection(seg, where))
        elif seg.id == "NM1":
            in_name = True
        elif seg.id == "TRN" and seg.get(1) == "2" and review.trace is None:
            review.trace = seg.require(2)  # 2000E (or, from older payers, 2000C/D) echoes our trace
        elif level.code not in ("EV", "SS") or in_name:
            continue
        elif seg.id == "HCR":
            _review(seg, review)
        elif seg.id == "REF" and seg.get(1) == "BB":
            review.previous_number = seg.require(2)
        elif seg.id == "DTP":
            _date(seg, review)
        elif seg.id == "HSD" and level.code == "SS":
            review.units = seg.whole(2)
        elif seg.id == "SV1" and level.code == "SS":
            composite = seg.components(1)
            review.code = composite[1] if len(composite) > 1 and composite[1] else None


def _review(seg: Segment, review: _Review) -> None:
    code = seg.require(1)
    action = ACTIONS.get(code)
    if action is None:
        raise seg.error(f"HCR01 {code!r} is not a known action code ({', '.join(ACTIONS)})", 1)
    review.action = action
    review.number = seg.get(2) or None
    review.reasons = tuple(seg.repeats(3))


def _date(seg: Segment, review: _Review) -> None:
    qualifier = seg.get(1)
    if qualifier in _EFFECTIVE:
        review.effective = seg.period(2, 3)
    elif qualifier == "036":
        start, end = seg.period(2, 3)
        review.expires = end or start
    elif qualifier == "472":
        review.service = seg.period(2, 3)


def _line_number(trace: str | None, event_trace: str | None, position: int) -> int:
    """Our request numbers 2000F traces ``<event trace>-<line>``; otherwise lines count from 1."""
    if trace and event_trace and trace.startswith(event_trace + "-"):
        suffix = trace[len(event_trace) + 1 :]
        if suffix.isascii() and suffix.isdigit() and len(suffix) < 10:
            return int(suffix)
    return position
