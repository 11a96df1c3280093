"""Files of patient data: received as a multipart form, answered as a download (never cached, never sniffed)."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Response
from litestar.datastructures import UploadFile


@dataclass
class UploadForm:
    """An upload: a multipart form whose field ``data`` is the file.

    A handler declares ``data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)]``.
    A bare ``UploadFile`` there took any field and answered 500 to a form without a file (litestar's
    extractor); with the form named, a missing file is a 400 naming ``data``, and the API document names it.
    """

    data: UploadFile


def download_headers(filename: str) -> dict[str, str]:
    """Headers for a file download (``filename`` is one our code or core's attachment checks made safe)."""
    return {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


def download(content: bytes, media_type: str, filename: str) -> Response[bytes]:
    """``content`` as an attachment named ``filename``."""
    return Response(content, media_type=media_type, headers=download_headers(filename))
