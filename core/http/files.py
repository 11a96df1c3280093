"""Answering with a file of patient data: always a download, never cached, never sniffed."""

from __future__ import annotations

from litestar import Response


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
