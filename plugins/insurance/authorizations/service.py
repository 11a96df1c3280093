"""Prior-authorization records and their lifecycle, inside the request's tenant transaction.

Every change writes the authorization, a transition when its status moves and an audit event
(with the patient) in one transaction; submitting also queues the payer exchange through the
outbox, so the job exists exactly when the submission committed.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from core.plugins.sdk import PluginContext
from plugins.insurance.authorizations import decisions, states
from plugins.insurance.authorizations.checks import (
    CheckedLine,
    InvalidAuthorizationError,
    Request,
    check_coverage,
    check_request,
    service_start,
)
from plugins.insurance.authorizations.deadlines import decision_due, local_date
from plugins.insurance.authorizations.records import (
    COLUMNS,
    EXCHANGE_COLUMNS,
    TRANSITION_COLUMNS,
    actor_id,
    fetch,
    lines_of,
    load,
    log_transition,
    tenant_zone,
    to_authorization,
)
from plugins.insurance.authorizations.schemas import (
    Authorization,
    AuthorizationCreate,
    AuthorizationUpdate,
    DecisionIn,
    Exchange,
    LineIn,
    Transition,
)
from plugins.insurance.authorizations.states import IllegalMoveError

SUBMIT_ACTOR = "insurance.submit_authorization"
RESOURCE = "prior_authorization"

__all__ = ["IllegalMoveError", "InvalidAuthorizationError", "NotEditableError"]


class NotEditableError(Exception):
    """Only a draft can be changed; ``status`` is what the authorization is."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def new_trace_number() -> str:
    """Our reference for one submission round (TRN02), echoed back by the payer."""
    return "PA" + secrets.token_hex(7).upper()[:13]


def _details(row: Any, **extra: Any) -> dict[str, Any]:
    return {"patient_id": str(row["patient_id"]), **extra}


async def _insert_lines(ctx: PluginContext, authorization_id: UUID, lines: list[CheckedLine]) -> None:
    for line in lines:
        await ctx.tx.execute(
            "insert into prior_authorization_lines (tenant_id, authorization_id, line_number, code, code_system, "
            "modifiers, units, service_from, service_to) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            ctx.tenant_id,
            authorization_id,
            line.line,
            line.code,
            line.code_system,
            line.modifiers,
            line.units,
            line.service_from,
            line.service_to,
        )


async def create_authorization(ctx: PluginContext, data: AuthorizationCreate) -> Authorization:
    request = Request(
        patient_id=data.patient_id,
        coverage_id=data.coverage_id,
        lines=data.lines,
        diagnosis_codes=data.diagnosis_codes,
        referral_id=data.referral_id,
        appointment_id=data.appointment_id,
        coordinator_id=data.coordinator_id,
    )
    lines, diagnoses = await check_request(ctx, request)
    coordinator = data.coordinator_id or (ctx.principal.actor_id if ctx.principal.kind == "user" else None)
    row = await ctx.tx.fetchrow(
        "insert into prior_authorizations (tenant_id, patient_id, coverage_id, referral_id, appointment_id, urgency, "
        "service_type, diagnosis_codes, notes, coordinator_id, created_by) "
        f"values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning {COLUMNS}",
        ctx.tenant_id,
        data.patient_id,
        data.coverage_id,
        data.referral_id,
        data.appointment_id,
        data.urgency,
        data.service_type,
        diagnoses,
        data.notes,
        coordinator,
        actor_id(ctx),
    )
    await _insert_lines(ctx, row["id"], lines)
    await log_transition(ctx, row["id"], None, "draft", None)
    await ctx.audit("insurance.authorization_create", RESOURCE, row["id"], _details(row))
    return to_authorization(row, (await lines_of(ctx, [row["id"]]))[row["id"]])


async def get_authorization(ctx: PluginContext, authorization_id: UUID) -> Authorization | None:
    authorization = await load(ctx, authorization_id)
    if authorization is not None:
        await ctx.audit(
            "insurance.authorization_read", RESOURCE, authorization_id, {"patient_id": str(authorization.patient_id)}
        )
    return authorization


