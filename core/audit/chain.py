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
    """SHA-256 over a canonical JSON array of the event (keys sorted, UTC times): ``[tenant_id, seq,
    occurred_at, actor_type, actor_id, action, resource_type, resource_id, ip, request_id, details,
    prev_hash]``, compact, as msgspec encodes it. Composed from :func:`event_hash_parts` exactly as
    the append statement composes it in SQL."""
    before, between = event_hash_parts(
        tenant_id=tenant_id,
        occurred_at=occurred_at,
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        ip=ip,
        request_id=request_id,
        details=details,
    )
    return hashlib.sha256(f'{before}{seq}{between}{prev_hash}"]'.encode()).hexdigest()


def event_hash_parts(
    *,
    tenant_id: UUID,
    occurred_at: datetime,
    actor_type: str,
    actor_id: UUID | None,
    action: str,
    resource_type: str,
    resource_id: UUID | None,
    ip: str | None,
    request_id: str | None,
    details: dict[str, Any],
) -> tuple[str, str]:
    """The canonical array of :func:`event_hash` without ``seq`` and ``prev_hash``, as the text
    before ``seq`` and the text between ``seq`` and ``prev_hash``.

    The database finishes the hash in the statement that takes the chain head
    (``before || seq || between || prev_hash || '"]'``), so an append is one round trip while
    the hashes stay exactly those of :func:`event_hash`.
    """
    middle = [
        occurred_at.isoformat(),
        actor_type,
        str(actor_id) if actor_id else None,
        action,
        resource_type,
        str(resource_id) if resource_id else None,
        ip,
        request_id,
        details,
    ]
    before = "[" + msgspec.json.encode(str(tenant_id)).decode() + ","
    between = "," + msgspec.json.encode(middle, order="sorted").decode()[1:-1] + ',"'
    return before, between
