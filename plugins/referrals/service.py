"""Referral records and their lifecycle, inside the request's tenant transaction.

Every change writes the referral, a row of the transition log and an audit event in one
transaction, then tells the tenant's other modules through ``referral_status_changed``. The move
that stops the SLA clock also stores its outcome on the referral (``sla_stopped_at``, ``sla_met``).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from core.plugins.sdk import PluginContext
from plugins.referrals import packet_sending, states
from plugins.referrals.clock import record_sla_stop
from plugins.referrals.log_times import refresh
from plugins.referrals.schemas import Referral, ReferralCreate, RerouteIn, Transition, TransitionIn

COLUMNS = (
    "id, patient_id, status, priority, specialty, reason, target_practitioner_id, target_organization_id, "
    "referring_practitioner_id, diagnosis_codes, clinical_notes, prior_auth_required, coordinator_id, "
    "appointment_id, consult_report, status_reason, held_from, replaces_id, replaced_by_id, sent_at, closed_at, "
    "created_at, updated_at, packet_status, packet_notification_id, packet_detail"
)
TRANSITION_COLUMNS = "id, from_status, to_status, reason, actor_type, actor_id, occurred_at"


class IllegalTransitionError(Exception):
    def __init__(self, current: str, requested: str) -> None:
        super().__init__(f"{current} -> {requested}")
        self.current = current
        self.requested = requested


class UnknownReferenceError(Exception):
    """A body names an id that is not a record of this organization (another tenant's looks the same)."""

    def __init__(self, field: str, what: str) -> None:
        super().__init__(field)
        self.field = field
        self.what = what


class MissingFieldError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def to_referral(row: Any) -> Referral:
    data = dict(row)
    data["diagnosis_codes"] = list(data["diagnosis_codes"] or [])
    return msgspec.convert(data, Referral, from_attributes=False, strict=False)


def to_transition(row: Any) -> Transition:
    return Transition(**dict(row))


_REFERENCES = {
    "patient_id": ("select 1 from patients where id = $1 and deleted_at is null", "patient"),
    "target_practitioner_id": ("select 1 from practitioners where id = $1", "practitioner"),
    "referring_practitioner_id": ("select 1 from practitioners where id = $1", "practitioner"),
    "target_organization_id": ("select 1 from provider_organizations where id = $1", "provider organization"),
    "appointment_id": ("select 1 from appointments where id = $1", "appointment"),
    "coordinator_id": ("select 1 from users where id = $1", "user"),
}


async def check_references(ctx: PluginContext, **ids: UUID | None) -> None:
    """Each named id must be a live record of this tenant (RLS hides the others)."""
    for field, value in ids.items():
        if value is None:
            continue
        sql, what = _REFERENCES[field]
        if await ctx.tx.fetchval(sql, value) is None:
            raise UnknownReferenceError(field, what)


async def _log(ctx: PluginContext, referral_id: UUID, previous: str | None, status: str, reason: str | None) -> None:
    await ctx.tx.execute(
        "insert into referral_transitions (tenant_id, referral_id, from_status, to_status, reason, actor_type, "
        "actor_id) values ($1, $2, $3, $4, $5, $6, $7)",
        ctx.tenant_id,
        referral_id,
        previous,
        status,
        reason,
        ctx.principal.kind,
        None if ctx.principal.kind == "system" else ctx.principal.actor_id,
    )


async def _announce(ctx: PluginContext, referral: Referral, previous: str | None) -> None:
    await ctx.emit("referral_status_changed", referral=referral, previous_status=previous)


async def create_referral(ctx: PluginContext, data: ReferralCreate) -> Referral:
    await check_references(
        ctx,
        patient_id=data.patient_id,
        target_practitioner_id=data.target_practitioner_id,
        target_organization_id=data.target_organization_id,
        referring_practitioner_id=data.referring_practitioner_id,
        coordinator_id=data.coordinator_id,
    )
    coordinator = data.coordinator_id or (ctx.principal.actor_id if ctx.principal.kind == "user" else None)
    row = await ctx.tx.fetchrow(
        "insert into referrals (tenant_id, patient_id, specialty, reason, priority, target_practitioner_id, "
        "target_organization_id, referring_practitioner_id, diagnosis_codes, clinical_notes, prior_auth_required, "
        "coordinator_id, created_by) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
        f"returning {COLUMNS}",
        ctx.tenant_id,
        data.patient_id,
        data.specialty,
        data.reason,
        data.priority,
        data.target_practitioner_id,
        data.target_organization_id,
        data.referring_practitioner_id,
        [code.upper() for code in data.diagnosis_codes],
        data.clinical_notes,
        data.prior_auth_required,
        coordinator,
        ctx.principal.actor_id,
    )
    referral = to_referral(row)
    await _log(ctx, referral.id, None, "draft", None)
    await ctx.audit("referral.create", "referral", referral.id, {"patient_id": str(referral.patient_id)})
    await _announce(ctx, referral, None)
    return referral


async def get_referral(ctx: PluginContext, referral_id: UUID) -> Referral | None:
    row = await ctx.tx.fetchrow(f"select {COLUMNS} from referrals where id = $1", referral_id)
    if row is None:
        return None
    await ctx.audit("referral.read", "referral", referral_id, {"patient_id": str(row["patient_id"])})
    return to_referral(row)


async def list_referrals(
    ctx: PluginContext,
    *,
    status: list[str] | None,
    priority: str | None,
    patient_id: UUID | None,
    practitioner_id: UUID | None,
    organization_id: UUID | None,
    coordinator_id: UUID | None,
    specialty: str | None,
    limit: int,
) -> list[Referral]:
    rows = await ctx.tx.fetch(
        f"select {COLUMNS} from referrals where ($1::text[] is null or status = any($1)) "
        "and ($2::text is null or priority = $2) and ($3::uuid is null or patient_id = $3) "
        "and ($4::uuid is null or target_practitioner_id = $4) and ($5::uuid is null or target_organization_id = $5) "
        "and ($6::uuid is null or coordinator_id = $6) and ($7::text is null or lower(specialty) = lower($7)) "
        "order by created_at desc, id limit $8",
        status,
        priority,
        patient_id,
        practitioner_id,
        organization_id,
        coordinator_id,
        specialty,
        limit,
    )
    referrals = [to_referral(r) for r in rows]
    await ctx.audit("referral.list", "referral", None, {"ids": [str(r.id) for r in referrals]})
    return referrals


async def _locked(ctx: PluginContext, referral_id: UUID) -> Any:
    return await ctx.tx.fetchrow(f"select {COLUMNS} from referrals where id = $1 for update", referral_id)


async def transition(ctx: PluginContext, referral_id: UUID, data: TransitionIn) -> Referral | None:
    """Move a referral along its lifecycle; None when it does not exist (in this organization)."""
    row = await _locked(ctx, referral_id)
    if row is None:
        return None
    current, target = row["status"], data.to
    if not states.can_move(current, target, row["held_from"]):
        raise IllegalTransitionError(current, target)
    if target in states.REASON_REQUIRED and not data.reason:
        raise MissingFieldError("reason", f"moving to {target} needs a reason")
    if target == "scheduled" and data.appointment_id is None:
        raise MissingFieldError("appointment_id", "scheduling needs the appointment_id of the booked visit")
    if target == "closed" and data.consult_report is None:
        raise MissingFieldError("consult_report", "closing the loop needs the consult report")
    await check_references(ctx, appointment_id=data.appointment_id)
    updated = await ctx.tx.fetchrow(
        "update referrals set status = $2::varchar, status_reason = $3, "
        "held_from = case when $2::varchar = 'on_hold' then $4::varchar else null end, "
        "appointment_id = coalesce($5, appointment_id), consult_report = coalesce($6, consult_report), "
        "sent_at = case when $2::varchar = 'sent' and sent_at is null then clock_timestamp() else sent_at end, "
        "closed_at = case when $2::varchar = 'closed' then clock_timestamp() else closed_at end, updated_at = now() "
        f"where id = $1 returning {COLUMNS}",
        referral_id,
        target,
        data.reason,
        current,
        data.appointment_id,
        data.consult_report,
    )
    if await packet_sending.after_move(ctx, updated, target):  # queue the packet on sent, acknowledge on received
        updated = await ctx.tx.fetchrow(f"select {COLUMNS} from referrals where id = $1", referral_id)
    referral = to_referral(updated)
    await _log(ctx, referral_id, current, target, data.reason)
    await refresh(ctx, [referral_id])  # the event times the metrics read, kept from the log
    await record_sla_stop(ctx, referral_id, target)  # the outcome the SLA metric reads, stored with the move
    await ctx.audit(
        f"referral.{target}", "referral", referral_id, {"from": current, "patient_id": str(referral.patient_id)}
    )
    await _announce(ctx, referral, current)
    return referral


async def reroute(ctx: PluginContext, referral_id: UUID, data: RerouteIn) -> tuple[Referral, Referral] | None:
    """Close the referral as ``replaced`` and open a draft to another specialist, linked both ways."""
    row = await _locked(ctx, referral_id)
    if row is None:
        return None
    if not states.can_reroute(row["status"]):
        raise IllegalTransitionError(row["status"], "replaced")
    await check_references(
        ctx, target_practitioner_id=data.target_practitioner_id, target_organization_id=data.target_organization_id
    )
    new_row = await ctx.tx.fetchrow(
        "insert into referrals (tenant_id, patient_id, specialty, reason, priority, target_practitioner_id, "
        "target_organization_id, referring_practitioner_id, diagnosis_codes, clinical_notes, prior_auth_required, "
        "coordinator_id, created_by, replaces_id) select tenant_id, patient_id, coalesce($2, specialty), reason, "
        "priority, $3, $4, referring_practitioner_id, diagnosis_codes, clinical_notes, prior_auth_required, "
        f"coordinator_id, $5, id from referrals where id = $1 returning {COLUMNS}",
        referral_id,
        data.specialty,
        data.target_practitioner_id,
        data.target_organization_id,
        ctx.principal.actor_id,
    )
    new = to_referral(new_row)
    old_row = await ctx.tx.fetchrow(
        "update referrals set status = 'replaced', status_reason = $2, replaced_by_id = $3, held_from = null, "
        f"closed_at = clock_timestamp(), updated_at = now() where id = $1 returning {COLUMNS}",
        referral_id,
        data.reason,
        new.id,
    )
    old = to_referral(old_row)
    await _log(ctx, referral_id, row["status"], "replaced", data.reason)
    await record_sla_stop(ctx, referral_id, "replaced")
    await _log(ctx, new.id, None, "draft", f"re-routed from {referral_id}")
    await refresh(ctx, [referral_id])
    details = {"patient_id": str(old.patient_id), "replaced_by": str(new.id)}
    await ctx.audit("referral.reroute", "referral", referral_id, details)
    await _announce(ctx, old, row["status"])
    await _announce(ctx, new, None)
    return old, new


async def list_transitions(ctx: PluginContext, referral_id: UUID) -> list[Transition] | None:
    patient = await ctx.tx.fetchval("select patient_id from referrals where id = $1", referral_id)
    if patient is None:
        return None
    rows = await ctx.tx.fetch(
        f"select {TRANSITION_COLUMNS} from referral_transitions where referral_id = $1 order by occurred_at, id",
        referral_id,
    )
    await ctx.audit("referral.history", "referral", referral_id, {"patient_id": str(patient)})
    return [to_transition(r) for r in rows]
