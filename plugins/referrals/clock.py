"""Each referral's SLA clock, read from its transition log and the tenant's business calendar.

The clock starts when the referral is sent, pauses while it is on hold and stops when it reaches
``scheduled`` (or leaves the race: rejected, cancelled, replaced). All of it comes from
``referral_transitions``, never from "last modified".
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from core.payers.summaries import AuthorizationSummary
from core.plugins.sdk import PluginContext
from plugins.referrals.calendar import BusinessCalendar, CalendarSettings
from plugins.referrals.schemas import Referral, Sla
from plugins.referrals.settings import ReferralSettings
from plugins.referrals.sla import Pause, SlaClock
from plugins.referrals.states import SLA_STOP


def settings_of(plugin: PluginContext) -> ReferralSettings:
    return plugin.settings if isinstance(plugin.settings, ReferralSettings) else ReferralSettings()


def clock_from_log(
    referral: Referral, log: list[Any], settings: ReferralSettings, calendar: BusinessCalendar
) -> SlaClock | None:
    """The clock of ``referral`` given its transitions (``to_status``, ``occurred_at``), oldest first."""
    return clock_of(referral.priority, log, settings, calendar)


def clock_stop(log: list[Any]) -> tuple[datetime, str] | None:
    """When and at which status the clock of this log stopped: the first SLA_STOP move from the first send on."""
    started = next((t["occurred_at"] for t in log if t["to_status"] == "sent"), None)
    if started is None:
        return None
    return next(
        ((t["occurred_at"], t["to_status"]) for t in log if t["occurred_at"] >= started and t["to_status"] in SLA_STOP),
        None,
    )


def clock_of(priority: str, log: list[Any], settings: ReferralSettings, calendar: BusinessCalendar) -> SlaClock | None:
    """The clock of a referral of ``priority`` given its transitions, oldest first (None before it is sent)."""
    started = next((t["occurred_at"] for t in log if t["to_status"] == "sent"), None)
    if started is None:
        return None
    pauses: list[Pause] = []
    stopped: datetime | None = None
    for move in log:
        at = move["occurred_at"]
        if at < started:
            continue
        if pauses and pauses[-1].end is None and move["to_status"] != "on_hold":
            pauses[-1] = Pause(pauses[-1].start, at)
        if move["to_status"] == "on_hold":
            pauses.append(Pause(at))
        elif move["to_status"] in SLA_STOP:
            stopped = at
            break  # holds after the stop (scheduled, then on hold) do not touch a stopped clock
    if stopped is not None and pauses and pauses[-1].end is None:
        pauses[-1] = Pause(pauses[-1].start, stopped)
    return settings.targets().clock(priority, calendar, started, pauses, stopped)


def sla_of(referral: Referral, clock: SlaClock | None, settings: ReferralSettings, now: datetime) -> Sla:
    target_hours = settings.targets().target(referral.priority).total_seconds() / 3600
    if clock is None:
        return Sla(target_hours=target_hours, started_at=None, due_at=None, remaining_seconds=None, state="not_started")
    return Sla(
        target_hours=target_hours,
        started_at=clock.started_at,
        due_at=clock.due_at,
        remaining_seconds=clock.remaining(now).total_seconds(),
        state=clock.state(now),
    )


async def tenant_calendar(plugin: PluginContext) -> BusinessCalendar:
    """The SLA calendar: the module's own working hours, or else the organization's business hours."""
    row = await plugin.tx.fetchrow("select time_zone, business_hours from tenants where id = $1", plugin.tenant_id)
    calendar = settings_of(plugin).calendar
    if calendar is None:
        hours = row["business_hours"]
        calendar = CalendarSettings.from_business_hours(json.loads(hours) if isinstance(hours, str) else hours)
    return BusinessCalendar.from_settings(calendar, row["time_zone"])


async def transition_logs(plugin: PluginContext, referral_ids: list[UUID]) -> dict[UUID, list[Any]]:
    """Each referral's transitions (``to_status``, ``occurred_at``), oldest first, in one query."""
    rows = await plugin.tx.fetch(
        "select referral_id, to_status, occurred_at from referral_transitions where referral_id = any($1::uuid[]) "
        "order by occurred_at, id",
        referral_ids,
    )
    logs: dict[UUID, list[Any]] = defaultdict(list)
    for row in rows:
        logs[row["referral_id"]].append(row)
    return logs


