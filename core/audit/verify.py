"""``carecoord audit verify``: recompute every tenant's chain and report breaks."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from uuid import UUID

from core.audit.chain import GENESIS, event_hash
from core.db.tenant import Tx


@dataclass
class ChainReport:
    tenant_id: UUID
    events: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def verify_chain(tx: Tx, tenant_id: UUID, batch: int = 5000) -> ChainReport:
    """Walk ``tenant_id``'s events in order; each must hash to its stored value
    and link to its predecessor, and the head must point at the last one."""
    report = ChainReport(tenant_id)
    prev_hash, expected_seq, last_seq = GENESIS, 1, 0
    while True:
        rows = await tx.fetch(
            "select * from audit_events where tenant_id = $1 and seq > $2 order by seq limit $3",
            tenant_id,
            last_seq,
            batch,
        )
        for row in rows:
            seq = row["seq"]
            if seq != expected_seq:
                report.problems.append(f"event {expected_seq} is missing (next is {seq})")
            if row["prev_hash"] != prev_hash:
                report.problems.append(f"event {seq} does not link to its predecessor")
            recomputed = event_hash(
                tenant_id=row["tenant_id"],
                seq=seq,
                occurred_at=row["occurred_at"],
                actor_type=row["actor_type"],
                actor_id=row["actor_id"],
                action=row["action"],
                resource_type=row["resource_type"],
                resource_id=row["resource_id"],
                ip=row["ip"],
                request_id=row["request_id"],
                details=json.loads(row["details"]),
                prev_hash=row["prev_hash"],
            )
            if recomputed != row["hash"]:
                report.problems.append(f"event {seq} was altered (hash mismatch)")
            prev_hash, expected_seq, last_seq = row["hash"], seq + 1, seq
            report.events += 1
        if len(rows) < batch:
            break
    head = await tx.fetchrow("select seq, last_hash from audit_heads where tenant_id = $1", tenant_id)
    if head is not None and (head["seq"] != last_seq or head["last_hash"] != prev_hash):
        report.problems.append(f"chain head says {head['seq']} events but {last_seq} were found intact")
    return report
