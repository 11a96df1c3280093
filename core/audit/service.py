"""Writing, listing and verifying audit events.

Events are written in the caller's transaction, so an action and its audit
record commit or vanish together. The per-tenant chain head is locked by the
``update`` that advances it, which orders concurrent appends within a tenant.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from core.audit.chain import GENESIS, event_hash
from core.db.tenant import Tx
from core.http.context import RequestContext

_ADVANCE = "update audit_heads set seq = seq + 1 where tenant_id = $1 returning seq, last_hash"
_INSERT = """
with event as (
  insert into audit_events (tenant_id, seq, occurred_at, actor_type, actor_id, action, resource_type,
                            resource_id, ip, request_id, details, prev_hash, hash)
  values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13)
  returning tenant_id)
update audit_heads set last_hash = $13 where tenant_id = (select tenant_id from event)
"""


async def start_chain(tx: Tx, tenant_id: UUID) -> None:
    """Create a new tenant's chain head (inside the sign-up transaction)."""
    await tx.execute(
        "insert into audit_heads (tenant_id, seq, last_hash) values ($1, 0, $2) on conflict do nothing",
        tenant_id,
        GENESIS,
    )


async def append_event(
    tx: Tx,
    *,
    tenant_id: UUID,
    actor_type: str,
    actor_id: UUID | None,
    action: str,
    resource_type: str,
    resource_id: UUID | None,
    ip: str | None = None,
    request_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Append one event to ``tenant_id``'s chain; returns its sequence number."""
    head = await tx.fetchrow(_ADVANCE, tenant_id)
    if head is None:
        raise RuntimeError(f"tenant {tenant_id} has no audit chain")
    seq, prev_hash = head["seq"], head["last_hash"]
    occurred_at = datetime.now(UTC)
    details = details or {}
    digest = event_hash(
        tenant_id=tenant_id,
        seq=seq,
        occurred_at=occurred_at,
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        ip=ip,
        request_id=request_id,
        details=details,
        prev_hash=prev_hash,
    )
    await tx.execute(
        _INSERT,
        tenant_id,
        seq,
        occurred_at,
        actor_type,
        actor_id,
        action,
        resource_type,
        resource_id,
        ip,
        request_id,
        msgspec.json.encode(details).decode(),
        prev_hash,
        digest,
    )
    return int(seq)


async def record(
    ctx: RequestContext,
    action: str,
    resource_type: str,
    resource_id: UUID | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Audit what the caller of ``ctx`` just did (who, tenant, what, when, from where)."""
    await append_event(
        ctx.tx,
        tenant_id=ctx.principal.tenant_id,
        actor_type=ctx.principal.kind,
        actor_id=None if ctx.principal.kind == "system" else ctx.principal.actor_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        ip=ctx.ip,
        request_id=ctx.request_id,
        details=details,
    )
