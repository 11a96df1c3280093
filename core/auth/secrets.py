"""Opaque secrets (refresh tokens, API keys): random, shown once, stored as SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from uuid import UUID

REFRESH_PREFIX = "ccr"
API_KEY_PREFIX = "cck"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same_digest(secret: str, stored: str) -> bool:
    return hmac.compare_digest(digest(secret), stored)


def compose(prefix: str, tenant_id: UUID, record_id: UUID, secret: str) -> str:
    """``prefix_tenant_record_secret``: the ids only locate the row; the secret proves it."""
    return f"{prefix}_{tenant_id.hex}_{record_id.hex}_{secret}"


def parse(prefix: str, token: str) -> tuple[UUID, UUID, str] | None:
    parts = token.split("_", 3)
    if len(parts) != 4 or parts[0] != prefix:
        return None
    try:
        return UUID(hex=parts[1]), UUID(hex=parts[2]), parts[3]
    except ValueError:
        return None
