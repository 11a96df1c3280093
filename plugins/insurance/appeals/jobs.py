"""Background jobs of insurance appeals: actors and periodic jobs (registered in plugins.insurance.hooks).

``insurance.check_appeal_deadlines`` runs every morning in each organization that enabled the
module. A draft whose filing deadline comes within ``appeal_warning_days`` gets a worklist task,
so does a draft whose deadline passed and a filed appeal whose decision is overdue: each at most
once per appeal (see :mod:`plugins.insurance.flags`), however often the job runs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from core.plugins.sdk import ActorSpec, JobContext, PeriodicJob, actor
from plugins.insurance.appeals import deadlines, states
from plugins.insurance.claims.tenant_time import tenant_zone, today_in
from plugins.insurance.flags import raise_once
from plugins.insurance.settings import InsuranceSettings

Priority = Literal["routine", "urgent", "asap", "stat"]
TITLES: dict[str, str] = {
    "filing_deadline_near": "Appeal filing deadline near",
    "filing_deadline_missed": "Appeal filing deadline missed",
    "decision_overdue": "Appeal decision overdue",
}


def _end_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)


def _task(flag: str, appeal: Any, subject: str, zone: ZoneInfo, today: date) -> tuple[str, datetime, Priority]:
    """Description, due time and priority of the task for ``flag``."""
    what = f"The {states.level_name(appeal['level'])} of {subject} ({appeal['urgency']})"
    expedited = appeal["urgency"] == "expedited"
    if flag == "filing_deadline_near":
        deadline = appeal["filing_deadline"]
        text = f"{what} is still a draft; file it by {deadline:%Y-%m-%d}."
        return text, _end_of(deadline, zone), "asap" if expedited else "urgent"
    if flag == "filing_deadline_missed":
        text = (
            f"{what} was to be filed by {appeal['filing_deadline']:%Y-%m-%d} and is still a draft: file it "
            "with a good-cause explanation, or withdraw it."
        )
        return text, _end_of(today, zone), "asap"
    due = appeal["decision_due_at"].astimezone(zone)
    text = f"{what} is {appeal['status']}; its decision was due {due:%Y-%m-%d %H:%M}. Ask the payer."
    return text, _end_of(today, zone), "asap" if expedited else "urgent"


async def check_appeal_deadlines(ctx: JobContext) -> None:
    """Raise the filing and decision deadline tasks that fell due, each once."""
    settings = ctx.settings if isinstance(ctx.settings, InsuranceSettings) else InsuranceSettings()
    zone = await tenant_zone(ctx)
    now = datetime.now(UTC)
    today = today_in(zone, now)
    rows = await ctx.tx.fetch(
        "select a.id, a.patient_id, a.level, a.status, a.urgency, a.filing_deadline, a.decision_due_at, "
        "a.created_by, c.claim_number from appeals a left join claims c on c.id = a.claim_id "
        "where (a.status = 'draft' and a.filing_deadline <= $1) "
        "or (a.status in ('submitted', 'in_review') and a.decision_due_at < $2) order by a.created_at, a.id",
        today + timedelta(days=settings.appeal_warning_days),
        now,
    )
    raised = {
        (row["subject_id"], row["flag"])
        for row in await ctx.tx.fetch(
            "select subject_id, flag from insurance_flags where subject_type = 'appeal' "
            "and subject_id = any($1::uuid[])",
            [appeal["id"] for appeal in rows],
        )
    }
    for appeal in rows:
        due = deadlines.due_flags(
            appeal["status"],
            appeal["filing_deadline"],
            appeal["decision_due_at"],
            today=today,
            now=now,
            warning_days=settings.appeal_warning_days,
        )
        subject = f"claim {appeal['claim_number']}" if appeal["claim_number"] else "a prior authorization"
        for flag in due:
            if (appeal["id"], flag) in raised:
                continue
            description, due_at, priority = _task(flag, appeal, subject, zone, today)
            await raise_once(
                ctx,
                "appeal",
                appeal["id"],
                flag,
                title=TITLES[flag],
                description=description,
                patient_id=appeal["patient_id"],
                due_at=due_at,
                priority=priority,
                owner_user_id=appeal["created_by"],
            )


CHECK_APPEAL_DEADLINES = actor(name="check_appeal_deadlines", queue="default", max_retries=3)(check_appeal_deadlines)

ACTORS: list[ActorSpec] = [CHECK_APPEAL_DEADLINES]
PERIODIC_JOBS: list[PeriodicJob] = [
    PeriodicJob("check_appeal_deadlines", "0 7 * * *", "insurance.check_appeal_deadlines"),
]
