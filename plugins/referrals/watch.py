"""``referrals.check_sla``: fire at-risk and breached events, each exactly once, as worklist tasks.

The scheduler runs it every five minutes for each organization that enabled the module. Events
are inserted under the key (referral, event); only the insert that wins creates the task, so two
overlapping runs, retries or redeliveries never fire one event twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.notifications.channels.base import ProviderRecipient
from core.notifications.service import request_notification
from core.plugins.sdk import JobContext, actor, create_task
from plugins.referrals.clock import (
    clock_from_log,
    record_pending_sla_outcomes,
    settings_of,
    tenant_calendar,
    transition_logs,
)
from plugins.referrals.schemas import Priority
from plugins.referrals.service import COLUMNS, to_referral
from plugins.referrals.sla import SlaClock, due_events

RUNNING = ("sent", "received", "accepted", "on_hold")
TITLES = {
    "at_risk": "Referral at risk of missing its SLA",
    "breached": "Referral SLA breached",
    "open_loop": "Open referral loop: consult report missing",
}


async def check_sla(ctx: JobContext) -> None:
    """Fire the SLA events that fell due, surface open loops, evaluate clocks stopped before outcomes were kept."""
    await fire_sla_events(ctx)
    await surface_open_loops(ctx)
    await record_pending_sla_outcomes(ctx)


async def fire_sla_events(ctx: JobContext) -> None:
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


async def surface_open_loops(ctx: JobContext) -> None:
    """A referral seen more than ``open_loop_days`` ago without a consult report gets a task, once."""
    rows = await ctx.tx.fetch(
        f"select {COLUMNS} from referrals r where status = 'seen' and not exists (select 1 from referral_sla_events e "
        "where e.referral_id = r.id and e.event = 'open_loop') and (select max(occurred_at) from referral_transitions "
        "t where t.referral_id = r.id and t.to_status = 'seen') < now() - make_interval(days => $1)",
        settings_of(ctx).open_loop_days,
    )
    for row in rows:
        referral = to_referral(row)
        if await _record(ctx, referral.id, "open_loop", None):
            await _task(ctx, referral, "open_loop", None, referral.priority)


async def _record(ctx: JobContext, referral_id: Any, event: str, due_at: datetime | None) -> bool:
    """Insert the event under its unique key; True only for the insert that won."""
    won = await ctx.tx.fetchval(
        "insert into referral_sla_events (tenant_id, referral_id, event, due_at) values ($1, $2, $3, $4) "
        "on conflict do nothing returning true",
        ctx.tenant_id,
        referral_id,
        event,
        due_at,
    )
    return bool(won)


async def _fire(ctx: JobContext, referral: Any, clock: SlaClock, event: str) -> None:
    if await _record(ctx, referral.id, event, clock.due_at):
        await _task(ctx, referral, event, clock.due_at, "urgent" if event == "breached" else referral.priority)


async def _task(ctx: JobContext, referral: Any, event: str, due_at: datetime | None, priority: Priority) -> None:
    owner = referral.coordinator_id
    if owner is not None and not await ctx.tx.fetchval(
        "select exists (select 1 from users where id = $1 and status = 'active')", owner
    ):
        owner = None
    due = f"; SLA due {due_at:%Y-%m-%d %H:%M} UTC" if due_at else ""
    task = await create_task(
        ctx,
        title=TITLES[event],
        description=f"{referral.specialty} referral ({referral.priority}) is {referral.status}{due}.",
        priority=priority,
        due_at=due_at,
        sla_due_at=due_at,
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
    if owner is not None:
        await _tell_coordinator(ctx, referral, event, owner, f"{task.description} Worklist task {task.id}.")


async def _tell_coordinator(ctx: JobContext, referral: Any, event: str, user_id: Any, text: str) -> None:
    """E-mail the coordinator too (no patient name in it: the task holds the details).

    Sent through core notifications like any message, so a tenant whose e-mail channel is off
    records it as skipped instead of failing the check.
    """
    email = await ctx.tx.fetchval("select email from users where id = $1", user_id)
    await request_notification(
        ctx,
        patient_id=referral.patient_id,
        channel="email",
        template="provider_message",
        context={"subject": TITLES[event], "text": text},
        recipient=ProviderRecipient(name="Care coordinator", email=email),
        idempotency_key=f"referral:{referral.id}:{event}:coordinator",
    )


CHECK_SLA = actor(name="check_sla", queue="default", max_retries=3)(check_sla)
