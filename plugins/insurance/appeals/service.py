"""Appeal records and their lifecycle, inside the request's tenant transaction.

Every change writes the appeal, a row of the transition log and an audit event in one
transaction. An appeal is of exactly one claim or one prior authorization, and at most one appeal
of a record is open (draft, submitted, in review) at a time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from core.plugins.sdk import PluginContext
from plugins.insurance.appeals import deadlines, states
from plugins.insurance.appeals.schemas import Appeal, AppealCreate, AppealTransition, AppealTransitionIn
from plugins.insurance.appeals.subjects import Subject, find_subject
from plugins.insurance.claims.errors import ConflictError, IllegalTransitionError, InvalidFieldError
from plugins.insurance.claims.rules import check_money
from plugins.insurance.claims.tenant_time import tenant_zone, today_in

COLUMNS = (
    "id, patient_id, claim_id, authorization_id, level, previous_appeal_id, status, outcome, urgency, "
    "filing_deadline, decision_due_at, arguments, payer_reference, amount_requested, amount_recovered, "
    "decision_notes, status_reason, submitted_at, decided_at, created_at, updated_at"
)
TRANSITION_COLUMNS = "id, from_status, to_status, outcome, reason, amount_recovered, actor_type, actor_id, occurred_at"
OPEN = tuple(states.OPEN)
CLOCK_SKEW = timedelta(minutes=5)


def is_overdue(row: Any, today: date, now: datetime) -> bool:
    return bool(
        deadlines.filing_flag(row["status"], row["filing_deadline"], today, 0) == "filing_deadline_missed"
        or deadlines.decision_flag(row["status"], row["decision_due_at"], now)
    )


def to_appeal(row: Any, today: date, now: datetime) -> Appeal:
    data = dict(row)
    data["level_name"] = states.level_name(data["level"])
    data["overdue"] = is_overdue(row, today, now)
    return msgspec.convert(data, Appeal, strict=False)


def to_transition(row: Any) -> AppealTransition:
    return msgspec.convert(dict(row), AppealTransition, strict=False)


async def tenant_clock(ctx: PluginContext) -> tuple[ZoneInfo, date, datetime]:
    zone, now = await tenant_zone(ctx), datetime.now(UTC)
    return zone, today_in(zone, now), now


async def log_move(
    ctx: PluginContext, row: Any, previous: str | None, reason: str | None, *, outcome: str | None = None
) -> None:
    await ctx.tx.execute(
        "insert into appeal_transitions (tenant_id, appeal_id, from_status, to_status, outcome, reason, "
        "amount_recovered, actor_type, actor_id) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        ctx.tenant_id,
        row["id"],
        previous,
        row["status"],
        outcome,
        reason,
        row["amount_recovered"] if outcome else None,
        ctx.principal.kind,
        None if ctx.principal.kind == "system" else ctx.principal.actor_id,
    )


async def insert_appeal(ctx: PluginContext, subject: Subject, values: dict[str, Any]) -> Any:
    open_id = await ctx.tx.fetchval(
        f"select id from appeals where {subject.column} = $1 and status = any($2::text[])", subject.id, list(OPEN)
    )
    if open_id is not None:
        raise ConflictError(f"An appeal of this {subject.what} is already open", open_appeal_id=str(open_id))
    return await ctx.tx.fetchrow(
        f"insert into appeals (tenant_id, patient_id, {subject.column}, level, previous_appeal_id, urgency, "
        "filing_deadline, arguments, payer_reference, amount_requested, created_by) "
        f"values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning {COLUMNS}",
        ctx.tenant_id,
        subject.patient_id,
        subject.id,
        values["level"],
        values.get("previous_appeal_id"),
        values["urgency"],
        values["filing_deadline"],
        values.get("arguments"),
        values.get("payer_reference"),
        values.get("amount_requested"),
        None if ctx.principal.kind == "system" else ctx.principal.actor_id,
    )


async def create_appeal(ctx: PluginContext, data: AppealCreate) -> Appeal:
    if (data.claim_id is None) == (data.authorization_id is None):
        raise InvalidFieldError("claim_id", "name exactly one of claim_id and authorization_id")
    zone, today, now = await tenant_clock(ctx)
    subject = await find_subject(ctx, claim_id=data.claim_id, authorization_id=data.authorization_id, zone=zone)
    if not subject.appealable:
        raise ConflictError(subject.refusal, **{subject.status_key: subject.status})
    errors = check_money("amount_requested", data.amount_requested)
    billed = subject.billed_amount
    if data.amount_requested is not None and billed is None:
        errors.append(("amount_requested", "amount_requested is for claim appeals"))
    elif data.amount_requested is not None and billed is not None and not errors and data.amount_requested > billed:
        errors.append(("amount_requested", f"amount_requested exceeds the billed amount {billed}"))
    if errors:
        raise InvalidFieldError.of(errors)
    deadline = data.filing_deadline or deadlines.filing_deadline(data.level, subject.adverse_on or today)
    row = await insert_appeal(
        ctx,
        subject,
        {
            "level": data.level,
            "urgency": data.urgency,
            "filing_deadline": deadline,
            "arguments": data.arguments,
            "payer_reference": data.payer_reference,
            "amount_requested": data.amount_requested,
        },
    )
    await log_move(ctx, row, None, None)
    details = {"patient_id": str(row["patient_id"]), subject.column: str(subject.id), "level": data.level}
    await ctx.audit("insurance.appeal_create", "appeal", row["id"], details)
    return to_appeal(row, today, now)


async def get_appeal(ctx: PluginContext, appeal_id: UUID) -> Appeal | None:
    row = await ctx.tx.fetchrow(f"select {COLUMNS} from appeals where id = $1", appeal_id)
    if row is None:
        return None
    await ctx.audit("insurance.appeal_read", "appeal", appeal_id, {"patient_id": str(row["patient_id"])})
    _, today, now = await tenant_clock(ctx)
    return to_appeal(row, today, now)


async def list_appeals(
    ctx: PluginContext,
    *,
    status: list[str] | None,
    patient_id: UUID | None,
    claim_id: UUID | None,
    authorization_id: UUID | None,
    overdue: bool,
    limit: int,
) -> list[Appeal]:
    _, today, now = await tenant_clock(ctx)
    rows = await ctx.tx.fetch(
        f"select {COLUMNS} from appeals where ($1::text[] is null or status = any($1)) "
        "and ($2::uuid is null or patient_id = $2) and ($3::uuid is null or claim_id = $3) "
        "and ($4::uuid is null or authorization_id = $4) and (not $5 or (status = 'draft' and filing_deadline < $6) "
        "or (status in ('submitted', 'in_review') and decision_due_at < $7)) "
        "order by created_at desc, id limit $8",
        status,
        patient_id,
        claim_id,
        authorization_id,
        overdue,
        today,
        now,
        limit,
    )
    appeals = [to_appeal(r, today, now) for r in rows]
    details: dict[str, Any] = {
        "ids": [str(a.id) for a in appeals],
        "patient_ids": sorted({str(a.patient_id) for a in appeals}),
    }
    if patient_id is not None:
        details["patient_id"] = str(patient_id)
    await ctx.audit("insurance.appeal_list", "appeal", None, details)
    return appeals


async def lock_appeal(ctx: PluginContext, appeal_id: UUID) -> Any:
    return await ctx.tx.fetchrow(f"select {COLUMNS} from appeals where id = $1 for no key update", appeal_id)


async def document_owner(ctx: PluginContext, appeal_id: UUID) -> UUID | None:
    """The appeal's patient (the appeal locked against concurrent uploads), or None: for the document routes."""
    row = await lock_appeal(ctx, appeal_id)
    return None if row is None else UUID(str(row["patient_id"]))


