"""The latest prior authorization of referrals or appointments (query hook ``authorization_status``)."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from core.payers.summaries import AuthorizationSummary
from core.plugins.sdk import PluginContext

SUBJECT_COLUMNS = {"referral": "referral_id", "appointment": "appointment_id"}


async def authorization_summaries(
    ctx: PluginContext, subject_type: str, subject_ids: Iterable[UUID]
) -> dict[UUID, AuthorizationSummary]:
    """Subject id -> its most recently created authorization; subjects without one are left out."""
    column = SUBJECT_COLUMNS.get(subject_type)
    ids = list(dict.fromkeys(subject_ids))
    if column is None or not ids:
        return {}
    rows = await ctx.tx.fetch(
        f"select distinct on ({column}) {column} as subject_id, id, patient_id, status, decision, "
        "authorization_number, valid_from, valid_to, decision_due_at from prior_authorizations "
        f"where {column} = any($1::uuid[]) order by {column}, created_at desc, id desc",
        ids,
    )
    if not rows:
        return {}
    patients = sorted({str(r["patient_id"]) for r in rows})
    details: dict[str, object] = {"subject_type": subject_type, "ids": [str(r["id"]) for r in rows]}
    details.update({"patient_id": patients[0]} if len(patients) == 1 else {"patient_ids": patients})
    await ctx.audit("insurance.authorization_summary", "prior_authorization", None, details)
    return {
        row["subject_id"]: AuthorizationSummary(
            authorization_id=row["id"],
            status=row["status"],
            decision=row["decision"],
            authorization_number=row["authorization_number"],
            valid_from=row["valid_from"],
            valid_to=row["valid_to"],
            decision_due_at=row["decision_due_at"],
        )
        for row in rows
    }
