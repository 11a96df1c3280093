"""Routes for the documents of one kind of insurance record: upload (multipart), list, download.

``document_routes("claim", "/claims", lookup)`` gives ``POST/GET /claims/{owner_id}/documents`` and
``GET /claims/{owner_id}/documents/{document_id}``; ``lookup(ctx, owner_id)`` answers the owner's
patient id (locking the owner for an upload), or None when it is not this organization's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

from litestar import Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from core.http.files import UploadForm, download
from core.plugins.sdk import PluginContext, problem, requires_permission
from plugins.insurance.documents import (
    MAX_BYTES,
    AttachmentRejectedError,
    DocumentInfo,
    DocumentKind,
    OwnerType,
    add_document,
    list_documents,
    read_document,
)
from plugins.insurance.permissions import READ, WRITE

Lookup = Callable[[PluginContext, UUID], Awaitable[UUID | None]]


def document_routes(owner_type: OwnerType, base: str, lookup: Lookup, what: str) -> list[Any]:
    """The three document routes of ``owner_type`` records served under ``base``; ``what`` names one in errors."""
    missing = f"No such {what}"
    one = f"{'an' if what[0] in 'aeiou' else 'a'} {what}"
    tag = owner_type.replace("_", "-")

    @post(
        f"{base}/{{owner_id:uuid}}/documents",
        guards=[requires_permission(WRITE)],
        request_max_body_size=MAX_BYTES + 65_536,
        operation_id=f"insurance-{tag}-document-upload",
        summary=f"Attach a document to {one} (PDF, PNG, JPEG or text)",
    )
    async def upload(
        plugin: PluginContext,
        owner_id: UUID,
        data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        kind: DocumentKind = "other",
    ) -> DocumentInfo:
        patient_id = await lookup(plugin, owner_id)
        if patient_id is None:
            raise problem(404, missing)
        upload = data.data
        content = await upload.read(MAX_BYTES + 1)
        try:
            return await add_document(
                plugin, owner_type, owner_id, patient_id, kind, upload.filename, upload.content_type, content
            )
        except AttachmentRejectedError as exc:
            raise problem(422, str(exc), errors=[{"key": "data", "message": str(exc)}]) from None

    @get(
        f"{base}/{{owner_id:uuid}}/documents",
        guards=[requires_permission(READ)],
        operation_id=f"insurance-{tag}-document-list",
        summary=f"The documents of {one}",
    )
    async def listing(plugin: PluginContext, owner_id: UUID) -> list[DocumentInfo]:
        patient_id = await lookup(plugin, owner_id)
        if patient_id is None:
            raise problem(404, missing)
        return await list_documents(plugin, owner_type, owner_id, patient_id)

    @get(
        f"{base}/{{owner_id:uuid}}/documents/{{document_id:uuid}}",
        guards=[requires_permission(READ)],
        operation_id=f"insurance-{tag}-document-download",
        summary=f"Download one document of {one}",
        media_type="application/octet-stream",
    )
    async def fetch(plugin: PluginContext, owner_id: UUID, document_id: UUID) -> Response[bytes]:
        row = await read_document(plugin, owner_type, owner_id, document_id)
        if row is None:
            raise problem(404, "No such document")
        return download(bytes(row["content"]), row["content_type"], row["filename"])

    return [upload, listing, fetch]
