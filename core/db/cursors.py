"""Keyset pagination cursors over ``(timestamp, id)``: opaque to clients, checked when they come back."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from uuid import UUID

import msgspec


class BadCursorError(ValueError):
    """A cursor this service did not make (answered 400 by the routes)."""


def encode_cursor(at: datetime, ident: UUID) -> str:
    raw = msgspec.json.encode([at.isoformat(), str(ident)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, ident = msgspec.json.decode(raw, type=tuple[str, str])
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError("naive")
        return parsed, UUID(ident)
    except (ValueError, binascii.Error, msgspec.DecodeError):
        raise BadCursorError(cursor) from None
