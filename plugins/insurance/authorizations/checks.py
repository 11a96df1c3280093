"""What a prior-authorization request must satisfy before it is kept: codes, units, references.

Every problem found is collected with the field it concerns (``lines[1].code``), so one 422
answer names them all. Ids of another organization's records look exactly like unknown ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from core.plugins.sdk import PluginContext
from plugins.insurance.authorizations.deadlines import local_date
from plugins.insurance.authorizations.records import tenant_zone
from plugins.insurance.authorizations.schemas import LineIn
from plugins.insurance.validation import ICD10, service_code_system

MAX_UNITS = 9999


class InvalidAuthorizationError(Exception):
    """The request breaks one or more rules; ``errors`` are ``{"key", "message"}`` pairs."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(errors[0]["message"])
        self.errors = errors


@dataclass(frozen=True)
class CheckedLine:
    line: int
    code: str
    code_system: str
    modifiers: list[str]
    units: int
    service_from: date | None
    service_to: date | None


@dataclass
class Request:
    """The parts of a request that are checked together (create, or a draft after a change)."""

    patient_id: UUID
    coverage_id: UUID
    lines: list[LineIn]
    diagnosis_codes: list[str]
    referral_id: UUID | None = None
    appointment_id: UUID | None = None
    coordinator_id: UUID | None = None


def check_codes(request: Request) -> tuple[list[CheckedLine], list[str], list[dict[str, str]]]:
    """Normalized lines and diagnosis codes, and the format errors found (no database needed)."""
    errors: list[dict[str, str]] = []
    diagnoses = [code.strip().upper() for code in request.diagnosis_codes]
    for index, code in enumerate(diagnoses):
        if not ICD10.match(code):
            errors.append({"key": f"diagnosis_codes[{index}]", "message": f"{code!r} is not an ICD-10-CM code"})
    if len(set(diagnoses)) != len(diagnoses):
        errors.append({"key": "diagnosis_codes", "message": "a diagnosis code is listed twice"})
    lines: list[CheckedLine] = []
    for index, given in enumerate(request.lines):
        key = f"lines[{index}]"
        code = given.code.strip().upper()
        system = service_code_system(code)
        if system is None:
            errors.append({"key": f"{key}.code", "message": f"{code!r} is not a CPT or HCPCS Level II code"})
        elif given.code_system is not None and given.code_system != system:
            errors.append({"key": f"{key}.code_system", "message": f"{code} is a {system} code"})
        if not 1 <= given.units <= MAX_UNITS:
            errors.append({"key": f"{key}.units", "message": f"units must be between 1 and {MAX_UNITS}"})
        if given.service_from and given.service_to and given.service_to < given.service_from:
            errors.append({"key": f"{key}.service_to", "message": "service_to is before service_from"})
        modifiers = [m.upper() for m in given.modifiers]
        lines.append(
            CheckedLine(index + 1, code, system or "CPT", modifiers, given.units, given.service_from,
                        given.service_to)
        )  # fmt: skip
    return lines, diagnoses, errors


def service_start(starts: Iterable[date | None], today: date) -> date:
    """The first day services are asked for, from the lines' ``service_from`` (today when none says)."""
    return min((start for start in starts if start is not None), default=today)


async def check_coverage(ctx: PluginContext, coverage_id: UUID, patient_id: UUID, on: date) -> str | None:
    """Why ``coverage_id`` cannot carry a request for ``patient_id`` starting ``on``; None when it can."""
    row = await ctx.tx.fetchrow(
        "select c.patient_id, c.retired_at, c.effective_from, c.effective_to, "
        "(select e.status from eligibility_checks e where e.coverage_id = c.id and e.status <> 'queued' "
        "order by e.requested_at desc, e.id limit 1) as eligibility from coverages c where c.id = $1",
        coverage_id,
    )
    if row is None:
        return "unknown coverage"
    if row["patient_id"] != patient_id:
        return "the coverage belongs to another patient"
    if row["retired_at"] is not None:
        return "the coverage is retired"
    if row["effective_from"] > on or (row["effective_to"] is not None and row["effective_to"] < on):
        return f"the coverage is not in effect on {on.isoformat()}"
    if row["eligibility"] == "inactive":
        return "the payer reported this coverage inactive; check eligibility again or pick another coverage"
    return None


async def _referral_patient(ctx: PluginContext, referral_id: UUID) -> Any:
    """The referral's patient, as the referrals module announced it (hook ``referral_status_changed``)."""
    return await ctx.tx.fetchval("select patient_id from insurance_referrals where referral_id = $1", referral_id)


async def check_references(ctx: PluginContext, request: Request, start: date) -> list[dict[str, str]]:
    """Errors for ids that are not this organization's records, or not this patient's."""
    if not await ctx.tx.fetchval(
        "select exists (select 1 from patients where id = $1 and deleted_at is null)", request.patient_id
    ):
        return [{"key": "patient_id", "message": "unknown patient"}]
    errors: list[dict[str, str]] = []
    problem = await check_coverage(ctx, request.coverage_id, request.patient_id, start)
    if problem is not None:
        errors.append({"key": "coverage_id", "message": problem})
    if request.appointment_id is not None:
        owner = await ctx.tx.fetchval("select patient_id from appointments where id = $1", request.appointment_id)
        if owner is None:
            errors.append({"key": "appointment_id", "message": "unknown appointment"})
        elif owner != request.patient_id:
            errors.append({"key": "appointment_id", "message": "the appointment is another patient's"})
    if request.referral_id is not None:
        owner = await _referral_patient(ctx, request.referral_id)
        if owner is None:
            errors.append({"key": "referral_id", "message": "unknown referral"})
        elif owner != request.patient_id:
            errors.append({"key": "referral_id", "message": "the referral is another patient's"})
    if request.coordinator_id is not None and not await ctx.tx.fetchval(
        "select exists (select 1 from users where id = $1)", request.coordinator_id
    ):
        errors.append({"key": "coordinator_id", "message": "unknown user"})
    return errors


async def check_request(ctx: PluginContext, request: Request) -> tuple[list[CheckedLine], list[str]]:
    """The request's lines and diagnosis codes, normalized; raises InvalidAuthorizationError."""
    lines, diagnoses, errors = check_codes(request)
    today = local_date(datetime.now(UTC), await tenant_zone(ctx))
    errors.extend(await check_references(ctx, request, service_start((line.service_from for line in lines), today)))
    if errors:
        raise InvalidAuthorizationError(errors)
    return lines, diagnoses
