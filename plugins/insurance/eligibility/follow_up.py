"""What an eligibility answer means for the appointment it was asked for."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from core.plugins.sdk import PluginContext
from plugins.insurance.flags import raise_once

UNVERIFIED = frozenset({"inactive", "unknown", "failed"})
WHY = {
    "inactive": "the payer reports the coverage inactive",
    "unknown": "the payer could not confirm the coverage",
    "failed": "the payer could not be asked",
}


async def after_answer(ctx: PluginContext, check_id: UUID, status: str, patient_id: Any) -> None:
    """An appointment whose coverage came back unverified gets a worklist task (once)."""
    if status not in UNVERIFIED:
        return
    appointment = await ctx.tx.fetchrow(
        "select a.id, a.start_at as start, a.status from eligibility_checks e "
        "join appointments a on a.id = e.appointment_id where e.id = $1",
        check_id,
    )
    if appointment is None or appointment["status"] not in ("booked", "proposed", "arrived"):
        return
    await raise_once(
        ctx,
        "appointment",
        appointment["id"],
        "coverage_unverified",
        title="Coverage not verified for an upcoming appointment",
        description=f"Eligibility check {check_id}: {WHY[status]}. Confirm coverage before the visit.",
        patient_id=patient_id,
        due_at=appointment["start"],
        priority="urgent",
    )
