"""Clinical attachments of a referral: checked like any message attachment, sent with the packet.

Type allow-list and per-file size come from core (``core.notifications.attachments``); a referral
holds at most ``MAX_FILES`` files and ``MAX_TOTAL_BYTES`` in all, so its packet always fits in one
e-mail with the packet PDF.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from core.notifications.attachments import AttachmentRejectedError, check_attachments
from core.notifications.channels.base import Attachment
from core.plugins.sdk import PluginContext

MAX_FILES = 4
MAX_TOTAL_BYTES = 10 * 1024 * 1024


class AttachmentInfo(msgspec.Struct, kw_only=True):
    id: UUID
    filename: str
    content_type: str
    size: int
    created_at: datetime


class ReferralGoneError(Exception):
    pass


def _details(patient_id: Any, attachment_id: Any) -> dict[str, Any]:
    return {"patient_id": str(patient_id), "attachment_id": str(attachment_id)}


async def add_attachment(
    ctx: PluginContext, referral_id: UUID, filename: str, content_type: str, content: bytes
) -> AttachmentInfo:
    """Store one file; raises :class:`AttachmentRejectedError` (type, size, count) or :class:`ReferralGoneError`."""
    referral = await ctx.tx.fetchrow("select patient_id from referrals where id = $1 for update", referral_id)
    if referral is None:
        raise ReferralGoneError(str(referral_id))
    (checked,) = check_attachments([Attachment(filename, content_type, content)])
    count, total = await ctx.tx.fetchrow(
        "select count(*), coalesce(sum(size), 0) from referral_attachments where referral_id = $1", referral_id
    )
    if count >= MAX_FILES:
        raise AttachmentRejectedError(f"a referral holds at most {MAX_FILES} attachments")
    if total + len(content) > MAX_TOTAL_BYTES:
        raise AttachmentRejectedError(f"a referral's attachments may hold at most {MAX_TOTAL_BYTES // 1_048_576} MB")
    row = await ctx.tx.fetchrow(
        "insert into referral_attachments (tenant_id, referral_id, filename, content_type, size, content, uploaded_by) "
        "values ($1, $2, $3, $4, $5, $6, $7) returning id, filename, content_type, size, created_at",
        ctx.tenant_id,
        referral_id,
        checked.filename,
        checked.content_type,
        len(content),
        content,
        ctx.principal.actor_id,
    )
    await ctx.audit(
        "referral.attachment.add",
        "referral",
        referral_id,
        _details(referral["patient_id"], row["id"]),
    )
    return AttachmentInfo(**dict(row))


async def list_attachments(ctx: PluginContext, referral_id: UUID) -> list[AttachmentInfo] | None:
    patient = await ctx.tx.fetchval("select patient_id from referrals where id = $1", referral_id)
    if patient is None:
        return None
    rows = await ctx.tx.fetch(
        "select id, filename, content_type, size, created_at from referral_attachments where referral_id = $1 "
        "order by created_at, id",
        referral_id,
    )
    await ctx.audit("referral.attachment.list", "referral", referral_id, {"patient_id": str(patient)})
    return [AttachmentInfo(**dict(r)) for r in rows]


async def read_attachment(ctx: PluginContext, referral_id: UUID, attachment_id: UUID) -> Any:
    row = await ctx.tx.fetchrow(
        "select a.filename, a.content_type, a.content, r.patient_id from referral_attachments a "
        "join referrals r on r.id = a.referral_id where a.id = $1 and a.referral_id = $2",
        attachment_id,
        referral_id,
    )
    if row is not None:
        await ctx.audit(
            "referral.attachment.read",
            "referral",
            referral_id,
            _details(row["patient_id"], attachment_id),
        )
    return row


async def packet_attachments(ctx: PluginContext, referral_id: UUID) -> list[Attachment]:
    """The referral's files, for the packet e-mail (read by the send job, which audits the disclosure)."""
    rows = await ctx.tx.fetch(
        "select filename, content_type, content from referral_attachments where referral_id = $1 "
        "order by created_at, id",
        referral_id,
    )
    return [Attachment(r["filename"], r["content_type"], bytes(r["content"])) for r in rows]