async def with_sla_many(plugin: PluginContext, referrals: list[Referral]) -> list[Referral]:
    """The referrals with their ``sla`` filled in: one query for all their transitions."""
    if not referrals:
        return []
    settings = settings_of(plugin)
    calendar = await tenant_calendar(plugin)
    logs = await transition_logs(plugin, [r.id for r in referrals])
    now = datetime.now(UTC)
    authorizations = await authorization_status(plugin, [r.id for r in referrals if r.prior_auth_required])
    return [
        msgspec.structs.replace(
            r,
            sla=sla_of(r, clock_from_log(r, logs[r.id], settings, calendar), settings, now),
            prior_authorization=authorizations.get(r.id),
        )
        for r in referrals
    ]


async def authorization_status(plugin: PluginContext, referral_ids: list[UUID]) -> dict[UUID, AuthorizationSummary]:
    """The latest prior authorization of each referral, from whichever module answers (the insurance module)."""
    if not referral_ids:
        return {}
    found: dict[UUID, AuthorizationSummary] = {}
    for _, answer in await plugin.collect("authorization_status", subject_type="referral", subject_ids=referral_ids):
        for referral_id, summary in (answer or {}).items():
            if isinstance(summary, AuthorizationSummary):
                found.setdefault(referral_id, summary)
    return found


async def with_sla(plugin: PluginContext, referral: Referral) -> Referral:
    return (await with_sla_many(plugin, [referral]))[0]


async def record_sla_outcomes(plugin: PluginContext, referral_ids: list[UUID]) -> int:
    """Store on each referral when its SLA clock stopped, at which status, and whether it was met.

    Computed once from the transition log with the settings and calendar in force when the clock
    stops, so the metric ``referrals_within_sla_pct`` reads stored facts (a later change of targets
    or holidays does not rewrite past months). A referral whose clock has not stopped gets nulls.
    Returns how many referrals have a recorded stop.
    """
    if not referral_ids:
        return 0
    rows = await plugin.tx.fetch("select id, priority from referrals where id = any($1::uuid[])", referral_ids)
    settings, calendar = settings_of(plugin), await tenant_calendar(plugin)
    logs = await transition_logs(plugin, [r["id"] for r in rows])
    stopped = 0
    for row in rows:
        log = logs[row["id"]]
        stop = clock_stop(log)
        clock = clock_of(row["priority"], log, settings, calendar) if stop is not None else None
        met = None if clock is None or clock.stopped_at is None else clock.state(clock.stopped_at) == "met"
        await plugin.tx.execute(
            "update referrals set sla_stopped_at = $2, sla_stop_status = $3, sla_met = $4 where id = $1",
            row["id"],
            None if stop is None else stop[0],
            None if stop is None else stop[1],
            met,
        )
        stopped += stop is not None
    return stopped


async def record_sla_stop(plugin: PluginContext, referral_id: UUID, status: str) -> None:
    """After a move to ``status``: record the SLA outcome if this move stopped the clock (once)."""
    if status not in SLA_STOP:
        return
    recorded = await plugin.tx.fetchval("select sla_met is not null from referrals where id = $1", referral_id)
    if not recorded:
        await record_sla_outcomes(plugin, [referral_id])


async def record_pending_sla_outcomes(plugin: PluginContext, limit: int = 5000) -> int:
    """Evaluate clocks that stopped before outcomes were stored (the migration marked them: stop time, no verdict)."""
    ids = await plugin.tx.fetch(
        "select id from referrals where sla_stopped_at is not null and sla_met is null order by sla_stopped_at "
        "limit $1",
        limit,
    )
    return await record_sla_outcomes(plugin, [r["id"] for r in ids])
