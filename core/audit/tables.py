"""Piccolo declarations of the append-only, hash-chained audit log."""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, BigInt, Timestamptz, Varchar
from piccolo.table import Table


class AuditEvent(Table, tablename="audit_events"):
    id = UUID(primary_key=True)
    tenant_id = UUID()
    seq = BigInt(help_text="position in the tenant's chain, from 1")
    occurred_at = Timestamptz()
    actor_type = Varchar(length=16, help_text="user | api_key | system")
    actor_id = UUID(null=True)
    action = Varchar(length=64, help_text="e.g. patient.read, patient.update")
    resource_type = Varchar(length=64)
    resource_id = UUID(null=True)
    ip = Varchar(length=64, null=True)
    request_id = Varchar(length=64, null=True)
    details = JSONB()
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)


class AuditHead(Table, tablename="audit_heads"):
    """The tail of each tenant's chain; its row lock orders concurrent appends."""

    tenant_id = UUID(primary_key=True)
    seq = BigInt()
    last_hash = Varchar(length=64)
