"""270 eligibility inquiry (005010X279A1) out, 271 eligibility response in."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from core.payers.messages import (
    Benefit,
    EligibilityInquiry,
    EligibilityResult,
    EligibilityStatus,
    Party,
    Person,
    Rejection,
)
from plugins.insurance.validation import check_npi
from plugins.insurance.x12 import codes
from plugins.insurance.x12.envelope import Level, build_interchange, levels, only_transaction
from plugins.insurance.x12.segments import Row, Segment, X12SyntaxError

VERSION = "005010X279A1"
_CODE = re.compile(r"[A-Z0-9]{1,2}")


def build_270(
    inquiry: EligibilityInquiry,
    *,
    sender_id: str,
    receiver_id: str,
    control_number: int,
    now: datetime,
    usage: str = "P",
) -> str:
    """One 270 inquiry for the subscriber (or the dependent ``inquiry.patient``). ValueError on bad input."""
    _check(inquiry)
    dependent = inquiry.patient is not None
    trace = ("TRN", "1", inquiry.trace_number, originator_id(sender_id))
    asked: list[Row] = [("DTP", "291", "D8", _d8(inquiry.as_of)), *(("EQ", code) for code in inquiry.service_types)]
    body: list[Row] = [
        ("BHT", "0022", "13", inquiry.trace_number, now.strftime("%Y%m%d"), now.strftime("%H%M")),
        ("HL", "1", "", "20", "1"),
        organization("PR", inquiry.payer, "PI"),
        ("HL", "2", "1", "21", "1"),
        organization("1P", inquiry.provider, "XX"),
        ("HL", "3", "2", "22", "1" if dependent else "0"),
    ]
    if not dependent:
        body.append(trace)
    body += person("IL", inquiry.subscriber)
    if inquiry.patient is None:
        body += asked
    else:
        body += [("HL", "4", "3", "23", "0"), trace, *person("03", inquiry.patient)]
        if inquiry.relationship:
            body.append(("INS", "N", inquiry.relationship))
        body += asked
    return build_interchange(
        body,
        set_id="270",
        functional_id="HS",
        version=VERSION,
        sender_id=sender_id,
        receiver_id=receiver_id,
        control_number=control_number,
        now=now,
        usage=usage,
    )


def originator_id(sender_id: str) -> str:
    """TRN03: ``9`` (a user-assigned identifier) followed by the submitter id, 10 characters."""
    return ("9" + sender_id.strip().upper()[:9]).ljust(10, "0")


def organization(qualifier: str, party: Party, id_qualifier: str) -> Row:
    return ("NM1", qualifier, "2", party.name, "", "", "", "", id_qualifier, party.identifier)


def person(qualifier: str, who: Person, *, group: bool = True) -> list[Row]:
    """NM1 (with the member id as MI when known), REF*6P group (270 only), DMG birth date and gender."""
    rows: list[Row] = [("NM1", qualifier, "1", who.last_name, who.first_name, "", "", "", *_member(who))]
    if group and qualifier == "IL" and who.group_number:
        rows.append(("REF", "6P", who.group_number))
    if who.birth_date is not None:
        rows.append(("DMG", "D8", _d8(who.birth_date), who.gender or ""))
    return rows


def _member(who: Person) -> tuple[str, ...]:
    return ("MI", who.member_id) if who.member_id else ()


def _d8(day: date) -> str:
    return day.strftime("%Y%m%d")


def _check(inquiry: EligibilityInquiry) -> None:
    if not inquiry.trace_number or len(inquiry.trace_number) > 50:
        raise ValueError("trace_number must be 1-50 characters")
    if not inquiry.payer.name or not inquiry.payer.identifier:
        raise ValueError("the payer needs a name and a payer id")
    if not inquiry.provider.name:
        raise ValueError("the provider needs a name")
    try:
        check_npi(inquiry.provider.identifier)
    except ValueError as exc:
        raise ValueError(f"provider NPI: {exc}") from exc
    for role, who in (("subscriber", inquiry.subscriber), ("patient", inquiry.patient)):
        if who is not None and not (who.last_name and who.first_name):
            raise ValueError(f"the {role} needs a first and a last name")
    if not inquiry.subscriber.member_id:
        raise ValueError("the subscriber needs a member id")
    if not inquiry.service_types or not all(_CODE.fullmatch(code) for code in inquiry.service_types):
        raise ValueError("service_types must be X12 service type codes (1-2 letters or digits)")
    if inquiry.relationship is not None and not re.fullmatch(r"[0-9]{2}", inquiry.relationship):
        raise ValueError("relationship must be a two-digit X12 individual relationship code")


def parse_271(text: str, *, raw_request: str = "") -> EligibilityResult:
    """Read a 271. X12SyntaxError (carrying both raw texts) when it is not a readable 271."""
    try:
        return _Reader().read(text, raw_request)
    except X12SyntaxError as error:
        error.raw_request, error.raw_response = raw_request, text
        raise


class _Reader:
    def __init__(self) -> None:
        self.payer_name: str | None = None
        self.member_id: str | None = None
        self.plan_name: str | None = None
        self.plan_description: str | None = None
        self.plan_number: str | None = None
        self.group_number: str | None = None
        self.trace: str | None = None
        self.statuses: list[str] = []
        self.benefits: list[Benefit] = []
        self.rejections: list[Rejection] = []
        self.dates: dict[str, dict[str, tuple[date, date | None]]] = {}

    def read(self, text: str, raw_request: str) -> EligibilityResult:
        for level in levels(only_transaction(text, "271")):
            self.level(level)
        begin, end = self.coverage()
        benefits = tuple(self.benefits)
        return EligibilityResult(
            status=self.status(),
            payer_name=self.payer_name,
            member_id=self.member_id,
            plan_name=self.plan_name or self.plan_description,
            plan_number=self.plan_number,
            group_number=self.group_number,
            coverage_begin=begin,
            coverage_end=end,
            copay=_amount(_pick(benefits, "copay", amount=True)),
            coinsurance_percent=_percent(_pick(benefits, "coinsurance", amount=False)),
            deductible=_amount(_pick(benefits, "deductible", periods=_TOTAL)),
            deductible_remaining=_amount(_pick(benefits, "deductible", periods=_REMAINING)),
            out_of_pocket=_amount(_pick(benefits, "out_of_pocket", periods=_TOTAL)),
            out_of_pocket_remaining=_amount(_pick(benefits, "out_of_pocket", periods=_REMAINING)),
            benefits=benefits,
            rejections=tuple(self.rejections),
            trace_number=self.trace,
            raw_request=raw_request,
            raw_response=text,
        )

    def level(self, level: Level) -> None:
        where = codes.LOOPS.get(level.code, level.code)
        in_benefit = in_entity = False
        dates = self.dates.setdefault(level.code, {})
        for seg in level.segments:
            if seg.id in ("LS", "LE"):
                in_entity = seg.id == "LS"
            elif in_entity:
                continue  # loop 2120: an entity related to the benefit, not the member
            elif seg.id == "EB":
                in_benefit = True
                # a plan date after a status EB (loop 2110) is a fallback for the member's own dates
                dates = self.dates.setdefault("status" if self.eligibility(seg) else "benefit", {})
            elif seg.id == "AAA":
                self.rejections.append(rejection(seg, "service" if in_benefit else where))
            elif seg.id == "TRN" and seg.get(1) == "2" and self.trace is None:
                self.trace = seg.require(2)
            elif seg.id == "NM1":
                self.name(seg)
            elif seg.id == "REF" and not in_benefit:
                self.reference(seg)
            elif seg.id == "DTP" and seg.get(1) in _DATE_QUALIFIERS:
                dates.setdefault(seg.get(1), seg.period(2, 3))

    def name(self, seg: Segment) -> None:
        if seg.get(1) == "PR" and self.payer_name is None:
            self.payer_name = seg.get(3) or None
        elif seg.get(1) == "IL" and seg.get(8) == "MI":
            self.member_id = seg.get(9) or None

    def reference(self, seg: Segment) -> None:
        if seg.get(1) == "18":
            self.plan_number = seg.require(2)
            self.plan_description = seg.get(3) or self.plan_description
        elif seg.get(1) == "6P":
            self.group_number = seg.require(2)

    def eligibility(self, seg: Segment) -> bool:
        """Record one EB; True when it states the coverage status (EB01 1-8)."""
        code = seg.require(1)
        is_status = code in codes.ACTIVE or code in codes.INACTIVE
        if is_status or code == codes.CANNOT_PROCESS:
            self.statuses.append(code)
            if code in codes.ACTIVE and self.plan_name is None:
                self.plan_name = seg.get(5) or None
        amount, percent = seg.amount(7), seg.decimal(8, "a percentage")
        if percent is not None and not 0 <= percent <= 1:
            raise seg.error(f"EB08 {seg.get(8)!r} is not a percentage between 0 and 1", 8)
        if amount is None and percent is None:
            return is_status
        level, period = seg.get(2), seg.get(6)
        self.benefits.append(
            Benefit(
                kind=codes.BENEFIT_KINDS.get(code, "other"),
                service_type=next(iter(seg.repeats(3)), None),
                coverage_level=codes.COVERAGE_LEVELS.get(level, level or None),
                period=codes.TIME_PERIODS.get(period, period or None),
                amount=amount,
                percent=None if percent is None else percent * 100,
                in_network=codes.IN_NETWORK.get(seg.get(12)),
                description=seg.get(5) or None,
            )
        )
        return is_status

    def status(self) -> EligibilityStatus:
        if any(code in codes.ACTIVE for code in self.statuses):
            return "active"
        if any(code in codes.INACTIVE for code in self.statuses):
            return "inactive"
        return "unknown"

    def coverage(self) -> tuple[date | None, date | None]:
        begin = end = None
        for level_code in ("23", "22", "status"):  # the dependent's own dates first, loop 2110 last
            found = self.dates.get(level_code, {})
            plan = found.get("291") or found.get("307")
            begin = begin or _first(found.get("346"), plan, found.get("356"))
            end = end or _first(found.get("347"), (plan[1], None) if plan and plan[1] else None, found.get("357"))
        return begin, end


_DATE_QUALIFIERS = frozenset({"291", "307", "346", "347", "356", "357"})
_TOTAL = ("calendar_year", "service_year", "contract", None)
_REMAINING = ("remaining",)


def _first(*periods: tuple[date, date | None] | None) -> date | None:
    return next((period[0] for period in periods if period is not None), None)


def rejection(seg: Segment, loop: str) -> Rejection:
    code = seg.require(3)
    return Rejection(code=code, message=codes.reject_message(code), follow_up=seg.get(4) or None, loop=loop)


def _pick(
    benefits: Iterable[Benefit], kind: str, *, amount: bool = True, periods: tuple[str | None, ...] | None = None
) -> Benefit | None:
    """The benefit a summary field shows: in-network before unstated (never out-of-network), individual
    before any other coverage level (family never fills a summary with ``periods``), then the order of
    ``periods``, then the payer's order."""
    ranked: list[tuple[int, int, int, int, Benefit]] = []
    for position, benefit in enumerate(benefits):
        value = benefit.amount if amount else benefit.percent
        if benefit.kind != kind or value is None or benefit.in_network is False:
            continue
        if periods is not None and benefit.period not in periods:
            continue
        if periods is not None and benefit.coverage_level not in ("individual", None):
            continue
        network = 0 if benefit.in_network else 1
        level = 0 if benefit.coverage_level == "individual" else 1
        period = periods.index(benefit.period) if periods is not None else 0
        ranked.append((network, level, period, position, benefit))
    return min(ranked, key=lambda item: item[:4])[4] if ranked else None


def _amount(benefit: Benefit | None) -> Decimal | None:
    return None if benefit is None else benefit.amount


def _percent(benefit: Benefit | None) -> Decimal | None:
    return None if benefit is None else benefit.percent
