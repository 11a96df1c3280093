"""``referrals.check_sla``: fire at-risk and breached events, each exactly once, as worklist tasks.

The scheduler runs it every five minutes for each organization that enabled the module. Events
are inserted under the key (referral, event); only the insert that wins creates the task, so two
overlapping runs, retries or redeliveries never fire one event twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.plugins.sdk import JobContext, actor, create_task
from plugins.referrals.clock import clock_from_log, settings_of, tenant_calendar, transition_logs
from plugins.referrals.service import COLUMNS, to_referral
from plugins.referrals.sla import SlaClock, due_events

RUNNING = ("sent", "received", "accepted", "on_hold")
TITLES = {"at_risk": "Referral at risk of missing its SLA", "breached": "Referral SLA breached"}


async def check_sla(ctx: JobContext) -> None:
    """Fire the events that fell due for every referral whose clock is still running."""
    rows = await ctx.tx.fetch(f"select {COLUMNS} from referrals where status = any($1::text[])", list(RUNNING))
    if not rows:
        return
    referrals = [to_referral(r) for r in rows]
    settings, calendar = settings_of(ctx), await tenant_calendar(ctx)
    logs = await transition_logs(ctx, [r.id for r in referrals])
    fired_rows = await ctx.tx.fetch(
        "select referral_id, event from referral_sla_events where referral_id = any($1::uuid[])",
        [r.id for r in referrals],
    )
    fired: dict[Any, set[str]] = {}
    for row in fired_rows:
        fired.setdefault(row["referral_id"], set()).add(row["event"])
    now = datetime.now(UTC)
    for referral in referrals:
        clock = clock_from_log(referral, logs[referral.id], settings, calendar)
        if clock is None:
            continue
        for event in due_events(clock, now, fired.get(referral.id, set())):
            await _fire(ctx, referral, clock, event)


async def _fire(ctx: JobContext, referral: Any, clock: SlaClock, event: str) -> None:
    won = await ctx.tx.fetchval(
        "insert into referral_sla_events (tenant_id, referral_id, event, due_at) values ($1, $2, $3, $4) "
        "on conflict do nothing returning true",
        ctx.tenant_id,
        referral.id,
        event,
        clock.due_at,
    )
    if not won:
        return
    owner = referral.coordinator_id
    if owner is not None and not await ctx.tx.fetchval(
        "select exists (select 1 from users where id = $1 and status = 'active')", owner
    ):
        owner = None
    task = await create_task(
        ctx,
        title=TITLES[event],
        description=f"{referral.specialty} referral ({referral.priority}) is {referral.status}; due {clock.due_at}.",
        priority="urgent" if event == "breached" else referral.priority,
        due_at=clock.due_at,
        sla_due_at=clock.due_at,
        owner_user_id=owner,
        owner_role=None if owner else "coordinator",
        focus_type="referral",
        focus_id=referral.id,
        patient_id=referral.patient_id,
    )
    await ctx.tx.execute(
        "update referral_sla_events set task_id = $3 where referral_id = $1 and event = $2", referral.id, event, task.id
    )
    await ctx.audit(f"referral.sla_{event}", "referral", referral.id, {"task_id": str(task.id)})


CHECK_SLA = actor(name="check_sla", queue="default", max_retries=3)(check_sla)
