"""The referral metrics' facts, checked against hand-computed timelines (fixed dates in March 2025).

Referrals are created and moved through the HTTP API, then their transitions are moved to fixed
instants (the log is what every metric reads). The organization is in America/Chicago: CST is
UTC-6 until Sunday 9 March 2025, CDT (UTC-5) after.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.db.tenant import tenant_transaction
from core.jobs.context import system_principal
from core.metrics.periods import local_midnight
from core.plugins.context import PluginContext
from plugins.referrals.log_times import REFRESH, REFRESH_ALL
from plugins.referrals.metrics import METRICS
from plugins.referrals.migrations.referrals_2026_11_24t01_05_00_000000 import BACKFILL
from tests.conftest import add_user, enable_module
from tests.referrals.test_referrals_api import REFERRALS, move, new_referral, practitioner
from tests.referrals.test_sla_watch import check

CHICAGO = "America/Chicago"
SPECS = {spec.name: spec for spec in METRICS}


def z(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """An instant of 2025 in UTC."""
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


def local_day(day: int, month: int = 3) -> tuple[datetime, datetime]:
    """The UTC bounds of a local day in Chicago."""
    first = datetime(2025, month, day).date()
    return local_midnight(first, CHICAGO), local_midnight(first + timedelta(days=1), CHICAGO)


WEEK = (local_midnight(datetime(2025, 3, 3).date(), CHICAGO), local_midnight(datetime(2025, 3, 10).date(), CHICAGO))
"""Monday 3 to Sunday 9 March 2025 in Chicago (the week ends at 05:00 UTC: DST began on the 9th)."""


async def chicago_clinic(client: Any, org: Any, **settings: Any) -> Any:
    await enable_module(client, org, "referrals", settings or None)
    response = await client.patch("/api/v1/tenant", headers=org.headers, json={"time_zone": CHICAGO})
    assert response.status_code == 200, response.text
    return org


async def walk(client: Any, org: Any, referral_id: str, *steps: str) -> None:
    """Move a referral through ``steps`` with whatever each move needs."""
    patient = (await client.get(f"{REFERRALS}/{referral_id}", headers=org.headers)).json()["patient_id"]
    for step in steps:
        extra: dict[str, Any] = {}
        if step == "scheduled":
            extra["appointment_id"] = await booked_visit(client, org, patient)
        elif step == "closed":
            extra["consult_report"] = "Seen; plan sent back."
        elif step in ("rejected", "on_hold", "cancelled"):
            extra["reason"] = f"test {step}"
        response = await move(client, org, referral_id, step, **extra)
        assert response.status_code == 200, response.text


_visits = iter(range(1, 10**6))


async def booked_visit(client: Any, org: Any, patient_id: str) -> str:
    """An appointment that never overlaps another one booked here (a referral may be scheduled twice)."""
    start = datetime(2030, 1, 1, tzinfo=UTC) + timedelta(hours=next(_visits))
    response = await client.post(
        "/api/v1/appointments",
        headers=org.headers,
        json={
            "patient_id": patient_id,
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=30)).isoformat(),
            "time_zone": "UTC",
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def set_log(owner_db: Any, referral_id: str, *instants: datetime) -> None:
    """Give the referral's transitions, in the order they happened, these instants (as many as moves)."""
    rows = await owner_db.fetch(
        "select id from referral_transitions where referral_id = $1 order by occurred_at, id", uuid.UUID(referral_id)
    )
    assert len(rows) == len(instants), f"{len(rows)} moves, {len(instants)} instants"
    for row, at in zip(rows, instants, strict=True):
        await owner_db.execute("update referral_transitions set occurred_at = $2 where id = $1", row["id"], at)
    await refresh_from_log(owner_db, referral_id)


async def refresh_from_log(owner_db: Any, *referral_ids: str) -> None:
    """After backdating transitions as the owner: what the service does after each move (``log_times``).

    The metrics read event times kept from the log on the referral; a test that rewrites
    ``referral_transitions.occurred_at`` calls this so they follow, as if the moves happened then.
    """
    for statement in REFRESH:
        await owner_db.execute(statement, [uuid.UUID(r) for r in referral_ids])


