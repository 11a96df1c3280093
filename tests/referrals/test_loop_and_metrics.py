"""Loop closure on the timeline and open loops on the worklist (the metrics: test_metrics_facts.py)."""

from __future__ import annotations

import uuid
from typing import Any

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