async def list_authorizations(
    ctx: PluginContext,
    *,
    status: list[str] | None = None,
    patient_id: UUID | None = None,
    referral_id: UUID | None = None,
    appointment_id: UUID | None = None,
    coverage_id: UUID | None = None,
    overdue: bool = False,
    limit: int = 100,
) -> list[Authorization]:
    """Newest first; ``overdue`` keeps those whose payer decision is past due and still not in."""
    rows = await ctx.tx.fetch(
        f"select {COLUMNS} from prior_authorizations where ($1::text[] is null or status = any($1)) "
        "and ($2::uuid is null or patient_id = $2) and ($3::uuid is null or referral_id = $3) "
        "and ($4::uuid is null or appointment_id = $4) and ($5::uuid is null or coverage_id = $5) "
        "and (not $6 or (status = any($7::text[]) and decision_due_at <= now())) "
        "order by created_at desc, id limit $8",
        status,
        patient_id,
        referral_id,
        appointment_id,
        coverage_id,
        overdue,
        sorted(states.RUNNING),
        limit,
    )
    lines = await lines_of(ctx, [r["id"] for r in rows])
    found = [to_authorization(r, lines[r["id"]]) for r in rows]
    details: dict[str, object] = {
        "ids": [str(a.id) for a in found],
        "patient_ids": sorted({str(a.patient_id) for a in found}),
    }
    if patient_id is not None:
        details["patient_id"] = str(patient_id)
    await ctx.audit("insurance.authorization_list", RESOURCE, None, details)
    return found


def _line_inputs(line_rows: list[Any]) -> list[LineIn]:
    return [
        LineIn(code=r["code"], code_system=r["code_system"], modifiers=list(r["modifiers"] or []), units=r["units"],
               service_from=r["service_from"], service_to=r["service_to"])
        for r in line_rows
    ]  # fmt: skip


async def update_authorization(
    ctx: PluginContext, authorization_id: UUID, data: AuthorizationUpdate
) -> Authorization | None:
    """Change a draft (a new one, or one the payer sent back); raises NotEditableError otherwise."""
    row = await fetch(ctx, authorization_id, lock=True)
    if row is None:
        return None
    if row["status"] not in states.EDITABLE:
        raise NotEditableError(row["status"])
    given = {f: getattr(data, f) for f in data.__struct_fields__ if f != "tenant_id"}
    given = {f: v for f, v in given.items() if v is not msgspec.UNSET}
    line_rows = (await lines_of(ctx, [authorization_id]))[authorization_id]
    request = Request(
        patient_id=row["patient_id"],
        coverage_id=given.get("coverage_id", row["coverage_id"]),
        lines=given.get("lines", _line_inputs(line_rows)),
        diagnosis_codes=given.get("diagnosis_codes", list(row["diagnosis_codes"])),
        referral_id=given.get("referral_id", row["referral_id"]),
        appointment_id=given.get("appointment_id", row["appointment_id"]),
        coordinator_id=given.get("coordinator_id", row["coordinator_id"]),
    )
    lines, diagnoses = await check_request(ctx, request)
    updated = await ctx.tx.fetchrow(
        "update prior_authorizations set coverage_id = $2, diagnosis_codes = $3, urgency = $4, service_type = $5, "
        "referral_id = $6, appointment_id = $7, notes = $8, coordinator_id = $9, updated_at = now() "
        f"where id = $1 returning {COLUMNS}",
        authorization_id,
        request.coverage_id,
        diagnoses,
        given.get("urgency", row["urgency"]),
        given.get("service_type", row["service_type"]),
        request.referral_id,
        request.appointment_id,
        given.get("notes", row["notes"]),
        request.coordinator_id,
    )
    if "lines" in given:
        await ctx.tx.execute("delete from prior_authorization_lines where authorization_id = $1", authorization_id)
        await _insert_lines(ctx, authorization_id, lines)
    await ctx.audit("insurance.authorization_update", RESOURCE, authorization_id, _details(row, fields=sorted(given)))
    return to_authorization(updated, (await lines_of(ctx, [authorization_id]))[authorization_id])


async def submit(ctx: PluginContext, authorization_id: UUID) -> Authorization | None:
    """Send a draft to the payer: a new submission round, its decision clock, and the job that asks."""
    row = await fetch(ctx, authorization_id, lock=True)
    if row is None:
        return None
    if not states.can_move(row["status"], "submitted"):
        raise IllegalMoveError(row["status"], "submitted")
    line_rows = (await lines_of(ctx, [authorization_id]))[authorization_id]
    zone = await tenant_zone(ctx)
    now = datetime.now(UTC)
    start = service_start((r["service_from"] for r in line_rows), local_date(now, zone))
    problem = await check_coverage(ctx, row["coverage_id"], row["patient_id"], start)
    if problem is not None:
        raise InvalidAuthorizationError([{"key": "coverage_id", "message": problem}])
    round_ = row["submission_round"] + 1
    updated = await ctx.tx.fetchrow(
        "update prior_authorizations set status = 'submitted', submission_round = $2, trace_number = $3, "
        "submitted_at = $4, decision_due_at = $5, decision = null, decided_at = null, authorization_number = null, "
        "valid_from = null, valid_to = null, payer_reference = null, last_error = null, status_reason = null, "
        f"updated_at = now() where id = $1 returning {COLUMNS}",
        authorization_id,
        round_,
        new_trace_number(),
        now,
        decision_due(now, row["urgency"], zone),
    )
    await ctx.tx.execute(
        "update prior_authorization_lines set decision = null, action_code = null, approved_units = null, "
        "authorization_number = null, valid_from = null, valid_to = null, reason_codes = '{}', decided_at = null "
        "where authorization_id = $1",
        authorization_id,
    )
    await log_transition(ctx, authorization_id, row["status"], "submitted", f"submission round {round_}")
    await ctx.enqueue(
        SUBMIT_ACTOR,
        {"authorization_id": str(authorization_id), "submission_round": round_},
        idempotency_key=f"authorization:{authorization_id}:submit:{round_}",
    )
    await ctx.audit(
        "insurance.authorization_submit",
        RESOURCE,
        authorization_id,
        _details(row, round=round_, urgency=row["urgency"]),
    )
    return to_authorization(updated, (await lines_of(ctx, [authorization_id]))[authorization_id])


