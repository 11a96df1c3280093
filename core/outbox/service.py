"""Writing outbox rows: the only way request and job code sends work to the workers."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from core.db.tenant import Tx


async def insert_message(
    tx: Tx,
    *,
    tenant_id: UUID,
    actor_name: str,
    payload: dict[str, Any],
    queue: str = "default",
    idempotency_key: str | None = None,
    effect_key: str | None = None,
) -> UUID | None:
    """Add a message to the outbox in ``tx``; None when the idempotency key already has one.

    For callers that must know whether they were first (the scheduler firing a periodic job).
    """
    message_id = await tx.fetchval(
        "insert into outbox (tenant_id, actor_name, queue, payload, idempotency_key, effect_key) "
        "values ($1, $2, $3, $4::jsonb, $5, $6) on conflict (tenant_id, idempotency_key) do nothing returning id",
        tenant_id,
        actor_name,
        queue,
        msgspec.json.encode(payload).decode(),
        idempotency_key,
        effect_key or idempotency_key,
    )
    return None if message_id is None else UUID(str(message_id))


async def enqueue_message(
    tx: Tx,
    *,
    tenant_id: UUID,
    actor_name: str,
    payload: dict[str, Any],
    queue: str = "default",
    idempotency_key: str | None = None,
    effect_key: str | None = None,
) -> UUID:
    """Add a message to the outbox in ``tx``; a duplicate idempotency key returns the first message's id.

    The relay publishes the row once ``tx`` commits; a rollback discards it. ``effect_key`` is
    what the consuming actor records its effect under (default: the idempotency key, else the
    message id), so a replay of a dead letter can carry the original one.
    """
    message_id = await insert_message(
        tx,
        tenant_id=tenant_id,
        actor_name=actor_name,
        payload=payload,
        queue=queue,
        idempotency_key=idempotency_key,
        effect_key=effect_key,
    )
    if message_id is None:
        message_id = await tx.fetchval(
            "select id from outbox where tenant_id = $1 and idempotency_key = $2", tenant_id, idempotency_key
        )
    return UUID(str(message_id))