def _move_errors(row: Any, data: AppealTransitionIn, now: datetime) -> list[tuple[str, str]]:
    """Every rule the request breaks for the move it asks."""
    target = data.to
    errors: list[tuple[str, str]] = []
    if target in states.REASON_REQUIRED and not data.reason:
        errors.append(("reason", f"moving an appeal to {target} needs a reason"))
    if target in states.ARGUMENTS_REQUIRED and not (data.arguments or row["arguments"]):
        errors.append(("arguments", "an appeal is filed with its arguments"))
    if target in states.OUTCOME_REQUIRED and data.outcome is None:
        errors.append(("outcome", "a decision needs its outcome: upheld, overturned or partially_overturned"))
    only: list[tuple[str, frozenset[str], str]] = [
        ("outcome", states.OUTCOME_REQUIRED, "decided"),
        ("decision_notes", states.OUTCOME_REQUIRED, "decided"),
        ("amount_recovered", states.OUTCOME_REQUIRED, "decided"),
        ("submitted_at", frozenset({"submitted"}), "submitted"),
        ("decision_due_at", states.AWAITING_DECISION, "submitted or in_review"),
        ("arguments", frozenset({"submitted"}), "submitted"),
    ]
    for field, targets, named in only:
        if getattr(data, field) is not None and target not in targets:
            errors.append((field, f"{field} goes with a move to {named}"))
    if data.amount_recovered is not None and target == "decided":
        errors += check_money("amount_recovered", data.amount_recovered)
        if row["claim_id"] is None:
            errors.append(("amount_recovered", "amount_recovered is for claim appeals"))
    submitted_at = data.submitted_at or row["submitted_at"] or now
    if data.submitted_at is not None and (data.submitted_at.tzinfo is None or data.submitted_at > now + CLOCK_SKEW):
        errors.append(("submitted_at", "submitted_at needs a time zone offset and must not be in the future"))
    elif data.decision_due_at is not None and (
        data.decision_due_at.tzinfo is None or data.decision_due_at <= submitted_at
    ):
        errors.append(("decision_due_at", "decision_due_at needs a time zone offset and must follow submission"))
    return errors


