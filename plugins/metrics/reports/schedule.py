"""The scheduled reports: Mondays 07:00 the weekly referral report, the 1st 07:00 the monthly KPI pack.

Each job runs per organization (the scheduler reads the cron in the organization's time zone) and
starts one report run per format its subscribers chose, for the last complete week or month, with
the subscribers as the run's ``email_to``. The run goes through ``core.reports`` like any other: the
run and its ``reports.build`` message in this job's transaction (outbox), built by the reports worker,
and e-mailed from there once built. ``metric_report_schedule_runs`` keeps one run per report, period
and format, so a retried or doubled job creates no second run and sends no second e-mail.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime
from typing import cast
from uuid import UUID

from core.metrics.periods import Period, local_date
from core.plugins.manager import get_host
from core.plugins.sdk import JobContext, PeriodicJob, actor
from core.reports.params import params_json, parse_params
from core.reports.recipients import recipient_problems
from core.reports.registry import all_reports
from core.reports.render import Format
from core.reports.service import start_run
from plugins.metrics.reports.queries import MONTHLY, WEEKLY, last_complete, tenant_zone

log = logging.getLogger("carecoord.metrics")

MODULE = "metrics"


async def schedule_report(ctx: JobContext, name: str, period: Period) -> list[UUID]:
    """Start this period's runs of report ``metrics.{name}`` for its subscribers; returns the new runs' ids."""
    full_name = f"{MODULE}.{name}"
    spec = all_reports(ctx.plugins or get_host()).get(full_name)
    if spec is None:
        log.warning("report %s is not installed; nothing scheduled", full_name)
        return []
    rows = await ctx.tx.fetch(
        "select user_id, format from metric_report_subscriptions where report = $1 order by created_at, id",
        full_name,
    )
    by_format: dict[str, list[UUID]] = defaultdict(list)
    for row in rows:
        by_format[row["format"]].append(row["user_id"])
    start = last_complete(period, local_date(datetime.now(UTC), await tenant_zone(ctx)))
    params = params_json(parse_params(spec, {"start": start.isoformat()}))
    started: list[UUID] = []
    for file_format, subscribers in sorted(by_format.items()):
        refused = {p["key"] for p in await recipient_problems(ctx.tx, spec, subscribers)}
        recipients = [user for index, user in enumerate(subscribers) if f"email_to[{index}]" not in refused]
        if not recipients:
            continue
        claimed = await ctx.tx.fetchval(
            "insert into metric_report_schedule_runs (tenant_id, report, period_start, format) "
            "values ($1, $2, $3, $4) on conflict do nothing returning true",
            ctx.tenant_id,
            full_name,
            start,
            file_format,
        )
        if claimed is None:  # this period's run exists already (a retry, or two schedulers at once)
            continue
        run = await start_run(ctx.request_context(), spec, cast(Format, file_format), params, recipients)
        await ctx.tx.execute(
            "update metric_report_schedule_runs set run_id = $1 where report = $2 and period_start = $3 "
            "and format = $4",
            run.id,
            full_name,
            start,
            file_format,
        )
        started.append(run.id)
    return started


async def send_weekly_reports(ctx: JobContext) -> None:
    await schedule_report(ctx, WEEKLY, "week")


async def send_monthly_reports(ctx: JobContext) -> None:
    await schedule_report(ctx, MONTHLY, "month")


REPORT_ACTORS = [
    actor(name="send_weekly_reports", queue="default", max_retries=3)(send_weekly_reports),
    actor(name="send_monthly_reports", queue="default", max_retries=3)(send_monthly_reports),
]
REPORT_PERIODIC_JOBS = [
    PeriodicJob("weekly_reports", "0 7 * * 1", f"{MODULE}.send_weekly_reports"),
    PeriodicJob("monthly_reports", "0 7 1 * *", f"{MODULE}.send_monthly_reports"),
]
"""Cron in each organization's time zone: Mondays 07:00 (last ISO week), the 1st 07:00 (last month)."""
