"""The patient's primary coverage in one line, for other modules (query hook ``coverage_summary``)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from core.payers.summaries import CoverageSummary
from core.plugins.sdk import PluginContext
from plugins.insurance.coverage.service import COLUMNS, FROM, eligibility_state, settings_of


async def coverage_summary_of(ctx: PluginContext, patient_id: UUID) -> CoverageSummary | None:
    row = await ctx.tx.fetchrow(
        f"select {COLUMNS} from {FROM} where c.patient_id = $1 and c.retired_at is null "
        "and c.coverage_order = 'primary' and c.effective_from <= current_date "
        "and (c.effective_to is null or c.effective_to >= current_date) order by c.effective_from desc limit 1",
        patient_id,
    )
    if row is None:
        return None
    state = eligibility_state(row, settings_of(ctx).eligibility_fresh_days, datetime.now(UTC))
    await ctx.audit("insurance.coverage_summary", "coverage", row["id"], {"patient_id": str(patient_id)})
    return CoverageSummary(
        coverage_id=row["id"],
        payer_name=row["payer_name"],
        member_id=row["member_id"],
        group_number=row["group_number"],
        plan_name=row["plan_name"],
        eligibility=state.status,
        checked_at=state.checked_at,
        stale=state.stale,
    )
