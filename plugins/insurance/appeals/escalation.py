"""Taking an appeal one level up: a decided appeal that left an adverse decision opens the next level."""

from __future__ import annotations

from uuid import UUID

from core.plugins.sdk import PluginContext
from plugins.insurance.appeals import deadlines, states
from plugins.insurance.appeals.schemas import Appeal, EscalateIn
from plugins.insurance.appeals.service import insert_appeal, lock_appeal, log_move, tenant_clock, to_appeal
from plugins.insurance.appeals.subjects import authorization_subject, claim_subject
from plugins.insurance.claims.errors import ConflictError


async def escalate(ctx: PluginContext, appeal_id: UUID, data: EscalateIn) -> Appeal | None:
    """The new draft appeal at the next level; None when the appeal does not exist (here)."""
    row = await lock_appeal(ctx, appeal_id)
    if row is None:
        return None
    level = row["level"]
    if not states.can_escalate(row["status"], row["outcome"], level):
        why = (
            f"the last level ({states.level_name(level)}) was reached"
            if level >= states.MAX_LEVEL
            else "only a decided appeal that was upheld or partially overturned goes to the next level"
        )
        raise ConflictError(
            f"The appeal is {row['status']}{' (' + row['outcome'] + ')' if row['outcome'] else ''}: {why}",
            current_status=row["status"],
            outcome=row["outcome"] or "",
        )
    escalated = await ctx.tx.fetchval(
        "select id from appeals where previous_appeal_id = $1 and status <> 'withdrawn'", appeal_id
    )
    if escalated is not None:
        raise ConflictError("The appeal was already taken to the next level", escalated_appeal_id=str(escalated))
    zone, today, now = await tenant_clock(ctx)
    if row["claim_id"] is not None:
        subject = await claim_subject(ctx, row["claim_id"], zone)
    else:
        subject = await authorization_subject(ctx, row["authorization_id"], zone)
    if subject is None:  # cannot happen: the foreign key keeps it
        return None
    if not subject.appealable:
        raise ConflictError(subject.refusal, **{subject.status_key: subject.status})
    decided_on = row["decided_at"].astimezone(zone).date()
    new = await insert_appeal(
        ctx,
        subject,
        {
            "level": level + 1,
            "previous_appeal_id": appeal_id,
            "urgency": data.urgency or row["urgency"],
            "filing_deadline": data.filing_deadline or deadlines.filing_deadline(level + 1, decided_on),
            "arguments": data.arguments,
            "payer_reference": None,
            "amount_requested": row["amount_requested"],
        },
    )
    await log_move(ctx, new, None, f"escalated from the {states.level_name(level)} {appeal_id}")
    patient = str(new["patient_id"])
    await ctx.audit("insurance.appeal_escalate", "appeal", appeal_id, {"patient_id": patient, "to": str(new["id"])})
    details = {"patient_id": patient, subject.column: str(subject.id), "level": level + 1}
    await ctx.audit("insurance.appeal_create", "appeal", new["id"], details)
    return to_appeal(new, today, now)