async def record_decision(ctx: PluginContext, authorization_id: UUID, data: DecisionIn) -> Authorization | None:
    """A decision received by phone, portal or fax; raises InvalidAuthorizationError or IllegalMoveError."""
    row = await fetch(ctx, authorization_id, lock=True)
    if row is None:
        return None
    if row["status"] not in states.DECIDABLE:  # refuse the move before picking the body apart
        asked = states.status_for(states.overall_decision(line.decision for line in data.lines))
        raise IllegalMoveError(row["status"], asked)
    line_rows = (await lines_of(ctx, [authorization_id]))[authorization_id]
    outcome = decisions.from_input(data, line_rows)
    updated = await decisions.apply(ctx, row, line_rows, outcome)
    return to_authorization(updated, (await lines_of(ctx, [authorization_id]))[authorization_id])


async def cancel(ctx: PluginContext, authorization_id: UUID, reason: str) -> Authorization | None:
    """A coordinator withdraws the request (draft, submitted or pended)."""
    row = await fetch(ctx, authorization_id, lock=True)
    if row is None:
        return None
    if not states.can_cancel(row["status"]):
        raise IllegalMoveError(row["status"], "cancelled")
    updated = await ctx.tx.fetchrow(
        "update prior_authorizations set status = 'cancelled', status_reason = $2, updated_at = now() "
        f"where id = $1 returning {COLUMNS}",
        authorization_id,
        reason,
    )
    await log_transition(ctx, authorization_id, row["status"], "cancelled", reason)
    await ctx.audit(
        "insurance.authorization_cancel", RESOURCE, authorization_id, _details(row, **{"from": row["status"]})
    )
    return to_authorization(updated, (await lines_of(ctx, [authorization_id]))[authorization_id])


async def list_transitions(ctx: PluginContext, authorization_id: UUID) -> list[Transition] | None:
    patient = await ctx.tx.fetchval("select patient_id from prior_authorizations where id = $1", authorization_id)
    if patient is None:
        return None
    rows = await ctx.tx.fetch(
        f"select {TRANSITION_COLUMNS} from prior_authorization_transitions where authorization_id = $1 "
        "order by occurred_at, id",
        authorization_id,
    )
    await ctx.audit("insurance.authorization_history", RESOURCE, authorization_id, {"patient_id": str(patient)})
    return [Transition(**dict(r)) for r in rows]


async def list_exchanges(ctx: PluginContext, authorization_id: UUID) -> list[Exchange] | None:
    patient = await ctx.tx.fetchval("select patient_id from prior_authorizations where id = $1", authorization_id)
    if patient is None:
        return None
    rows = await ctx.tx.fetch(
        f"select {EXCHANGE_COLUMNS} from prior_authorization_exchanges where authorization_id = $1 "
        "order by submission_round, occurred_at",
        authorization_id,
    )
    await ctx.audit("insurance.authorization_exchanges", RESOURCE, authorization_id, {"patient_id": str(patient)})
    result = []
    for r in rows:
        data = dict(r)
        rejections = data["rejections"]
        data["rejections"] = msgspec.json.decode(rejections) if isinstance(rejections, str | bytes) else rejections
        result.append(msgspec.convert(data, Exchange, strict=False))
    return result


async def authorization_patient(ctx: PluginContext, authorization_id: UUID) -> UUID | None:
    """The authorization's patient (locks it), for its documents; None when not this organization's."""
    value = await ctx.tx.fetchval(
        "select patient_id from prior_authorizations where id = $1 for update", authorization_id
    )
    return value if isinstance(value, UUID) else None
