"""Piccolo declaration of the transactional outbox."""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, Integer, Timestamptz, Varchar
from piccolo.table import Table


class OutboxMessage(Table, tablename="outbox"):
    id = UUID(primary_key=True)
    tenant_id = UUID()
    actor_name = Varchar(length=100)
    queue = Varchar(length=50)
    payload = JSONB()
    idempotency_key = Varchar(length=200, null=True)
    created_at = Timestamptz()
    published_at = Timestamptz(null=True)
    attempts = Integer()
    last_error = Varchar(length=500, null=True)
    effect_key = Varchar(length=200, null=True, help_text="the consumer's effect key; replays reuse the original")
