"""Documents kept with insurance records: card images, clinical notes for a payer, letters, appeals.

Each belongs to one owner (a coverage, authorization, claim or appeal) of one patient. Files are
checked by core's attachment rules (type allow-list, magic bytes, size) and stored under RLS.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

from core.notifications.attachments import AttachmentRejectedError, check_attachments
from core.notifications.channels.base import Attachment
from core.plugins.sdk import PluginContext

OwnerType = Literal["coverage", "authorization", "claim", "appeal"]
DocumentKind = Literal["card_front", "card_back", "clinical", "letter", "form", "other"]
MAX_FILES = 20
"""Documents one record may hold."""
MAX_BYTES = 8 * 1024 * 1024
"""Size of one document."""

__all__ = ["AttachmentRejectedError", "DocumentInfo", "add_document", "list_documents", "read_document"]


class DocumentInfo(msgspec.Struct, kw_only=True):
    id: UUID
    kind: str
    filename: str
    content_type: str
    size: int
    created_at: datetime


COLUMNS = "id, kind, filename, content_type, size, created_at"


async def add_document(
    ctx: PluginContext,
    owner_type: OwnerType,
    owner_id: UUID,
    patient_id: UUID,
    kind: DocumentKind,
    filename: str,
    content_type: str,
    content: bytes,
) -> DocumentInfo:
    """Store one file for an owner the caller has already found (and locked); raises AttachmentRejectedError."""
    if len(content) > MAX_BYTES:
        raise AttachmentRejectedError(f"a document may hold at most {MAX_BYTES // 1_048_576} MB")
    (checked,) = check_attachments([Attachment(filename, content_type, content)])
    count = await ctx.tx.fetchval(
        "select count(*) from insurance_documents where owner_type = $1 and owner_id = $2", owner_type, owner_id
    )
    if count >= MAX_FILES:
        raise AttachmentRejectedError(f"a record holds at most {MAX_FILES} documents")
    row = await ctx.tx.fetchrow(
        "insert into insurance_documents (tenant_id, owner_type, owner_id, patient_id, kind, filename, content_type, "
        f"size, content, uploaded_by) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning {COLUMNS}",
        ctx.tenant_id,
        owner_type,
        owner_id,
        patient_id,
        kind,
        checked.filename,
        checked.content_type,
        len(content),
        content,
        None if ctx.principal.kind == "system" else ctx.principal.actor_id,
    )
    details = {"patient_id": str(patient_id), "owner_type": owner_type, "owner_id": str(owner_id), "kind": kind}
    await ctx.audit("insurance.document_add", "insurance_document", row["id"], details)
    return msgspec.convert(dict(row), DocumentInfo)


async def list_documents(
    ctx: PluginContext, owner_type: OwnerType, owner_id: UUID, patient_id: UUID
) -> list[DocumentInfo]:
    rows = await ctx.tx.fetch(
        f"select {COLUMNS} from insurance_documents where owner_type = $1 and owner_id = $2 order by created_at, id",
        owner_type,
        owner_id,
    )
    details = {"patient_id": str(patient_id), "owner_type": owner_type, "ids": [str(r["id"]) for r in rows]}
    await ctx.audit("insurance.document_list", owner_type, owner_id, details)
    return [msgspec.convert(dict(r), DocumentInfo) for r in rows]


async def read_document(ctx: PluginContext, owner_type: OwnerType, owner_id: UUID, document_id: UUID) -> Any:
    """The row with ``content``, or None; audited as a read of the patient's data."""
    row = await ctx.tx.fetchrow(
        "select id, patient_id, filename, content_type, content from insurance_documents "
        "where id = $1 and owner_type = $2 and owner_id = $3",
        document_id,
        owner_type,
        owner_id,
    )
    if row is not None:
        details = {"patient_id": str(row["patient_id"]), "owner_type": owner_type, "owner_id": str(owner_id)}
        await ctx.audit("insurance.document_read", "insurance_document", document_id, details)
    return row
