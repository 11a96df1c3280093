"""Writing, listing and verifying audit events.

Events are written in the caller's transaction, so an action and its audit
record commit or vanish together. The per-tenant chain head is locked by the
statement that advances it, which orders concurrent appends within a tenant; the
lock is held until the caller's commit, so audit last (as the services do).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from core.audit.chain import GENESIS, event_hash_parts
from core.db.tenant import Tx
from core.http.context import RequestContext

_APPEND = """
with head as (
  select seq, last_hash from audit_heads where tenant_id = $1 for update
), advanced as (
  update audit_heads h
     set seq = head.seq + 1,
         last_hash = encode(sha256(convert_to($2 || (head.seq + 1)::text || $3 || head.last_hash || '"]', 'UTF8')),
                            'hex')
    from head
   where h.tenant_id = $1
  returning h.seq, h.last_hash, head.last_hash as prev_hash
)
insert into audit_events (tenant_id, seq, occurred_at, actor_type, actor_id, action, resource_type,
                          resource_id, ip, request_id, details, prev_hash, hash)
select $1, seq, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, prev_hash, last_hash from advanced
returning seq
"""
"""One round trip: lock the tenant's chain head, advance it with the hash finished in SQL
(:func:`core.audit.chain.event_hash_parts`), insert the event. Under READ COMMITTED a waiting
append re-reads the head its predecessor committed, so concurrent appends chain in lock order."""


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
    occurred_at = datetime.now(UTC)
    details = details or {}
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
    seq = await tx.fetchval(
        _APPEND,
        tenant_id,
        before,
        between,
        occurred_at,
        actor_type,
        actor_id,
        action,
        resource_type,
        resource_id,
        ip,
        request_id,
        msgspec.json.encode(details).decode(),
    )
    if seq is None:
        raise RuntimeError(f"tenant {tenant_id} has no audit chain")
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
