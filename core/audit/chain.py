"""The hash chain: each event's hash covers its fields and the previous event's hash."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

GENESIS = "0" * 64


def event_hash(
    *,
    tenant_id: UUID,
    seq: int,
    occurred_at: datetime,
    actor_type: str,
    actor_id: UUID | None,
    action: str,
    resource_type: str,
    resource_id: UUID | None,
    ip: str | None,
    request_id: str | None,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 over a canonical JSON array of the event (keys sorted, UTC times)."""
    canonical = [
        str(tenant_id),
        seq,
        occurred_at.isoformat(),
        actor_type,
        str(actor_id) if actor_id else None,
        action,
        resource_type,
        str(resource_id) if resource_id else None,
        ip,
        request_id,
        details,
        prev_hash,
    ]
    return hashlib.sha256(msgspec.json.encode(canonical, order="sorted")).hexdigest()
