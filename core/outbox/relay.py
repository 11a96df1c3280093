"""Publishing committed outbox rows to the broker, one tenant at a time.

The scheduler process runs the relay: a trigger NOTIFYs ``carecoord_outbox`` with the
tenant id when a transaction that wrote outbox rows commits, and a periodic sweep
catches whatever a notification missed (relay down, broker down at commit time). Rows
are claimed with ``for update skip locked``, so any number of relays can run; a row is
marked published only after the broker accepted it. A crash between the two publishes
it again, which the consumer's effect key turns into a no-op.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec

from core.db.tenant import platform_transaction, tenant_transaction

log = logging.getLogger("carecoord.outbox")

NOTIFY_CHANNEL = "carecoord_outbox"


@dataclass(frozen=True)
class OutboundMessage:
    """One outbox row as the broker receives it."""

    id: UUID
    tenant_id: UUID
    actor_name: str
    queue: str
    payload: dict[str, Any]
    effect_key: str

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments of the Dramatiq message: every message carries its tenant."""
        return {"tenant_id": str(self.tenant_id), "payload": self.payload, "effect_key": self.effect_key}


Publish = Callable[[OutboundMessage], None]
"""Hands one message to the broker (blocking); raises if the broker did not take it. It may also
have ``many(messages)``, which hands over a whole batch or raises (``workers.broker.Publisher``)."""


def _hand_over(publish: Publish, messages: list[OutboundMessage]) -> tuple[list[OutboundMessage], str | None]:
    """Publish ``messages`` (in a worker thread: the broker client blocks); returns the ones the
    broker took and, if it failed, why. A batch is all or nothing: on failure none counts as taken."""
    many = getattr(publish, "many", None)
    try:
        if many is not None and messages:
            many(messages)
            return messages, None
        for done, message in enumerate(messages):
            try:
                publish(message)
            except Exception as exc:  # noqa: BLE001 - the broker is down: keep the rest for the sweep
                return messages[:done], f"{type(exc).__name__}: {exc}"[:500]
    except Exception as exc:  # noqa: BLE001 - as above, for the whole batch
        return [], f"{type(exc).__name__}: {exc}"[:500]
    return messages, None


async def publish_pending(tenant_id: UUID, publish: Publish, *, limit: int = 500) -> int:
    """Publish up to ``limit`` unpublished rows of ``tenant_id``; returns how many the broker took."""
    async with tenant_transaction(tenant_id) as tx:
        rows = await tx.fetch(
            "select id, actor_name, queue, payload, idempotency_key, effect_key from outbox "
            "where published_at is null order by created_at, id limit $1 for update skip locked",
            limit,
        )
        messages = [
            OutboundMessage(
                id=row["id"],
                tenant_id=tenant_id,
                actor_name=row["actor_name"],
                queue=row["queue"],
                payload=msgspec.json.decode(row["payload"]),
                effect_key=row["effect_key"] or row["idempotency_key"] or f"outbox:{row['id']}",
            )
            for row in rows
        ]
        published, error = await asyncio.to_thread(_hand_over, publish, messages)
        if published:
            await tx.execute(
                "update outbox set published_at = now(), attempts = attempts + 1, last_error = null "
                "where id = any($1::uuid[])",
                [message.id for message in published],
            )
        if error is not None:
            log.error("outbox publish failed for tenant %s: %s", tenant_id, error)
            await tx.execute(
                "update outbox set attempts = attempts + 1, last_error = $2 where id = $1",
                rows[len(published)]["id"],
                error,
            )
    return len(published)


async def pending_tenants(older_than_seconds: float = 0.0) -> list[UUID]:
    """Tenants with unpublished rows older than the given age (ids only; no row is read)."""
    async with platform_transaction() as tx:
        rows = await tx.fetch(
            "select outbox_pending_tenants(make_interval(secs => $1)) as tenant_id", float(older_than_seconds)
        )
    return [row["tenant_id"] for row in rows]


async def sweep(publish: Publish, *, older_than_seconds: float = 1.0) -> int:
    """Publish every tenant's rows left behind; returns how many were published."""
    total = 0
    for tenant_id in await pending_tenants(older_than_seconds):
        while True:
            count = await publish_pending(tenant_id, publish)
            total += count
            if count < 500:
                break
    return total


async def purge_published(tenant_id: UUID, *, older_than_days: int = 14) -> int:
    """Delete published rows past retention (idempotency keys of recent rows must stay)."""
    async with tenant_transaction(tenant_id) as tx:
        result = await tx.execute(
            "delete from outbox where published_at < now() - make_interval(days => $1)", older_than_days
        )
    return int(result.rsplit(" ", 1)[-1])
