"""Permanent per-channel opt-outs ("STOP"), and the explicit opt-in ("START") that alone lifts one.

:func:`opt_out` revokes the patient's active consents for the channel and records an opt-out in
``channel_opt_outs``. The worker checks it at send time (``skipped``, "opted out") on top of the
consent check, so a consent granted again through the API (a coordinator re-ticking a box) does
not silently undo it: only :func:`opt_in` does. Channels are consent channels (``sms``, ``email``,
``voice``, ``letter``); a plugin channel is covered by the consent channel it declares.

Modules call both (``core.plugins.sdk.opt_out`` / ``opt_in``), typically from ``message_received``
with the inbound message's id, in which case the audit event names the patient as the actor.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from core.audit.service import append_event
from core.db.tenant import Tx
from core.notifications.service import AnyContext, PatientNotFoundError
from core.patients.consents import COLUMNS as CONSENT_COLUMNS
from core.patients.consents import to_consent
from core.plugins.context import PluginContext

OPT_OUT_CHANNELS: frozenset[str] = frozenset({"sms", "email", "voice", "letter"})
MAX_SOURCE = 200


class OptOutError(ValueError):
    """An opt-out or opt-in that cannot be recorded as asked (unknown channel, empty source)."""


async def opted_out(tx: Tx, patient_id: UUID, channel: str | None) -> bool:
    """Has the patient opted out of ``channel`` (a consent channel) for good?"""
    if channel is None:
        return False
    return bool(
        await tx.fetchval(
            "select exists(select 1 from channel_opt_outs where patient_id = $1 and channel = $2)",
            patient_id,
            channel,
        )
    )


def _check(channel: str, source: str) -> str:
    if channel not in OPT_OUT_CHANNELS:
        raise OptOutError(f"opt-outs are per consent channel ({', '.join(sorted(OPT_OUT_CHANNELS))}), not {channel!r}")
    source = source.strip()
    if not source:
        raise OptOutError("say where the opt-out or opt-in came from (source)")
    return source[:MAX_SOURCE]


async def _audit(
    ctx: AnyContext,
    action: str,
    resource_type: str,
    resource_id: UUID | None,
    details: dict[str, Any],
    by_patient: UUID | None,
) -> None:
    """Audited as the patient when their own message asked for it, else as the caller."""
    if isinstance(ctx, PluginContext):
        details = {**details, "module": ctx.module}
    principal = ctx.principal
    await append_event(
        ctx.tx,
        tenant_id=ctx.tenant_id,
        actor_type="patient" if by_patient else principal.kind,
        actor_id=by_patient if by_patient else (None if principal.kind == "system" else principal.actor_id),
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        ip=ctx.ip,
        request_id=ctx.request_id,
        details=details,
    )


async def _require_patient(ctx: AnyContext, patient_id: UUID) -> None:
    if not await ctx.tx.fetchval("select exists(select 1 from patients where id = $1)", patient_id):
        raise PatientNotFoundError(str(patient_id))


async def opt_out(
    ctx: AnyContext, patient_id: UUID, channel: str, source: str, *, inbound_message_id: UUID | None = None
) -> bool:
    """Opt the patient out of ``channel`` for good, in ``ctx``'s transaction.

    Revokes every active consent for the channel (``consent_changed`` fires for each) and records
    the opt-out. ``source`` says why (``"sms STOP"``, ``"phone call"``); ``inbound_message_id`` is the
    patient's message that asked, if any. Returns False when the patient had already opted out
    (consents are revoked again all the same). Raises :class:`OptOutError` or
    ``PatientNotFoundError``.
    """
    source = _check(channel, source)
    await _require_patient(ctx, patient_id)
    by_patient = patient_id if inbound_message_id is not None else None
    revoked = await ctx.tx.fetch(
        f"update patient_consents set status = 'revoked', revoked_at = coalesce(revoked_at, now()) "
        f"where patient_id = $1 and kind = 'channel' and channel = $2 and status = 'granted' "
        f"returning {CONSENT_COLUMNS}",
        patient_id,
        channel,
    )
    for row in revoked:
        await _audit(
            ctx,
            "patient_consent.revoke",
            "patient_consent",
            row["id"],
            {"patient_id": str(patient_id), "reason": "opt-out", "source": source},
            by_patient,
        )
        await ctx.emit("consent_changed", patient_id=patient_id, consent=to_consent(row))
    created = await ctx.tx.fetchval(
        "insert into channel_opt_outs (tenant_id, patient_id, channel, source, inbound_message_id) "
        "values ($1, $2, $3, $4, $5) on conflict (tenant_id, patient_id, channel) do nothing returning created_at",
        ctx.tenant_id,
        patient_id,
        channel,
        source,
        inbound_message_id,
    )
    await _audit(
        ctx,
        "patient.channel_opt_out",
        "patient",
        patient_id,
        {
            "channel": channel,
            "source": source,
            "inbound_message_id": str(inbound_message_id) if inbound_message_id else None,
            "already": created is None,
            "consents_revoked": len(revoked),
        },
        by_patient,
    )
    return created is not None


async def opt_in(
    ctx: AnyContext,
    patient_id: UUID,
    channel: str,
    source: str,
    *,
    inbound_message_id: UUID | None = None,
    restore_consent: bool = True,
) -> bool:
    """Lift the patient's opt-out of ``channel`` (the patient texted START, or asked otherwise).

    With ``restore_consent`` (default) and an opt-out actually lifted, the channel consent is granted
    again (note ``opt-in: {source}``) unless one is already active, so messages flow again. Without an
    opt-out on file nothing changes and False is returned: an opt-in never creates consent from nothing.
    """
    source = _check(channel, source)
    await _require_patient(ctx, patient_id)
    by_patient = patient_id if inbound_message_id is not None else None
    removed = await ctx.tx.fetchval(
        "delete from channel_opt_outs where patient_id = $1 and channel = $2 returning source", patient_id, channel
    )
    granted = None
    if removed is not None and restore_consent:
        active = await ctx.tx.fetchval(
            "select exists(select 1 from patient_consents where patient_id = $1 and kind = 'channel' "
            "and channel = $2 and status = 'granted' and (expires_at is null or expires_at > now()))",
            patient_id,
            channel,
        )
        if not active:
            granted = await ctx.tx.fetchrow(
                f"insert into patient_consents (tenant_id, patient_id, kind, channel, recorded_by, note) "
                f"values ($1, $2, 'channel', $3, $4, $5) returning {CONSENT_COLUMNS}",
                ctx.tenant_id,
                patient_id,
                channel,
                by_patient or ctx.principal.actor_id,
                f"opt-in: {source}"[:500],
            )
    if granted is not None:
        await _audit(
            ctx,
            "patient_consent.grant",
            "patient_consent",
            granted["id"],
            {"patient_id": str(patient_id), "kind": "channel", "channel": channel, "reason": "opt-in"},
            by_patient,
        )
        await ctx.emit("consent_changed", patient_id=patient_id, consent=to_consent(granted))
    await _audit(
        ctx,
        "patient.channel_opt_in",
        "patient",
        patient_id,
        {
            "channel": channel,
            "source": source,
            "inbound_message_id": str(inbound_message_id) if inbound_message_id else None,
            "lifted": removed is not None,
            "consent_granted": granted is not None,
        },
        by_patient,
    )
    return removed is not None
