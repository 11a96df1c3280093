"""The process-wide piccolo engine and its connection pool."""

from __future__ import annotations

from typing import Any


def engine() -> Any:
    """The engine of ``piccolo_conf`` (imported lazily so settings are read first)."""
    from core.db.piccolo_conf import DB

    return DB


async def start_pool(max_size: int) -> None:
    await engine().start_connection_pool(min_size=1, max_size=max_size)


async def close_pool() -> None:
    await engine().close_connection_pool()
