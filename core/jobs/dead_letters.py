"""Dead letters: messages that failed for good, kept in PostgreSQL for admins to see and replay.

The worker copies a message here when Dramatiq gives up on it (a permanent error, retries
exhausted, no tenant). A message without a valid tenant cannot go into a tenant's table;
it goes to ``unrouted_messages``, which only operators (the owner role) can read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from core.db.tenant import platform_transaction, tenant_transaction
from core.http.context import RequestContext
from core.outbox.service import enqueue_message

COLUMNS = "id, message_id, actor_name, queue, payload, effect_key, error, retries, failed_at, replayed_at, replay_count"


class DeadLetterOut(msgspec.Struct, kw_only=True):
    id: UUID
    message_id: str
    actor_name: str
    queue: str
    payload: dict[str, Any]
    effect_key: str
    error: str
    retries: int
    failed_at: datetime
    replayed_at: datetime | None
    replay_count: int


def to_dead_letter(row: Any) -> DeadLetterOut:
    data = dict(row)
    data["payload"] = msgspec.json.decode(data["payload"])
    return DeadLetterOut(**data)


async def record_dead_letter(
    *,
    tenant_id: UUID | None,
    message_id: str,
    actor_name: str,
    queue: str,
    payload: Any,
    effect_key: str | None,
    error: str,
    retries: int,
    raw_message: dict[str, Any],
) -> None:
    """Copy a failed message into its tenant's dead letters (or the unrouted table)."""
    if tenant_id is None or not isinstance(payload, dict):
        reason = "no valid tenant_id" if tenant_id is None else "payload is not an object"
        async with platform_transaction() as tx:
            await tx.execute(
                "insert into unrouted_messages (message_id, actor_name, queue, reason, message) "
                "values ($1, $2, $3, $4, $5::jsonb)",
                message_id[:64],
                actor_name[:100],
                queue[:50],
                f"{reason}: {error}"[:500],
                msgspec.json.encode(raw_message).decode(),
            )
        return
    async with tenant_transaction(tenant_id) as tx:
        await tx.execute(
            "insert into dead_letters (tenant_id, message_id, actor_name, queue, payload, effect_key, error, retries) "
            "values ($1, $2, $3, $4, $5::jsonb, $6, $7, $8) on conflict (tenant_id, message_id) do update set "
            "error = excluded.error, retries = excluded.retries, failed_at = now()",
            tenant_id,
            message_id[:64],
            actor_name[:100],
            queue[:50],
            msgspec.json.encode(payload).decode(),
            (effect_key or f"message:{message_id}")[:200],
            error[:2000],
            retries,
        )


async def list_dead_letters(
    ctx: RequestContext, *, actor_name: str | None, replayed: bool | None, limit: int
) -> list[DeadLetterOut]:
    rows = await ctx.tx.fetch(
        f"select {COLUMNS} from dead_letters where ($1::text is null or actor_name = $1) "
        "and ($2::boolean is null or (replayed_at is not null) = $2) order by failed_at desc, id limit $3",
        actor_name,
        replayed,
        limit,
    )
    await _audit(ctx, "dead_letter.list", None, {"count": len(rows)})
    return [to_dead_letter(r) for r in rows]


async def get_dead_letter(ctx: RequestContext, dead_letter_id: UUID) -> DeadLetterOut | None:
    row = await ctx.tx.fetchrow(f"select {COLUMNS} from dead_letters where id = $1", dead_letter_id)
    if row is None:
        return None
    await _audit(ctx, "dead_letter.read", dead_letter_id, {"actor": row["actor_name"]})
    return to_dead_letter(row)


async def replay_dead_letter(ctx: RequestContext, dead_letter_id: UUID) -> tuple[DeadLetterOut, UUID] | None:
    """Queue the message again through the outbox, under its original effect key.

    Reusing the effect key keeps replay safe: if the effect did happen after all (a
    retry raced the dead-lettering), the replayed delivery is a no-op.
    """
    row = await ctx.tx.fetchrow(
        f"update dead_letters set replayed_at = now(), replay_count = replay_count + 1 where id = $1 "
        f"returning {COLUMNS}",
        dead_letter_id,
    )
    if row is None:
        return None
    letter = to_dead_letter(row)
    outbox_id = await enqueue_message(
        ctx.tx,
        tenant_id=ctx.tenant_id,
        actor_name=letter.actor_name,
        payload=letter.payload,
        queue=letter.queue,
        idempotency_key=f"replay:{letter.id}:{letter.replay_count}",
        effect_key=letter.effect_key,
    )
    await _audit(ctx, "dead_letter.replay", dead_letter_id, {"actor": letter.actor_name, "outbox_id": str(outbox_id)})
    return letter, outbox_id


async def _audit(ctx: RequestContext, action: str, resource_id: UUID | None, details: dict[str, Any]) -> None:
    from core.audit.service import record

    await record(ctx, action, "dead_letter", resource_id, details)
