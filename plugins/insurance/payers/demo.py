"""The demo payer: answers at once, predictably, so ``make dev`` and tests can run the whole flow.

Its answers depend on the member id, so a coordinator can try each outcome from the portal:

========================  =====================================================================
member id starts with     answer
========================  =====================================================================
``INACTIVE``              eligibility: coverage inactive
``NOTFOUND``              eligibility and authorization: rejected, subscriber not found (AAA 75)
``DOWN``                  the payer cannot be reached (retried by the workers)
``GARBLED``               the payer answers something unreadable (recorded as failed)
``PEND``                  authorization: pended for review (A4)
anything else             active coverage (Gold PPO); each service line certified (A1), or
                          partially certified (A2, 12 units) above 12 units, not certified (A3)
                          for Category III codes (``0001T``...)
========================  =====================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from core.payers.adapter import PayerAdapterSpec, PayerResponseError, PayerUnavailableError
from core.payers.messages import (
    AuthorizationRequest,
    AuthorizationResponse,
    Benefit,
    EligibilityInquiry,
    EligibilityResult,
    LineDecision,
    Rejection,
)

NOT_FOUND = Rejection(code="75", message="Subscriber/insured not found", follow_up="C", loop="subscriber")
MAX_UNITS = 12


def _member(person_member_id: str | None) -> str:
    return (person_member_id or "").upper()


def _trouble(member: str, request_text: str) -> None:
    if member.startswith("DOWN"):
        raise PayerUnavailableError("demo payer: connection refused", raw_request=request_text)
    if member.startswith("GARBLED"):
        raise PayerResponseError(
            "demo payer: the answer is not an X12 interchange", raw_request=request_text, raw_response="<html>"
        )


class DemoPayer:
    async def check_eligibility(self, inquiry: EligibilityInquiry, config: Mapping[str, Any]) -> EligibilityResult:
        member = _member(inquiry.subscriber.member_id)
        request_text = f"demo 270 {inquiry.trace_number} member={member} as_of={inquiry.as_of.isoformat()}"
        _trouble(member, request_text)
        common: dict[str, Any] = {
            "payer_name": inquiry.payer.name,
            "member_id": inquiry.subscriber.member_id,
            "trace_number": inquiry.trace_number,
            "raw_request": request_text,
        }
        if member.startswith("NOTFOUND"):
            return EligibilityResult(
                status="unknown", rejections=(NOT_FOUND,), raw_response="demo 271 AAA*N**75*C", **common
            )
        begin = date(inquiry.as_of.year, 1, 1)
        if member.startswith("INACTIVE"):
            return EligibilityResult(
                status="inactive", coverage_begin=begin, coverage_end=inquiry.as_of - timedelta(days=1),
                plan_name="Gold PPO", raw_response="demo 271 EB*6", **common,
            )  # fmt: skip
        benefits = (
            Benefit(kind="copay", service_type="98", amount=Decimal("25.00"), period="visit", in_network=True),
            Benefit(kind="deductible", coverage_level="individual", period="calendar_year", amount=Decimal("1500.00"),
                    in_network=True),
            Benefit(kind="deductible", coverage_level="individual", period="remaining", amount=Decimal("900.00"),
                    in_network=True),
            Benefit(kind="out_of_pocket", coverage_level="individual", period="calendar_year",
                    amount=Decimal("6000.00"), in_network=True),
            Benefit(kind="out_of_pocket", coverage_level="individual", period="remaining", amount=Decimal("4200.00"),
                    in_network=True),
        )  # fmt: skip
        return EligibilityResult(
            status="active",
            plan_name="Gold PPO",
            plan_number="GPPO-1",
            group_number=inquiry.subscriber.group_number,
            coverage_begin=begin,
            copay=Decimal("25.00"),
            coinsurance_percent=Decimal("20"),
            deductible=Decimal("1500.00"),
            deductible_remaining=Decimal("900.00"),
            out_of_pocket=Decimal("6000.00"),
            out_of_pocket_remaining=Decimal("4200.00"),
            benefits=benefits,
            raw_response="demo 271 EB*1*IND*30**Gold PPO",
            **common,
        )

    async def request_authorization(
        self, request: AuthorizationRequest, config: Mapping[str, Any]
    ) -> AuthorizationResponse:
        member = _member(request.subscriber.member_id)
        request_text = f"demo 278 {request.trace_number} member={member} lines={len(request.service_lines)}"
        _trouble(member, request_text)
        if member.startswith("NOTFOUND"):
            return AuthorizationResponse(trace_number=request.trace_number, rejections=(NOT_FOUND,),
                                         raw_request=request_text, raw_response="demo 278 AAA*N**75*C")  # fmt: skip
        if member.startswith("PEND"):
            lines = tuple(LineDecision(line=s.line, code=s.code, action="A4") for s in request.service_lines)
            return AuthorizationResponse(trace_number=request.trace_number, action="A4", lines=lines,
                                         raw_request=request_text, raw_response="demo 278 HCR*A4")  # fmt: skip
        start = min((s.service_from for s in request.service_lines if s.service_from), default=date.today())
        number = f"DEMO{request.trace_number[-8:]}".upper()
        decided = []
        for service in request.service_lines:
            if service.code.endswith("T"):
                decided.append(LineDecision(line=service.line, code=service.code, action="A3", reason_codes=("N",)))
                continue
            partial = service.units > MAX_UNITS
            decided.append(
                LineDecision(
                    line=service.line,
                    code=service.code,
                    action="A2" if partial else "A1",
                    approved_units=MAX_UNITS if partial else service.units,
                    authorization_number=number,
                    valid_from=start,
                    valid_to=start + timedelta(days=90),
                )
            )
        return AuthorizationResponse(
            trace_number=request.trace_number,
            authorization_number=number,
            valid_from=start,
            valid_to=start + timedelta(days=90),
            lines=tuple(decided),
            raw_request=request_text,
            raw_response="demo 278 " + " ".join(f"HCR*{d.action}" for d in decided),
        )


DEMO = PayerAdapterSpec(
    name="demo",
    title="Demo payer",
    adapter=DemoPayer(),
    description="Answers at once by member id prefix (INACTIVE, NOTFOUND, DOWN, GARBLED, PEND); for trying things",
)
