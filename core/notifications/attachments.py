"""Files sent with a notification: checked on request, kept per tenant, read back by the worker.

Attachments live in ``notification_attachments`` (row-level security like every tenant table),
never on disk, so they follow the notification's tenant and backups. Only a short allow-list
of types is accepted and the bytes must look like the declared type: a file named ``.pdf``
that is an executable is refused before it is stored. The list APIs only ever show metadata
(filename, type, size); the content is read by the sending worker alone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from uuid import UUID

from core.db.tenant import Tx
from core.notifications.channels.base import Attachment
from core.notifications.schemas import AttachmentInfo

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_TOTAL_BYTES = 15 * 1024 * 1024
"""Base64 makes 15 MB about 20 MB on the wire, under the usual 25 MB SMTP message limit."""
MAX_ATTACHMENTS = 5
ALLOWED_TYPES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "text/plain": (),
}
"""Content type -> the signatures its bytes must start with (text types must be UTF-8 instead)."""
REPORT_TYPES: dict[str, tuple[bytes, ...]] = {
    **ALLOWED_TYPES,
    "text/csv": (),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (b"PK\x03\x04",),
}
"""What a report e-mail to a staff user may carry besides: built CSV and XLSX files (an XLSX is a ZIP
archive). Not accepted from uploads or for patients' messages."""
TEXT_TYPES = frozenset({"text/plain", "text/csv"})
_UNSAFE = re.compile(r"[^\w .()+-]")


class AttachmentRejectedError(ValueError):
    """An attachment breaks a limit (type, size, count, name); the request is refused (422)."""


def safe_filename(name: str) -> str:
    """Keep the base name, letters, digits and a few marks: no paths, no header tricks."""
    base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", base).strip(" .")[:150]
    if not cleaned:
        raise AttachmentRejectedError("an attachment needs a file name")
    return cleaned


def check_attachments(
    attachments: Sequence[Attachment], allowed: Mapping[str, tuple[bytes, ...]] = ALLOWED_TYPES
) -> list[Attachment]:
    """The attachments with safe names, or :class:`AttachmentRejectedError` naming the first problem.

    ``allowed`` maps the accepted content types to their signatures (:data:`ALLOWED_TYPES` by default)."""
    if len(attachments) > MAX_ATTACHMENTS:
        raise AttachmentRejectedError(f"at most {MAX_ATTACHMENTS} attachments per message")
    checked, total = [], 0
    for attachment in attachments:
        kind = attachment.content_type.split(";", 1)[0].strip().lower()
        if kind not in allowed:
            raise AttachmentRejectedError(
                f"attachments of type {kind[:60]!r} are not accepted (allowed: {', '.join(sorted(allowed))})"
            )
        size = len(attachment.content)
        if size == 0 or size > MAX_ATTACHMENT_BYTES:
            raise AttachmentRejectedError(f"an attachment must hold 1 byte to {MAX_ATTACHMENT_BYTES} bytes")
        total += size
        if total > MAX_TOTAL_BYTES:
            raise AttachmentRejectedError(f"the attachments together exceed {MAX_TOTAL_BYTES} bytes")
        signatures = allowed[kind]
        if signatures and not attachment.content.startswith(signatures):
            raise AttachmentRejectedError(f"the content of {attachment.filename[:80]!r} is not {kind}")
        if kind in TEXT_TYPES:
            try:
                attachment.content.decode("utf-8")
            except UnicodeDecodeError:
                raise AttachmentRejectedError(f"{kind} attachments must be UTF-8") from None
        checked.append(Attachment(safe_filename(attachment.filename), kind, attachment.content))
    return checked


async def store_attachments(
    tx: Tx, tenant_id: UUID, notification_id: UUID, attachments: Iterable[Attachment]
) -> list[AttachmentInfo]:
    """Insert already checked attachments of a notification, in the caller's transaction."""
    stored = []
    for attachment in attachments:
        row = await tx.fetchrow(
            "insert into notification_attachments (tenant_id, notification_id, filename, content_type, size, content) "
            "values ($1, $2, $3, $4, $5, $6) returning id, filename, content_type, size",
            tenant_id,
            notification_id,
            attachment.filename,
            attachment.content_type,
            len(attachment.content),
            attachment.content,
        )
        stored.append(AttachmentInfo(**dict(row)))
    return stored


async def load_attachments(tx: Tx, notification_id: UUID) -> tuple[Attachment, ...]:
    """The files to send with a notification (the worker's read; content included)."""
    rows = await tx.fetch(
        "select filename, content_type, content from notification_attachments where notification_id = $1 "
        "order by created_at, id",
        notification_id,
    )
    return tuple(Attachment(r["filename"], r["content_type"], bytes(r["content"])) for r in rows)


async def attachment_infos(tx: Tx, notification_ids: Sequence[UUID]) -> dict[UUID, list[AttachmentInfo]]:
    """Metadata of the attachments of several notifications (no content is read)."""
    if not notification_ids:
        return {}
    rows = await tx.fetch(
        "select notification_id, id, filename, content_type, size from notification_attachments "
        "where notification_id = any($1::uuid[]) order by created_at, id",
        list(notification_ids),
    )
    found: dict[UUID, list[AttachmentInfo]] = {}
    for row in rows:
        found.setdefault(row["notification_id"], []).append(
            AttachmentInfo(id=row["id"], filename=row["filename"], content_type=row["content_type"], size=row["size"])
        )
    return found
