"""Referral KPIs as facts for the metrics module: one row per event, by event time from the transition log.

Each metric's ``facts`` returns, for a window ``[$1, $2)``, one row per referral event (``at``: when
it happened, never "last modified") with its coordinator and provider; the metrics module buckets
them into the tenant's local days, weeks or months and groups them by coordinator, team or provider.
The event times are read from columns the move's transaction keeps from the log
(``log_times``) and the SLA outcome stored when the clock stops (``clock.record_sla_outcomes``),
so each query is one index range scan. The rules (first scheduling counts, what stops an SLA
clock, when a loop is open) are in docs/referrals.md, "Metrics".
"""

from __future__ import annotations

from datetime import datetime

from core.metrics.spec import Dimension
from core.plugins.manager import get_host
from core.plugins.sdk import MetricFact, MetricSpec, PluginContext
from core.plugins.tenant_modules import tenant_modules
from plugins.referrals.settings import ReferralSettings

CATEGORY = "Referrals"
DIMENSIONS: tuple[Dimension, ...] = ("coordinator", "team", "provider")
PROVIDER = "coalesce(r.target_practitioner_id, r.target_organization_id)"
GOAL_STOPS = ("scheduled", "seen", "closed")
"""Stops of the SLA clock that reached the goal; the others (rejected, cancelled, replaced) withdrew it."""
STAGES = ("sent", "received", "accepted", "scheduled", "seen", "on_hold")


def _first(column: str, value: str) -> str:
    """Facts at each referral's first move recorded in ``column`` (kept from the log), in the window.

    ``value`` is computed over ``elapsed`` (first sent to that move). A referral moved to the status
    twice (scheduled, back to accepted, scheduled again) counts once, at its first move, in the
    period of that first move. Referrals never sent are left out.
    """
    return (
        f"select r.{column} as at, ({value.replace('ELAPSED', f'(r.{column} - r.first_sent_at)')})::double precision "
        f"as value, r.coordinator_id, {PROVIDER} as provider_id, null::timestamptz as until from referrals r "
        f"where r.{column} >= $1 and r.{column} < $2 and r.first_sent_at is not null"
    )


WITHIN_72H = "case when ELAPSED < interval '72 hours' then 1 else 0 end"
HOURS = "extract(epoch from ELAPSED) / 3600"

CLOSED_WITHIN_72H = _first("ended_at", WITHIN_72H) + " and r.status = 'closed'"
SCHEDULED_WITHIN_72H = _first("first_scheduled_at", WITHIN_72H)
HOURS_TO_SCHEDULE = _first("first_scheduled_at", HOURS)

WITHIN_SLA = (
    "select r.sla_stopped_at as at, (case when r.sla_met then 1 else 0 end)::double precision as value, "
    f"r.coordinator_id, {PROVIDER} as provider_id, null::timestamptz as until "
    "from referrals r where r.sla_stopped_at >= $1 and r.sla_stopped_at < $2 and r.sla_met is not null "
    f"and (r.sla_stop_status in ({', '.join(repr(s) for s in GOAL_STOPS)}) or not r.sla_met)"
)
"""Clocks stopped in the window, as stored by the move that stopped them (see ``clock.record_sla_outcomes``).

A clock stopped at the goal (scheduled) counts, met or missed; one withdrawn (rejected, cancelled,
replaced) counts only once it had already missed its deadline, so withdrawing a late referral
cannot hide the miss and withdrawing one early does not count as a success."""


def stage_facts(stage: str) -> str:
    """Stays in ``stage`` that ended in the window: ``at`` when the referral left it, ``value`` hours spent.

    A stay runs from the move into the stage to the referral's next move (``left_at``, kept from the
    log); a referral that returns to a stage contributes each stay.
    """
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    return (
        "select t.left_at as at, (extract(epoch from t.left_at - t.occurred_at) / 3600)::double precision as value, "
        f"r.coordinator_id, {PROVIDER} as provider_id, null::timestamptz as until from referral_transitions t "
        "join referrals r on r.tenant_id = t.tenant_id and r.id = t.referral_id "
        f"where t.to_status = '{stage}' and t.left_at >= $1 and t.left_at < $2"
    )


