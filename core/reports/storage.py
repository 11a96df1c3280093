"""Where report files live: a small interface, a local-directory implementation, the choice by settings.

Keys are ``{tenant_id}/{run_id}.{ext}``: the tenant is part of every path, and keys are checked
against that shape so no key can climb out of the storage root. An S3-compatible store (the
production option, see ``docs/reports.md``) implements the same three methods.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol
from uuid import UUID

from core.settings import Settings, get_settings

_KEY = re.compile(
    r"^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\.(csv|xlsx|pdf)$"
)
CHUNK_BYTES = 64 * 1024


def file_key(tenant_id: UUID, run_id: UUID, extension: str) -> str:
    return f"{tenant_id}/{run_id}.{extension}"


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"not a report file key: {key!r}")
    return key


class ReportStorage(Protocol):
    """Put, read and delete report files by key."""

    async def put(self, key: str, content: bytes, content_type: str) -> None:
        """Store ``content`` under ``key``, replacing any earlier file (a retried build rewrites it)."""

    def read(self, key: str) -> AsyncIterator[bytes]:
        """The file's bytes in chunks; raises ``FileNotFoundError`` when it is gone."""

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove the file; a missing file is not an error (purging is retried)."""

    async def delete_tenant(self, tenant_id: UUID) -> int:
        """Remove every file of ``tenant_id`` (its deletion); returns how many there were."""


class LocalStorage:
    """Files under a directory on this machine (or a shared volume mounted on API and worker hosts)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, content: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._write, self._path(key), content)

    @staticmethod
    def _write(path: Path, content: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # write then rename: a reader never sees half a file, a crash leaves no partial one under the key
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    async def read(self, key: str) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(open, self._path(key), "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
                yield chunk
        finally:
            handle.close()

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)

    async def delete_tenant(self, tenant_id: UUID) -> int:
        return await asyncio.to_thread(self._delete_folder, self.root / str(UUID(str(tenant_id))))

    @staticmethod
    def _delete_folder(folder: Path) -> int:
        if not folder.is_dir():
            return 0
        files = [path for path in folder.iterdir() if path.is_file()]
        for path in files:
            path.unlink(missing_ok=True)
        folder.rmdir()
        return len(files)


def reports_root(settings: Settings) -> Path:
    return Path(settings.reports_dir) if settings.reports_dir else Path(settings.data_dir) / "reports"


def report_storage(settings: Settings | None = None) -> ReportStorage:
    """The storage the settings choose (today: local; see docs/reports.md for S3-compatible stores)."""
    return LocalStorage(reports_root(settings or get_settings()))
