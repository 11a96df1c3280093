"""Piccolo declarations of the job tables (created by migration core_2026_11_23t19_00)."""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, BigInt, Integer, Timestamptz, Varchar
from piccolo.table import Table


class JobEffect(Table, tablename="job_effects"):
    """One row per effect an actor carried out; its key is unique, so a redelivery does nothing."""

    tenant_id = UUID(primary_key=True)
    idempotency_key = Varchar(length=200)
    actor_name = Varchar(length=100)
    message_id = Varchar(length=64)
    done_at = Timestamptz()


class DeadLetter(Table, tablename="dead_letters"):
    """A message that failed for good, copied from the broker for the tenant's admins to inspect and replay."""

    tenant_id = UUID()
    id = UUID(primary_key=True)
    message_id = Varchar(length=64)
    actor_name = Varchar(length=100)
    queue = Varchar(length=50)
    payload = JSONB()
    effect_key = Varchar(length=200)
    error = Varchar(length=2000)
    retries = Integer()
    failed_at = Timestamptz()
    replayed_at = Timestamptz(null=True)
    replay_count = Integer()


class UnroutedMessage(Table, tablename="unrouted_messages"):
    """A message naming no valid tenant: kept for operators only (the app role may insert, never read)."""

    id = BigInt(primary_key=True)
    message_id = Varchar(length=64, null=True)
    actor_name = Varchar(length=100, null=True)
    queue = Varchar(length=50, null=True)
    reason = Varchar(length=500)
    message = JSONB()
    received_at = Timestamptz()


class JobPing(Table, tablename="job_pings"):
    """What the diagnostic ``core.ping`` actor writes: proof that the pipeline runs end to end."""

    tenant_id = UUID(primary_key=True)
    id = UUID()
    note = Varchar(length=200)
    worker_pid = Integer()
    processed_at = Timestamptz()
