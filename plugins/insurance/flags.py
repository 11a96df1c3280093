"""Worklist tasks the insurance module raises at most once per subject and reason.

A flag is the row ``(subject_type, subject_id, flag)``; only the insert that wins creates the
task, so overlapping sweeps, retries and redeliveries never raise the same task twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from core.plugins.sdk import PluginContext, create_task

FOCUS: dict[str, Literal["referral", "appointment", "authorization"]] = {
    "appointment": "appointment",
    "referral": "referral",
    "authorization": "authorization",
}
SubjectType = Literal["appointment", "referral", "authorization", "claim", "appeal", "coverage"]


async def raise_once(
    ctx: PluginContext,
    subject_type: SubjectType,
    subject_id: UUID,
    flag: str,
    *,
    title: str,
    description: str,
    patient_id: UUID | None,
    due_at: datetime | None = None,
    priority: Literal["routine", "urgent", "asap", "stat"] = "routine",
    owner_user_id: UUID | None = None,
) -> UUID | None:
    """Create the task for ``flag`` on the subject unless it was raised before; its id, or None."""
    won = await ctx.tx.fetchval(
        "insert into insurance_flags (tenant_id, subject_type, subject_id, flag) values ($1, $2, $3, $4) "
        "on conflict do nothing returning true",
        ctx.tenant_id,
        subject_type,
        subject_id,
        flag,
    )
    if not won:
        return None
    if owner_user_id is not None and not await ctx.tx.fetchval(
        "select exists (select 1 from users where id = $1 and status = 'active')", owner_user_id
    ):
        owner_user_id = None
    task = await create_task(
        ctx,
        title=title,
        description=description,
        priority=priority,
        due_at=due_at,
        sla_due_at=due_at,
        owner_user_id=owner_user_id,
        owner_role=None if owner_user_id else "coordinator",
        focus_type=FOCUS.get(subject_type, "other"),
        focus_id=subject_id,
        patient_id=patient_id,
    )
    await ctx.tx.execute(
        "update insurance_flags set task_id = $4 where subject_type = $1 and subject_id = $2 and flag = $3",
        subject_type,
        subject_id,
        flag,
        task.id,
    )
    await ctx.audit(f"insurance.flag_{flag}", subject_type, subject_id, {"task_id": str(task.id)})
    return task.id


async def raised(ctx: PluginContext, subject_type: SubjectType, subject_id: UUID) -> dict[str, Any]:
    """The flags raised on a subject: flag -> task id."""
    rows = await ctx.tx.fetch(
        "select flag, task_id from insurance_flags where subject_type = $1 and subject_id = $2",
        subject_type,
        subject_id,
    )
    return {row["flag"]: row["task_id"] for row in rows}