async def transition(ctx: PluginContext, appeal_id: UUID, data: AppealTransitionIn) -> Appeal | None:
    """Move an appeal along its lifecycle; None when it does not exist (in this organization)."""
    row = await lock_appeal(ctx, appeal_id)
    if row is None:
        return None
    current, target = row["status"], data.to
    if not states.can_move(current, target):
        raise IllegalTransitionError("appeal", current, target)
    _, today, now = await tenant_clock(ctx)
    errors = _move_errors(row, data, now)
    if errors:
        raise InvalidFieldError.of(errors)
    submitted_at = row["submitted_at"]
    due_at = data.decision_due_at or row["decision_due_at"]
    if target == "submitted":
        submitted_at = data.submitted_at or now
        timing: deadlines.Timing = "post_service" if row["claim_id"] is not None else "pre_service"
        due_at = data.decision_due_at or deadlines.decision_due(submitted_at, row["level"], row["urgency"], timing)
    updated = await ctx.tx.fetchrow(
        "update appeals set status = $2::varchar, status_reason = $3, arguments = coalesce($4, arguments), "
        "submitted_at = $5, decision_due_at = $6, outcome = $7, decision_notes = coalesce($8, decision_notes), "
        "amount_recovered = coalesce($9, amount_recovered), payer_reference = coalesce($10, payer_reference), "
        "decided_at = case when $2::varchar = 'decided' then clock_timestamp() else decided_at end, "
        f"updated_at = now() where id = $1 returning {COLUMNS}",
        appeal_id,
        target,
        data.reason,
        data.arguments,
        submitted_at,
        due_at,
        data.outcome,
        data.decision_notes,
        data.amount_recovered,
        data.payer_reference,
    )
    await log_move(ctx, updated, current, data.reason, outcome=data.outcome)
    details: dict[str, Any] = {"from": current, "patient_id": str(updated["patient_id"])}
    if data.outcome:
        details["outcome"] = data.outcome
    await ctx.audit(f"insurance.appeal_{target}", "appeal", appeal_id, details)
    return to_appeal(updated, today, now)


async def list_transitions(ctx: PluginContext, appeal_id: UUID) -> list[AppealTransition] | None:
    patient = await ctx.tx.fetchval("select patient_id from appeals where id = $1", appeal_id)
    if patient is None:
        return None
    rows = await ctx.tx.fetch(
        f"select {TRANSITION_COLUMNS} from appeal_transitions where appeal_id = $1 order by occurred_at, id",
        appeal_id,
    )
    await ctx.audit("insurance.appeal_history", "appeal", appeal_id, {"patient_id": str(patient)})
    return [to_transition(r) for r in rows]