_LOOP = (
    "select r.first_seen_at + make_interval(days => $3) as at, 1::double precision as value, r.coordinator_id, "
    f"{PROVIDER} as provider_id, r.ended_at as until from referrals r "
    "where r.first_seen_at is not null and r.first_seen_at < $2::timestamptz - make_interval(days => $3)"
)
OPEN_LOOPS = (
    f"{_LOOP} and r.ended_at is null union all "
    f"{_LOOP} and r.ended_at >= $1 and r.ended_at > r.first_seen_at + make_interval(days => $3)"
)
"""Referrals seen ``open_loop_days`` ago (first ``seen``) without a consult report: open from then until
closed (or cancelled, or re-routed from a hold). Those still open, plus those that ended in the
window; a referral closed before its allowance ran out was never an open loop."""


async def referral_settings(ctx: PluginContext) -> ReferralSettings:
    """This tenant's referral settings, whichever module's context runs the metric (the metrics module's does)."""
    if isinstance(ctx.settings, ReferralSettings):
        return ctx.settings
    modules = await tenant_modules(ctx.plugins or get_host(), ctx.tx, ctx.tenant_id)
    found = modules.settings.get("referrals")
    return found if isinstance(found, ReferralSettings) else ReferralSettings()


async def open_loop_facts(ctx: PluginContext, start: datetime, end: datetime) -> list[MetricFact]:
    """Open loops that were open at some point of ``[start, end)``; the allowance is the tenant's setting."""
    rows = await ctx.tx.fetch(OPEN_LOOPS, start, end, (await referral_settings(ctx)).open_loop_days)
    return [
        MetricFact(
            at=row["at"],
            value=row["value"],
            coordinator_id=row["coordinator_id"],
            provider_id=row["provider_id"],
            until=row["until"],
        )
        for row in rows
    ]


METRICS = [
    MetricSpec(
        "referrals_closed_within_72h_pct",
        "Referrals completed (loop closed) within 72 hours of being sent, by the day the loop closed",
        "%",
        facts=CLOSED_WITHIN_72H,
        aggregate="pct",
        dimensions=DIMENSIONS,
        target=80.0,
        category=CATEGORY,
    ),
    MetricSpec(
        "referrals_scheduled_within_72h_pct",
        "Referrals scheduled within 72 elapsed hours of being sent, by the day first scheduled",
        "%",
        facts=SCHEDULED_WITHIN_72H,
        aggregate="pct",
        dimensions=DIMENSIONS,
        category=CATEGORY,
    ),
    MetricSpec(
        "referrals_within_sla_pct",
        "Referrals whose SLA clock (business time, holds excluded) stopped before its deadline, by the day it stopped",
        "%",
        facts=WITHIN_SLA,
        aggregate="pct",
        dimensions=DIMENSIONS,
        target=90.0,
        category=CATEGORY,
    ),
    MetricSpec(
        "referral_median_hours_to_schedule",
        "Median elapsed hours from sent to first scheduled",
        "h",
        facts=HOURS_TO_SCHEDULE,
        aggregate="median",
        dimensions=DIMENSIONS,
        better="lower",
        category=CATEGORY,
    ),
    MetricSpec(
        "referral_open_loops",
        "Referrals seen longer ago than the open-loop allowance without a consult report, at the end of the period",
        "count",
        facts=open_loop_facts,
        aggregate="open_at_end",
        dimensions=DIMENSIONS,
        better="lower",
        category=CATEGORY,
    ),
]
METRICS += [
    MetricSpec(
        f"referral_median_hours_{stage}",
        f"Median hours referrals spent {stage.replace('_', ' ')} before moving on (by the day they moved on)",
        "h",
        facts=stage_facts(stage),
        aggregate="median",
        dimensions=DIMENSIONS,
        better="lower",
        category=CATEGORY,
        dashboard=False,  # a drill-down behind the time to schedule, not a KPI of its own
    )
    for stage in STAGES
]
