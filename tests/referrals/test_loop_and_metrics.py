"""Loop closure on the timeline, open loops on the worklist, and the referral metrics from the log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.db.tenant import tenant_transaction
from core.jobs.context import system_principal
from core.plugins.context import PluginContext
from plugins.referrals.metrics import METRICS, stage_hours
from plugins.referrals.settings import ReferralSettings
from tests.conftest import enable_module
from tests.referrals.test_referrals_api import appointment, move, new_referral
from tests.referrals.test_sla_watch import check, sla_tasks


async def walk(client: Any, org: Any, referral: dict[str, Any], until: str) -> None:
    steps = ["sent", "received", "accepted", "scheduled", "seen", "closed"]
    for step in steps[: steps.index(until) + 1]:
        extra: dict[str, Any] = {}
        if step == "scheduled":
            extra["appointment_id"] = await appointment(client, org, referral["patient_id"])
        if step == "closed":
            extra["consult_report"] = "Echo normal. Continue current therapy."
        assert (await move(client, org, referral["id"], step, **extra)).status_code == 200


async def set_times(owner_db: Any, referral_id: str, **hours_ago: float) -> None:
    """Move the referral's transitions into ``to_status`` back to ``hours_ago`` hours before now."""
    for status, hours in hours_ago.items():
        await owner_db.execute(
            "update referral_transitions set occurred_at = now() - make_interval(secs => $3) "
            "where referral_id = $1 and to_status = $2",
            uuid.UUID(referral_id),
            status,
            hours * 3600,
        )


async def test_the_consult_report_closes_the_loop_on_the_patients_timeline(client: Any, org: Any) -> None:
    await enable_module(client, org, "referrals")
    referral = await new_referral(client, org)
    await walk(client, org, referral, "closed")
    timeline = await client.get(f"/api/v1/patients/{referral['patient_id']}/timeline", headers=org.headers)
    assert timeline.status_code == 200, timeline.text
    mine = [i for i in timeline.json()["items"] if i["resource_id"] == referral["id"]]
    assert [i["kind"] for i in mine][:2] == ["referral.closed", "referral.seen"]  # newest first
    closed = mine[0]
    assert closed["module"] == "referrals"
    assert closed["summary"] == "Echo normal. Continue current therapy."
    assert "loop closed" in closed["title"]


async def test_a_referral_seen_long_ago_without_a_report_surfaces_once_on_the_worklist(
    client: Any, org: Any, owner_db: Any, app_loop: Any
) -> None:
    await enable_module(client, org, "referrals", {"open_loop_days": 14})
    fresh, stale = await new_referral(client, org), await new_referral(client, org)
    for referral in (fresh, stale):
        await walk(client, org, referral, "seen")
    await set_times(owner_db, stale["id"], seen=15 * 24)
    await check(app_loop, org)
    await check(app_loop, org)
    (task,) = await sla_tasks(client, org, stale["id"])
    assert task["title"] == "Open referral loop: consult report missing"
    assert await sla_tasks(client, org, fresh["id"]) == []


async def test_metrics_count_by_event_time_from_the_transition_log(
    client: Any, org: Any, owner_db: Any, app_loop: Any
) -> None:
    await enable_module(client, org, "referrals")
    quick, slow, unscheduled = [await new_referral(client, org) for _ in range(3)]
    for referral in (quick, slow):
        await walk(client, org, referral, "scheduled")
    await walk(client, org, unscheduled, "received")
    await set_times(owner_db, quick["id"], draft=31, sent=30, received=29, accepted=28, scheduled=20)  # 10 h
    await set_times(owner_db, slow["id"], draft=101, sent=100, received=90, accepted=80, scheduled=1)  # 99 h
    # an edit long after the event must not move the referral into another period
    await owner_db.execute(
        "update referrals set updated_at = now() + interval '1 day' where id = $1", uuid.UUID(slow["id"])
    )

    async def compute() -> dict[str, Any]:
        async with tenant_transaction(org.tenant_id) as tx:
            ctx = PluginContext(
                module="referrals", tx=tx, principal=system_principal(org.tenant_id), settings=ReferralSettings()
            )
            end = datetime.now(UTC)
            start = end - timedelta(days=2)
            values = {m.name: await m.compute(ctx, start, end) for m in METRICS}
            values["stages"] = await stage_hours(ctx, start, end)
            values["earlier"] = await METRICS[0].compute(ctx, end - timedelta(days=30), start)
            return values

    values = await app_loop(compute)
    assert values["referrals_scheduled_within_72h_pct"] == 50.0
    assert values["referral_median_hours_to_schedule"] == pytest.approx(54.5, abs=0.01)  # median of 10 h, 99 h
    assert values["earlier"] is None  # nothing was scheduled before the window
    assert values["referral_median_hours_accepted"] == pytest.approx((8.0 + 79.0) / 2, abs=0.01)
    assert values["stages"]["accepted"]["count"] == 2
    assert values["referral_open_loops"] == 0.0
