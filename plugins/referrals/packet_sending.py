"""Sending the specialist packet when a referral is sent, and following it to acknowledgement.

1. Moving a referral to ``sent`` queues ``referrals.send_packet`` through the outbox in the same
   transaction (key ``referral:{id}:packet:{n}``, ``n`` counting earlier sends), and the
   referral's ``packet_status`` becomes ``queued``.
2. The actor renders the PDF and asks core notifications to e-mail it to the target (the
   practitioner's e-mail, else the provider organization's) as a provider-directed message.
   A target without an e-mail address gets ``not_sent`` and a worklist task for a coordinator,
   who sends it by hand (fax).
3. ``notification_status_changed`` moves the packet to ``sent`` or ``failed`` (a failure also
   creates a task); moving the referral to ``received`` makes it ``acknowledged``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from core.notifications.channels.base import Attachment, ProviderRecipient
from core.notifications.service import NotificationRequestError, PatientNotFoundError, request_notification
from core.plugins.sdk import JobContext, PermanentError, PluginContext, actor, create_task, payload_uuid
from plugins.referrals.attachments import packet_attachments
from plugins.referrals.packet import load_packet, render_packet

ACTOR_NAME = "referrals.send_packet"
TEMPLATE = "provider_message"
SENT_STATUSES = frozenset({"sent", "delivered"})
FAILED_STATUSES = frozenset({"failed", "bounced", "skipped", "suppressed"})


@dataclass(frozen=True)
class PacketAddress:
    name: str
    email: str | None
    fax: str | None


async def after_move(ctx: PluginContext, row: Any, target: str) -> bool:
    """Packet consequences of a move, in its transaction; True when the referral row changed."""
    if target == "sent" and row["packet_status"] in ("not_sent", "failed"):
        rounds = await ctx.tx.fetchval(
            "select count(*) from referral_transitions where referral_id = $1 and to_status = 'sent'", row["id"]
        )
        await ctx.enqueue(
            ACTOR_NAME,
            {"referral_id": str(row["id"]), "send": int(rounds)},
            queue="default",
            idempotency_key=f"referral:{row['id']}:packet:{rounds}",
        )
        await _set(ctx, row["id"], "queued", None, clear_notification=True)
        return True
    if target == "received" and row["packet_status"] != "acknowledged":
        await _set(ctx, row["id"], "acknowledged", None)
        return True
    return False


async def _set(
    ctx: PluginContext, referral_id: UUID, status: str, detail: str | None, *, clear_notification: bool = False
) -> None:
    await ctx.tx.execute(
        "update referrals set packet_status = $2::varchar, packet_detail = $3, "
        "packet_notification_id = case when $4 then null else packet_notification_id end, updated_at = now() "
        "where id = $1",
        referral_id,
        status,
        detail[:500] if detail else None,
        clear_notification,
    )


async def packet_address(ctx: PluginContext, row: Any) -> PacketAddress:
    """Where the packet goes: the practitioner's e-mail, else the provider organization's."""
    practitioner = None
    if row["target_practitioner_id"] is not None:
        practitioner = await ctx.tx.fetchrow(
            "select given_name, family_name, email, fax, organization_id from practitioners where id = $1",
            row["target_practitioner_id"],
        )
    organization_id = row["target_organization_id"] or (practitioner["organization_id"] if practitioner else None)
    organization = None
    if organization_id is not None:
        organization = await ctx.tx.fetchrow(
            "select name, email, fax from provider_organizations where id = $1", organization_id
        )
    name = f"{practitioner['given_name']} {practitioner['family_name']}" if practitioner else None
    email = (practitioner["email"] if practitioner else None) or (organization["email"] if organization else None)
    fax = (practitioner["fax"] if practitioner else None) or (organization["fax"] if organization else None)
    return PacketAddress(name or (organization["name"] if organization else "Specialist"), email, fax)


async def _hand_task(ctx: PluginContext, row: Any, detail: str) -> None:
    """Put the packet on a coordinator's worklist (the referral's coordinator, else the pool)."""
    owner = row["coordinator_id"]
    if owner is not None and not await ctx.tx.fetchval(
        "select exists (select 1 from users where id = $1 and status = 'active')", owner
    ):
        owner = None
    await create_task(
        ctx,
        title="Send the referral packet by hand",
        description=f"{row['specialty']} referral: {detail}. Download the packet from the referral and send it.",
        priority=row["priority"],
        owner_user_id=owner,
        owner_role=None if owner else "coordinator",
        focus_type="referral",
        focus_id=row["id"],
        patient_id=row["patient_id"],
    )


async def send_packet(ctx: JobContext, referral_id: str, send: int = 0) -> None:
    """Render the packet and e-mail it through core notifications (see the module docstring)."""
    ident = payload_uuid(referral_id, actor="referrals.send_packet", field="referral_id")
    row = await ctx.tx.fetchrow(
        "select id, patient_id, specialty, priority, coordinator_id, target_practitioner_id, target_organization_id, "
        "packet_status from referrals where id = $1 for update",
        ident,
    )
    if row is None:
        raise PermanentError(f"referral {ident} does not exist in this tenant")
    if row["packet_status"] != "queued":
        return  # handled already, or acknowledged meanwhile
    address = await packet_address(ctx, row)
    if address.email is None:
        detail = "the target has no e-mail address" + (f" (fax {address.fax})" if address.fax else "")
        await _set(ctx, ident, "not_sent", detail)
        await _hand_task(ctx, row, detail)
        await ctx.audit("referral.packet_not_sent", "referral", ident, {"patient_id": str(row["patient_id"])})
        return
    data = await load_packet(ctx, ident, purpose="send")
    if data is None:
        raise PermanentError(f"referral {ident}: its patient is gone")
    organization = await ctx.tx.fetchval("select name from tenants where id = $1", ctx.tenant_id)
    content = await asyncio.to_thread(render_packet, data, organization)
    try:
        notification = await request_notification(
            ctx,
            patient_id=row["patient_id"],
            channel="email",
            template=TEMPLATE,
            context={
                "subject": f"Referral packet: {row['specialty']} ({row['priority']})",
                "text": f"Please find attached a {row['priority']} {row['specialty']} referral (id {ident}). "
                "Kindly confirm receipt to the referring organization.",
            },
            recipient=ProviderRecipient(address.name, address.email),
            attachments=[
                Attachment(f"referral-{ident}.pdf", "application/pdf", content),
                *await packet_attachments(ctx, ident),
            ],
            idempotency_key=f"referral:{ident}:packet:{send}",
        )
    except (NotificationRequestError, PatientNotFoundError) as exc:
        detail = f"the packet could not be e-mailed: {exc}"
        await _set(ctx, ident, "failed", detail)
        await _hand_task(ctx, row, detail)
        await ctx.audit("referral.packet_failed", "referral", ident, {"patient_id": str(row["patient_id"])})
        return
    await ctx.tx.execute("update referrals set packet_notification_id = $2 where id = $1", ident, notification.id)
    await ctx.audit(
        "referral.packet_requested",
        "referral",
        ident,
        {"patient_id": str(row["patient_id"]), "notification_id": str(notification.id), "to": address.email},
    )


async def follow_notification(ctx: PluginContext, notification_id: UUID, status: str, module: str | None) -> None:
    """``notification_status_changed``: the packet's e-mail went out, or did not."""
    if module != "referrals" or status not in SENT_STATUSES | FAILED_STATUSES:
        return
    packet = "sent" if status in SENT_STATUSES else "failed"
    row = await ctx.tx.fetchrow(
        "update referrals set packet_status = $2::varchar, updated_at = now(), packet_detail = case "
        "when $2::varchar = 'failed' then "
        "left(coalesce((select last_error from notifications where id = $1), 'the e-mail was not sent'), 500) "
        "end where packet_notification_id = $1 and packet_status in ('queued', 'sent') "
        "returning id, patient_id, specialty, priority, coordinator_id, packet_detail",
        notification_id,
        packet,
    )
    if row is None:
        return
    await ctx.audit(f"referral.packet_{packet}", "referral", row["id"], {"patient_id": str(row["patient_id"])})
    if packet == "failed":
        await _hand_task(ctx, row, row["packet_detail"])


SEND_PACKET = actor(name="send_packet", queue="default", max_retries=5, throws=(PermanentError,))(send_packet)
