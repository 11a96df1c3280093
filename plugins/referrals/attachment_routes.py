"""``/api/v1/referrals/{id}/attachments``: upload (multipart), list, download."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from core.http.files import UploadForm, download
from core.notifications.attachments import AttachmentRejectedError
from core.plugins.sdk import PluginContext, problem, requires_permission
from plugins.referrals.attachments import (
    MAX_TOTAL_BYTES,
    AttachmentInfo,
    ReferralGoneError,
    add_attachment,
    list_attachments,
    read_attachment,
)

READ = "referrals:read"
WRITE = "referrals:write"


@post(
    "/{referral_id:uuid}/attachments",
    guards=[requires_permission(WRITE)],
    request_max_body_size=MAX_TOTAL_BYTES + 65_536,
    summary="Attach a clinical document (PDF, PNG, JPEG or text; sent with the packet)",
)
async def upload_attachment(
    plugin: PluginContext,
    referral_id: UUID,
    data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> AttachmentInfo:
    upload = data.data
    content = await upload.read(MAX_TOTAL_BYTES + 1)
    try:
        return await add_attachment(plugin, referral_id, upload.filename, upload.content_type, content)
    except ReferralGoneError:
        raise problem(404, "No such referral") from None
    except AttachmentRejectedError as exc:
        raise problem(422, str(exc), errors=[{"key": "data", "message": str(exc)}]) from None


@get("/{referral_id:uuid}/attachments", guards=[requires_permission(READ)], summary="The referral's attachments")
async def referral_attachments(plugin: PluginContext, referral_id: UUID) -> list[AttachmentInfo]:
    found = await list_attachments(plugin, referral_id)
    if found is None:
        raise problem(404, "No such referral")
    return found


@get(
    "/{referral_id:uuid}/attachments/{attachment_id:uuid}",
    guards=[requires_permission(READ)],
    summary="Download one attachment",
    media_type="application/octet-stream",
)
async def download_attachment(plugin: PluginContext, referral_id: UUID, attachment_id: UUID) -> Response[bytes]:
    row = await read_attachment(plugin, referral_id, attachment_id)
    if row is None:
        raise problem(404, "No such attachment")
    return download(bytes(row["content"]), row["content_type"], row["filename"])


ATTACHMENT_ROUTES = [upload_attachment, referral_attachments, download_attachment]
