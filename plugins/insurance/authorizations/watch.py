"""``insurance.check_deadlines``: payer decisions at risk or overdue, and approvals that ran out.

The scheduler runs it every five minutes in each organization with the module on. A decision
event raises its worklist task through ``flags.raise_once``, so however often (or concurrently)
the check runs, each event of each submission round gives one task. Approved authorizations
whose last valid day has passed in the organization's time zone become ``expired``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.plugins.sdk import JobContext
from plugins.insurance.authorizations.deadlines import DecisionClock, Event, due_events, local_date
from plugins.insurance.authorizations.records import log_transition, settings_of, tenant_zone
from plugins.insurance.authorizations.states import APPROVING, RUNNING
from plugins.insurance.flags import raise_once

RESOURCE = "prior_authorization"
TITLES: dict[Event, str] = {
    "at_risk": "Payer decision on a prior authorization is at risk",
    "overdue": "Payer decision on a prior authorization is overdue",
}


def flag_for(event: Event, submission_round: int) -> str:
    """The once-only flag of ``event`` in a round: ``decision_overdue``, then ``decision_overdue_2``..."""
    name = f"decision_{event}"
    return name if submission_round <= 1 else f"{name}_{submission_round}"


async def check_deadlines(ctx: JobContext) -> None:
    now = datetime.now(UTC)
    await fire_decision_events(ctx, now)
    await expire_authorizations(ctx, now)


async def fire_decision_events(ctx: JobContext, now: datetime) -> None:
    rows = await ctx.tx.fetch(
        "select id, patient_id, urgency, status, submission_round, trace_number, submitted_at, decision_due_at, "
        "coordinator_id from prior_authorizations where status = any($1::text[]) and decision_due_at is not null",
        sorted(RUNNING),
    )
    if not rows:
        return
    fired_rows = await ctx.tx.fetch(
        "select subject_id, flag from insurance_flags where subject_type = 'authorization' "
        "and subject_id = any($1::uuid[])",
        [r["id"] for r in rows],
    )
    fired: dict[Any, set[str]] = {}
    for flag_row in fired_rows:
        fired.setdefault(flag_row["subject_id"], set()).add(flag_row["flag"])
    fraction = settings_of(ctx).deadline_at_risk_fraction
    for row in rows:
        clock = DecisionClock.of(row["submitted_at"], row["decision_due_at"], fraction)
        raised = fired.get(row["id"], set())
        already = {e for e in ("at_risk", "overdue") if flag_for(e, row["submission_round"]) in raised}
        for event in due_events(clock, now, already):
            await _raise(ctx, row, event)


async def _raise(ctx: JobContext, row: Any, event: Event) -> None:
    due = row["decision_due_at"]
    await raise_once(
        ctx,
        "authorization",
        row["id"],
        flag_for(event, row["submission_round"]),
        title=TITLES[event],
        description=(
            f"{row['urgency'].capitalize()} request {row['trace_number']} is {row['status']}; the payer's decision "
            f"is due {due:%Y-%m-%d %H:%M} UTC. Follow up with the payer."
        ),
        patient_id=row["patient_id"],
        due_at=due,
        priority="urgent" if event == "overdue" or row["urgency"] == "expedited" else "routine",
        owner_user_id=row["coordinator_id"],
    )


async def expire_authorizations(ctx: JobContext, now: datetime) -> None:
    """Decided approvals valid through a day before today (in the organization's zone) expire."""
    today = local_date(now, await tenant_zone(ctx))
    rows = await ctx.tx.fetch(
        "update prior_authorizations set status = 'expired', status_reason = 'valid through ' || valid_to::text, "
        "updated_at = now() where status = 'decided' and decision = any($1::text[]) and valid_to < $2 "
        "returning id, patient_id, valid_to",
        sorted(APPROVING),
        today,
    )
    for row in rows:
        await log_transition(ctx, row["id"], "decided", "expired", f"valid through {row['valid_to']}")
        details = {"patient_id": str(row["patient_id"]), "valid_to": row["valid_to"].isoformat()}
        await ctx.audit("insurance.authorization_expired", RESOURCE, row["id"], details)
