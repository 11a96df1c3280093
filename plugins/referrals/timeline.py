"""The referrals' part of a patient's timeline: each status change, the consult report on closing."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from core.care.timeline.schemas import TimelineItem
from core.plugins.sdk import PluginContext

TITLES = {
    "draft": "Referral to {specialty} drafted",
    "sent": "Referral to {specialty} sent",
    "received": "Referral to {specialty} received by the specialist",
    "accepted": "Referral to {specialty} accepted",
    "rejected": "Referral to {specialty} declined",
    "scheduled": "Referral to {specialty} scheduled",
    "seen": "Seen by {specialty}",
    "closed": "Consult report from {specialty} received (loop closed)",
    "on_hold": "Referral to {specialty} on hold",
    "cancelled": "Referral to {specialty} cancelled",
    "replaced": "Referral to {specialty} re-routed",
}
SUMMARY_LIMIT = 500


async def referral_timeline(
    ctx: PluginContext, patient_id: UUID, since: datetime, until: datetime
) -> list[TimelineItem]:
    rows = await ctx.tx.fetch(
        "select r.id, r.specialty, r.consult_report, t.to_status, t.reason, t.occurred_at "
        "from referral_transitions t join referrals r on r.id = t.referral_id "
        "where r.patient_id = $1 and t.occurred_at >= $2 and t.occurred_at < $3 order by t.occurred_at, t.id",
        patient_id,
        since,
        until,
    )
    items = []
    for row in rows:
        status = row["to_status"]
        summary = row["consult_report"] if status == "closed" else row["reason"]
        items.append(
            TimelineItem(
                occurred_at=row["occurred_at"],
                kind=f"referral.{status}",
                title=TITLES[status].format(specialty=row["specialty"]),
                summary=summary[:SUMMARY_LIMIT] if summary else None,
                resource_type="referral",
                resource_id=row["id"],
            )
        )
    return items
