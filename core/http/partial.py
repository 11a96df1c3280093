"""Partial updates: msgspec Structs whose fields default to ``UNSET``."""

from __future__ import annotations

from typing import Any

import msgspec


def changed_fields(update: msgspec.Struct) -> dict[str, Any]:
    """The fields a partial-update Struct actually carries (``null`` included)."""
    return {
        name: getattr(update, name) for name in update.__struct_fields__ if getattr(update, name) is not msgspec.UNSET
    }
