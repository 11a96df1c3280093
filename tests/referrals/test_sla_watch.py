"""SLA clocks on real referrals: due time shown, at-risk and breached fire once each, as worklist tasks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from core.jobs.runner import run_job
from tests.conftest import enable_module
from tests.referrals.test_referrals_api import move, new_referral

ALWAYS_OPEN = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


async def backdate_sent(owner_db: Any, referral_id: str, hours: float) -> None:
    """Pretend the referral was sent ``hours`` ago (the clock reads the transition log)."""
    await owner_db.execute(
        "update referral_transitions set occurred_at = now() - make_interval(secs => $2) "
        "where referral_id = $1 and to_status in ('draft', 'sent')",
        uuid.UUID(referral_id),
        hours * 3600,
    )


async def check(app_loop: Any, org: Any) -> str:
    return str(
        await app_loop(
            run_job,
            "referrals.check_sla",
            tenant_id=str(org.tenant_id),
            payload={},
            message_id=uuid.uuid4().hex,
        )
    )


async def sla_tasks(client: Any, org: Any, referral_id: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/worklist", headers=org.headers, params={"mine": "true", "limit": 500})
    assert response.status_code == 200, response.text
    return [t for t in response.json()["items"] if t["focus_id"] == referral_id]


async def test_a_stat_referral_goes_at_risk_then_breaches_each_event_once(
    client: Any, org: Any, owner_db: Any, app_loop: Any
) -> None:
    await enable_module(client, org, "referrals", {"stat_hours": 2, "calendar": ALWAYS_OPEN})
    referral = await new_referral(client, org, priority="stat")
    sent = (await move(client, org, referral["id"], "sent")).json()
    assert sent["sla"]["state"] == "on_track"
    assert sent["sla"]["target_hours"] == 2
    due = datetime.fromisoformat(sent["sla"]["due_at"])
    assert abs((due - datetime.now(UTC)) - timedelta(hours=2)) < timedelta(minutes=1)

    await backdate_sent(owner_db, referral["id"], 1.6)  # 80 % of the target: at risk
    read = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=org.headers)).json()
    assert read["sla"]["state"] == "at_risk"
    assert 0 < read["sla"]["remaining_seconds"] < 0.5 * 3600
    assert await check(app_loop, org) == "done"
    assert await check(app_loop, org) == "done"  # a second run fires nothing new
    (at_risk,) = await sla_tasks(client, org, referral["id"])
    assert at_risk["title"] == "Referral at risk of missing its SLA"

    await backdate_sent(owner_db, referral["id"], 3)
    overdue = await client.get("/api/v1/referrals", headers=org.headers, params={"overdue": "true"})
    assert [r["id"] for r in overdue.json()] == [referral["id"]]
    await check(app_loop, org)
    await check(app_loop, org)
    titles = sorted(t["title"] for t in await sla_tasks(client, org, referral["id"]))
    assert titles == ["Referral SLA breached", "Referral at risk of missing its SLA"]
    events = await owner_db.fetch(
        "select event from referral_sla_events where referral_id = $1 order by fired_at", uuid.UUID(referral["id"])
    )
    assert [e["event"] for e in events] == ["at_risk", "breached"]
    notices = await owner_db.fetch(
        "select template, recipient_address from notifications where tenant_id = $1 and patient_id = $2 "
        "order by created_at",
        org.tenant_id,
        uuid.UUID(referral["patient_id"]),
    )
    assert [(n["template"], n["recipient_address"]) for n in notices] == [("provider_message", org.email)] * 2


async def test_time_on_hold_does_not_count_and_a_scheduled_referral_stops_its_clock(
    client: Any, org: Any, owner_db: Any, app_loop: Any
) -> None:
    await enable_module(client, org, "referrals", {"urgent_hours": 10, "calendar": ALWAYS_OPEN})
    referral = await new_referral(client, org, priority="urgent")
    rid = referral["id"]
    await move(client, org, rid, "sent")
    await move(client, org, rid, "on_hold", reason="waiting on the patient")
    held = (await client.get(f"/api/v1/referrals/{rid}", headers=org.headers)).json()
    assert held["sla"]["state"] == "paused"
    assert held["sla"]["due_at"] is None  # unknown until the hold ends
    # sent 20 h ago, on hold for the last 19 h of it: 1 h of the 10 h target used
    await owner_db.execute(
        "update referral_transitions set occurred_at = now() - interval '20 hours' "
        "where referral_id = $1 and to_status in ('draft', 'sent')",
        uuid.UUID(rid),
    )
    await owner_db.execute(
        "update referral_transitions set occurred_at = now() - interval '19 hours' "
        "where referral_id = $1 and to_status = 'on_hold'",
        uuid.UUID(rid),
    )
    resumed = (await move(client, org, rid, "sent")).json()
    assert resumed["sla"]["state"] == "on_track"
    assert 8.9 * 3600 < resumed["sla"]["remaining_seconds"] <= 9 * 3600
    await check(app_loop, org)
    assert await sla_tasks(client, org, rid) == []


async def test_without_a_calendar_of_its_own_the_clock_follows_the_organizations_business_hours(
    client: Any, org: Any
) -> None:
    """The organization works every day but today (UTC, its zone): a 2 h stat target sent now ends on
    another day. Working every day 00:00-23:59 instead, it ends about 2 h from now."""
    today = datetime.now(UTC).isoweekday()
    await enable_module(client, org, "referrals", {"stat_hours": 2})
    due_times = []
    for days in ([d for d in range(1, 8) if d != today], list(range(1, 8))):
        hours = {"days": days, "start": "00:00", "end": "23:59"}
        changed = await client.patch("/api/v1/tenant", headers=org.headers, json={"business_hours": hours})
        assert changed.status_code == 200, changed.text
        referral = await new_referral(client, org, priority="stat")
        sent = (await move(client, org, referral["id"], "sent")).json()
        due_times.append(datetime.fromisoformat(sent["sla"]["due_at"]))
    closed_today, open_daily = due_times
    assert closed_today.astimezone(UTC).isoweekday() != today
    # two hours of working time; at most the closed minute 23:59-24:00 falls inside them
    assert timedelta(hours=2) - timedelta(minutes=1) <= open_daily - datetime.now(UTC) <= timedelta(hours=2, minutes=2)