async def reroute(client: Any, org: Any, referral_id: str) -> dict[str, Any]:
    response = await client.post(
        f"{REFERRALS}/{referral_id}/reroute",
        headers=org.headers,
        json={"target_practitioner_id": await practitioner(client, org), "reason": "declined"},
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["referral"])


async def facts(app_loop: Any, org: Any, name: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The metric's facts for ``[start, end)``, run as the metrics module runs them (the tenant's transaction)."""
    spec = SPECS[name]

    async def run() -> list[dict[str, Any]]:
        async with tenant_transaction(org.tenant_id) as tx:
            if isinstance(spec.facts, str):
                rows = [dict(r) for r in await tx.fetch(spec.facts, start, end)]
            else:
                assert spec.facts is not None
                ctx = PluginContext(module="metrics", tx=tx, principal=system_principal(org.tenant_id), settings=None)
                rows = [_fact(f) for f in await spec.facts(ctx, start, end)]
        assert all(set(r) == {"at", "value", "coordinator_id", "provider_id", "until"} for r in rows)
        return sorted(rows, key=lambda r: (r["at"], r["value"], r["until"] or r["at"]))

    return list(await app_loop(run))


def _fact(fact: Any) -> dict[str, Any]:
    return {k: getattr(fact, k) for k in ("at", "value", "coordinator_id", "provider_id", "until")}


def brief(rows: list[dict[str, Any]]) -> list[tuple[datetime, float]]:
    return [(r["at"], pytest.approx(r["value"], abs=1e-6)) for r in rows]


@pytest.fixture
async def march(client: Any, org: Any, owner_db: Any) -> dict[str, Any]:
    """Five referrals with hand-set timelines in the week of 3 March 2025 (see each comment)."""
    await chicago_clinic(client, org)
    made: dict[str, Any] = {}

    # A: sent Mon 14:00Z, scheduled 24 h later, loop closed 44 h after sending.
    a = await new_referral(client, org)
    await walk(client, org, a["id"], "sent", "received", "accepted", "scheduled", "seen", "closed")
    await set_log(owner_db, a["id"], z(3, 13), z(3, 14), z(3, 16), z(3, 18), z(4, 14), z(5, 8), z(5, 10))
    made["a"] = a

    # B, reopened: scheduled 71 h after sending, back to accepted, scheduled again 120 h after; closed at 172 h.
    b = await new_referral(client, org)
    await walk(client, org, b["id"], "sent", "received", "accepted", "scheduled", "accepted", "scheduled")
    await walk(client, org, b["id"], "seen", "closed")
    await set_log(
        owner_db, b["id"], z(3, 11), z(3, 12), z(3, 13), z(3, 14), z(6, 11), z(6, 20), z(8, 12), z(10, 15), z(10, 16)
    )
    made["b"] = b

    # C: scheduled Fri 05:30Z = Thu 6 March 23:30 in Chicago, 72.5 h after sending (late), by another coordinator.
    coordinator = await add_user(client, org, "coordinator")
    me = (await client.get("/api/v1/users/me", headers=coordinator)).json()
    c = await new_referral(client, org, coordinator_id=me["id"])
    await walk(client, org, c["id"], "sent", "received", "accepted", "scheduled")
    await set_log(owner_db, c["id"], z(4, 4), z(4, 5), z(4, 6), z(4, 7), z(7, 5, 30))
    made["c"], made["coordinator_id"] = c, me["id"]

    # D, re-routed: rejected and replaced; its replacement is sent Wed 15:00Z and scheduled 24 h later.
    d = await new_referral(client, org)
    await walk(client, org, d["id"], "sent", "received", "rejected")
    d2 = await reroute(client, org, d["id"])
    await walk(client, org, d2["id"], "sent", "received", "accepted", "scheduled")
    await set_log(owner_db, d["id"], z(3, 14), z(3, 15), z(3, 16), z(4, 15), z(4, 16))
    await set_log(owner_db, d2["id"], z(4, 16), z(5, 15), z(5, 16), z(5, 17), z(6, 15))
    made["d"], made["d2"] = d, d2

    # E: sent, never scheduled.
    e = await new_referral(client, org)
    await walk(client, org, e["id"], "sent")
    await set_log(owner_db, e["id"], z(4, 9), z(4, 10))
    return made


async def test_scheduled_within_72h_counts_each_referral_once_at_its_first_scheduling(
    client: Any, org: Any, app_loop: Any, march: dict[str, Any]
) -> None:
    week = await facts(app_loop, org, "referrals_scheduled_within_72h_pct", *WEEK)
    # A 24 h, B 71 h (its second scheduling on the 8th is not a fact), D2 24 h, C 72.5 h; D never scheduled.
    assert brief(week) == [(z(4, 14), 1.0), (z(6, 11), 1.0), (z(6, 15), 1.0), (z(7, 5, 30), 0.0)]
    dims = {r["at"]: (str(r["coordinator_id"]), str(r["provider_id"])) for r in week}
    assert dims[z(6, 15)] == (march["d2"]["coordinator_id"], march["d2"]["target_practitioner_id"])
    assert dims[z(7, 5, 30)] == (march["coordinator_id"], march["c"]["target_practitioner_id"])

    # 23:30 local on Thursday belongs to Thursday, though it is Friday in UTC.
    thursday = await facts(app_loop, org, "referrals_scheduled_within_72h_pct", *local_day(6))
    assert brief(thursday) == [(z(6, 11), 1.0), (z(6, 15), 1.0), (z(7, 5, 30), 0.0)]
    assert await facts(app_loop, org, "referrals_scheduled_within_72h_pct", *local_day(7)) == []
    assert await facts(app_loop, org, "referrals_scheduled_within_72h_pct", *local_day(8)) == []  # B's re-scheduling
    assert await facts(app_loop, org, "referrals_scheduled_within_72h_pct", z(1, 0, month=1), z(1, 0, month=2)) == []

    hours = await facts(app_loop, org, "referral_median_hours_to_schedule", *WEEK)
    assert sorted(r["value"] for r in hours) == pytest.approx([24.0, 24.0, 71.0, 72.5])


async def test_closed_within_72h_counts_by_the_day_the_loop_closed(
    client: Any, org: Any, app_loop: Any, march: dict[str, Any]
) -> None:
    assert brief(await facts(app_loop, org, "referrals_closed_within_72h_pct", *WEEK)) == [(z(5, 10), 1.0)]  # A, 44 h
    following = (WEEK[1], WEEK[1] + timedelta(days=7))
    assert brief(await facts(app_loop, org, "referrals_closed_within_72h_pct", *following)) == [(z(10, 16), 0.0)]  # B


async def test_stage_hours_are_stays_that_ended_in_the_window(
    client: Any, org: Any, app_loop: Any, march: dict[str, Any]
) -> None:
    accepted = await facts(app_loop, org, "referral_median_hours_accepted", *WEEK)
    # A 20 h, B 69 h then (back in accepted) 40 h, C 70.5 h, D2 22 h.
    assert brief(accepted) == [
        (z(4, 14), 20.0),
        (z(6, 11), 69.0),
        (z(6, 15), 22.0),
        (z(7, 5, 30), 70.5),
        (z(8, 12), 40.0),
    ]
    received = await facts(app_loop, org, "referral_median_hours_received", *local_day(4))
    assert brief(received) == [(z(4, 7), 1.0), (z(4, 15), 23.0)]  # C accepted, D rejected


async def test_metrics_series_through_the_api_by_local_day_and_coordinator(
    client: Any, org: Any, march: dict[str, Any]
) -> None:
    await enable_module(client, org, "metrics")
    url = "/api/v1/metrics/referrals_scheduled_within_72h_pct"
    params = {"from": "2025-03-04", "to": "2025-03-08", "period": "day"}
    days = await client.get(url, headers=org.headers, params=params)
    assert days.status_code == 200, days.text
    body = days.json()
    assert body["time_zone"] == CHICAGO
    assert [(p["period"], p["value"], p["count"]) for p in body["series"][0]["points"]] == [
        ("2025-03-04", 100.0, 1),
        ("2025-03-05", None, 0),
        ("2025-03-06", pytest.approx(200 / 3), 3),
        ("2025-03-07", None, 0),
        ("2025-03-08", None, 0),
    ]
    assert body["total"] == {"value": 75.0, "count": 4}

    grouped = await client.get(url, headers=org.headers, params={**params, "by": "coordinator"})
    assert grouped.status_code == 200, grouped.text
    totals = {s["dimension"]["id"]: s["total"] for s in grouped.json()["series"]}
    assert totals == {
        str(org.owner_id): {"value": 100.0, "count": 3},
        march["coordinator_id"]: {"value": 0.0, "count": 1},
    }

    team = await client.post("/api/v1/teams", headers=org.headers, json={"name": "North"})
    assert team.status_code == 201, team.text
    joined = await client.patch(
        f"/api/v1/users/{march['coordinator_id']}", headers=org.headers, json={"team_id": team.json()["id"]}
    )
    assert joined.status_code == 200, joined.text
    teams = await client.get(url, headers=org.headers, params={**params, "by": "team"})
    assert teams.status_code == 200, teams.text
    by_team = sorted(
        (g["dimension"]["label"], g["total"]["value"], g["total"]["count"]) for g in teams.json()["series"]
    )
    assert by_team == [
        ("(none)", 100.0, 3),  # the owner is in no team
        ("North", 0.0, 1),
    ]

    median = await client.get(
        "/api/v1/metrics/referral_median_hours_to_schedule",
        headers=org.headers,
        params={"from": "2025-03-03", "to": "2025-03-09", "period": "week"},
    )
    assert median.status_code == 200, median.text
    assert median.json()["series"][0]["points"] == [{"period": "2025-03-03", "value": 47.5, "count": 4}]

    closed = await client.get(
        "/api/v1/metrics/referrals_closed_within_72h_pct",
        headers=org.headers,
        params={"from": "2025-03-01", "to": "2025-03-31", "period": "month", "by": "provider"},
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["total"] == {"value": 50.0, "count": 2}
    providers = {s["dimension"]["id"] for s in closed.json()["series"]}
    assert providers == {march["a"]["target_practitioner_id"], march["b"]["target_practitioner_id"]}


# -- SLA outcome, stored when the clock stops ------------------------------------------------------------


async def stored_sla(owner_db: Any, referral_id: str) -> tuple[Any, ...]:
    row = await owner_db.fetchrow(
        "select sla_stopped_at, sla_stop_status, sla_met from referrals where id = $1", uuid.UUID(referral_id)
    )
    return tuple(row)


async def scheduled_at(owner_db: Any, referral_id: str) -> list[datetime]:
    rows = await owner_db.fetch(
        "select occurred_at from referral_transitions where referral_id = $1 and to_status = 'scheduled' "
        "order by occurred_at",
        uuid.UUID(referral_id),
    )
    return [r["occurred_at"] for r in rows]


async def test_the_move_that_stops_the_clock_stores_its_outcome_once(client: Any, org: Any, owner_db: Any) -> None:
    await enable_module(client, org, "referrals")
    referral = await new_referral(client, org)
    await walk(client, org, referral["id"], "sent", "received", "accepted")
    assert await stored_sla(owner_db, referral["id"]) == (None, None, None)  # still running
    await walk(client, org, referral["id"], "scheduled")
    (first,) = await scheduled_at(owner_db, referral["id"])
    assert await stored_sla(owner_db, referral["id"]) == (first, "scheduled", True)
    await walk(client, org, referral["id"], "accepted", "scheduled", "seen")  # reopened: the first stop stands
    assert len(await scheduled_at(owner_db, referral["id"])) == 2
    assert await stored_sla(owner_db, referral["id"]) == (first, "scheduled", True)

    never_sent = await new_referral(client, org)
    await walk(client, org, never_sent["id"], "cancelled")
    assert await stored_sla(owner_db, never_sent["id"]) == (None, None, None)  # no clock ever ran

    replaced = await new_referral(client, org)
    await walk(client, org, replaced["id"], "sent", "on_hold")
    await reroute(client, org, replaced["id"])
    stopped_at, status, met = await stored_sla(owner_db, replaced["id"])
    assert (status, met) == ("replaced", True)
    assert stopped_at == await owner_db.fetchval(
        "select occurred_at from referral_transitions where referral_id = $1 and to_status = 'replaced'",
        uuid.UUID(replaced["id"]),
    )


async def test_a_hold_after_the_clock_stopped_leaves_the_outcome_alone(client: Any, org: Any, owner_db: Any) -> None:
    await enable_module(client, org, "referrals")
    referral = await new_referral(client, org)
    await walk(client, org, referral["id"], "sent", "received", "accepted", "scheduled", "seen", "on_hold", "seen")
    read = await client.get(f"{REFERRALS}/{referral['id']}", headers=org.headers)
    assert read.status_code == 200, read.text
    assert read.json()["sla"]["state"] == "met"
    (scheduled,) = await scheduled_at(owner_db, referral["id"])
    assert await stored_sla(owner_db, referral["id"]) == (scheduled, "scheduled", True)


@pytest.fixture
async def sla_week(client: Any, org: Any, owner_db: Any, app_loop: Any) -> dict[str, Any]:
    """Urgent referrals (8 business hours, Mon-Fri 08:00-17:00 Chicago) with hand-set timelines.

    Their outcomes are stored as if the clocks had stopped at those instants: the stored verdicts
    are cleared and ``referrals.check_sla`` evaluates them from the log, as it does for clocks
    that stopped before outcomes were stored.
    """
    await chicago_clinic(client, org, urgent_hours=8)
    made: dict[str, Any] = {}
    # S1, paused: sent Mon 09:00 CST, on hold 11:00 until Tue 11:00, scheduled Tue 15:30 CST:
    # 2 h + 4.5 h = 6.5 business hours (met); without the pause Monday alone uses the 8 h.
    s1 = await new_referral(client, org, priority="urgent")
    await walk(client, org, s1["id"], "sent", "on_hold", "sent", "received", "accepted", "scheduled")
    await set_log(owner_db, s1["id"], z(3, 14), z(3, 15), z(3, 17), z(4, 17), z(4, 18), z(4, 19), z(4, 21, 30))
    # S2: sent Mon 09:00 CST, scheduled Wed 09:00 CST: 8 h on Monday already, missed.
    s2 = await new_referral(client, org, priority="urgent")
    await walk(client, org, s2["id"], "sent", "received", "accepted", "scheduled")
    await set_log(owner_db, s2["id"], z(3, 14), z(3, 15), z(4, 15), z(4, 16), z(5, 15))
    # S3, withdrawn in time: cancelled one hour after sending (met, but it reached no goal: left out).
    s3 = await new_referral(client, org, priority="urgent")
    await walk(client, org, s3["id"], "sent", "cancelled")
    await set_log(owner_db, s3["id"], z(3, 14), z(3, 15), z(3, 16))
    # S4, withdrawn late: rejected Thursday, long after its deadline (counts as missed).
    s4 = await new_referral(client, org, priority="urgent")
    await walk(client, org, s4["id"], "sent", "received", "rejected")
    await set_log(owner_db, s4["id"], z(3, 14), z(3, 15), z(3, 16), z(6, 15))
    # S5: sent Mon 10 March 10:00 CDT, scheduled Tue 08:30 CDT: 7 + 0.5 business hours, the next week.
    s5 = await new_referral(client, org, priority="urgent")
    await walk(client, org, s5["id"], "sent", "received", "accepted", "scheduled")
    await set_log(owner_db, s5["id"], z(10, 14), z(10, 15), z(10, 16), z(10, 17), z(11, 13, 30))
    made.update(s1=s1, s2=s2, s3=s3, s4=s4, s5=s5)

    await owner_db.execute("update referrals set sla_met = null where tenant_id = $1", org.tenant_id)
    await check(app_loop, org)
    return made


async def test_sla_outcomes_are_evaluated_in_business_time_without_holds(
    org: Any, owner_db: Any, sla_week: dict[str, Any]
) -> None:
    assert await stored_sla(owner_db, sla_week["s1"]["id"]) == (z(4, 21, 30), "scheduled", True)
    assert await stored_sla(owner_db, sla_week["s2"]["id"]) == (z(5, 15), "scheduled", False)
    assert await stored_sla(owner_db, sla_week["s3"]["id"]) == (z(3, 16), "cancelled", True)
    assert await stored_sla(owner_db, sla_week["s4"]["id"]) == (z(6, 15), "rejected", False)
    assert await stored_sla(owner_db, sla_week["s5"]["id"]) == (z(11, 13, 30), "scheduled", True)


async def test_within_sla_counts_goals_reached_and_late_withdrawals_by_stop_day(
    client: Any, org: Any, app_loop: Any, sla_week: dict[str, Any]
) -> None:
    week = await facts(app_loop, org, "referrals_within_sla_pct", *WEEK)
    assert brief(week) == [(z(4, 21, 30), 1.0), (z(5, 15), 0.0), (z(6, 15), 0.0)]  # S1, S2, S4 (not S3)
    assert brief(await facts(app_loop, org, "referrals_within_sla_pct", *local_day(11))) == [(z(11, 13, 30), 1.0)]
    assert await facts(app_loop, org, "referrals_within_sla_pct", *local_day(8)) == []

    await enable_module(client, org, "metrics")
    response = await client.get(
        "/api/v1/metrics/referrals_within_sla_pct",
        headers=org.headers,
        params={"from": "2025-03-03", "to": "2025-03-16", "period": "week"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["target"] == 90.0
    assert [(p["period"], p["value"], p["count"]) for p in body["series"][0]["points"]] == [
        ("2025-03-03", pytest.approx(100 / 3), 3),
        ("2025-03-10", 100.0, 1),
    ]


async def test_the_migration_backfills_stop_times_and_the_check_evaluates_them(
    org: Any, owner_db: Any, app_loop: Any, sla_week: dict[str, Any]
) -> None:
    """Referrals stopped before the columns existed: the migration finds the stop, the check the verdict."""
    await owner_db.execute(
        "update referrals set sla_stopped_at = null, sla_stop_status = null, sla_met = null where tenant_id = $1",
        org.tenant_id,
    )
    (update,) = [s for s in BACKFILL if s.lstrip().startswith("update") and "sla_stop_status" in s]
    await owner_db.execute(f"{update} and r.tenant_id = $1", org.tenant_id)  # this organization only
    assert await stored_sla(owner_db, sla_week["s2"]["id"]) == (z(5, 15), "scheduled", None)
    assert await stored_sla(owner_db, sla_week["s3"]["id"]) == (z(3, 16), "cancelled", None)
    await check(app_loop, org)
    assert await stored_sla(owner_db, sla_week["s1"]["id"]) == (z(4, 21, 30), "scheduled", True)
    assert await stored_sla(owner_db, sla_week["s4"]["id"]) == (z(6, 15), "rejected", False)


async def test_the_migration_fills_event_times_from_the_log(
    client: Any, org: Any, owner_db: Any, app_loop: Any, march: dict[str, Any]
) -> None:
    before = await facts(app_loop, org, "referral_median_hours_accepted", *WEEK)
    assert len(before) == 5
    await owner_db.execute(
        "update referrals set first_sent_at = null, first_scheduled_at = null, first_seen_at = null, "
        "ended_at = null where tenant_id = $1",
        org.tenant_id,
    )
    await owner_db.execute("update referral_transitions set left_at = null where tenant_id = $1", org.tenant_id)
    assert await facts(app_loop, org, "referral_median_hours_accepted", *WEEK) == []
    assert await facts(app_loop, org, "referrals_scheduled_within_72h_pct", *WEEK) == []
    referrals, stays = REFRESH_ALL
    await owner_db.execute(f"{referrals} and r.tenant_id = $1", org.tenant_id)  # this organization only
    await owner_db.execute(f"{stays} and t.tenant_id = $1", org.tenant_id)
    assert await facts(app_loop, org, "referral_median_hours_accepted", *WEEK) == before
    assert len(await facts(app_loop, org, "referrals_scheduled_within_72h_pct", *WEEK)) == 4
    assert len(await facts(app_loop, org, "referrals_closed_within_72h_pct", *WEEK)) == 1


# -- open loops ---------------------------------------------------------------------------------------------


async def test_open_loops_run_from_first_seen_plus_the_allowance_until_closed_or_cancelled(
    client: Any, org: Any, owner_db: Any, app_loop: Any
) -> None:
    await chicago_clinic(client, org, open_loop_days=10)
    steps = ("sent", "received", "accepted", "scheduled", "seen")
    # F: seen 1 March, closed 20 March: open from 11 March 12:00Z until 20 March 12:00Z.
    f = await new_referral(client, org)
    await walk(client, org, f["id"], *steps, "closed")
    await set_log(owner_db, f["id"], z(1, 6), z(1, 7), z(1, 8), z(1, 9), z(1, 10), z(1, 12), z(20, 12))
    # G: seen 2 March (and again after a hold: the first time counts), never closed.
    g = await new_referral(client, org)
    await walk(client, org, g["id"], *steps, "on_hold", "seen")
    await set_log(owner_db, g["id"], z(2, 6), z(2, 7), z(2, 8), z(2, 9), z(2, 10), z(2, 12), z(3, 12), z(8, 12))
    # H: seen 2 March, put on hold, cancelled 14 March 12:00Z.
    h = await new_referral(client, org)
    await walk(client, org, h["id"], *steps, "on_hold", "cancelled")
    await set_log(owner_db, h["id"], z(2, 6), z(2, 7), z(2, 8), z(2, 9), z(2, 10), z(2, 12), z(5, 12), z(14, 12))
    # I: seen in January, closed in February; J: seen 25 March; K: closed 5 days after it was seen (never open).
    i = await new_referral(client, org)
    await walk(client, org, i["id"], *steps, "closed")
    await set_log(owner_db, i["id"], *[z(1, hour, month=1) for hour in range(6, 12)], z(20, 12, month=2))
    j = await new_referral(client, org)
    await walk(client, org, j["id"], *steps)
    await set_log(owner_db, j["id"], *[z(25, hour) for hour in range(6, 12)])
    k = await new_referral(client, org)
    await walk(client, org, k["id"], *steps, "closed")
    await set_log(owner_db, k["id"], *[z(4, hour) for hour in range(6, 12)], z(9, 12))

    march = (local_midnight(datetime(2025, 3, 1).date(), CHICAGO), local_midnight(datetime(2025, 4, 1).date(), CHICAGO))
    loops = await facts(app_loop, org, "referral_open_loops", *march)
    assert [(r["at"], r["until"]) for r in loops] == [(z(11, 12), z(20, 12)), (z(12, 12), None), (z(12, 12), z(14, 12))]
    assert await facts(app_loop, org, "referral_open_loops", z(1, 0, month=3), z(11, 12)) == []

    await enable_module(client, org, "metrics")
    response = await client.get(
        "/api/v1/metrics/referral_open_loops",
        headers=org.headers,
        params={"from": "2025-03-10", "to": "2025-03-21", "period": "day"},
    )
    assert response.status_code == 200, response.text
    counts = {p["period"]: p["value"] for p in response.json()["series"][0]["points"]}
    assert counts["2025-03-10"] == 0.0  # F opens on the 11th
    assert counts["2025-03-11"] == 1.0
    assert counts["2025-03-13"] == 3.0  # F, G, H
    assert counts["2025-03-14"] == 2.0  # H cancelled at 07:00 local on the 14th
    assert counts["2025-03-19"] == 2.0  # F closes on the 20th
    assert counts["2025-03-20"] == 1.0  # G only
    assert response.json()["total"] == {"value": 1.0, "count": 1}
