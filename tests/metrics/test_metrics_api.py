"""The metrics API: catalogue per enabled module, series bucketed in the tenant's zone, dashboard, errors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import create_patient, enable_module

NOTES = "/api/v1/partner_example/notes"


async def write_notes(client: Any, org: Any, owner_db: Any, *instants: datetime) -> None:
    """One note per instant, its ``created_at`` moved to that instant."""
    patient = await create_patient(client, org)
    for at in instants:
        response = await client.post(NOTES, headers=org.headers, json={"patient_id": patient["id"], "body": "n"})
        assert response.status_code == 201, response.text
        await owner_db.execute(
            "update partner_example_notes set created_at = $2 where id = $1",
            uuid.UUID(response.json()["note"]["id"]),
            at,
        )


async def test_catalogue_lists_the_metrics_of_enabled_modules_only(client: Any, org: Any) -> None:
    assert (await client.get("/api/v1/metrics", headers=org.headers)).status_code == 404  # module off
    await enable_module(client, org, "metrics")
    names = {m["name"] for m in (await client.get("/api/v1/metrics", headers=org.headers)).json()["items"]}
    assert "partner_example_notes_written" not in names
    assert "referrals_within_sla_pct" not in names
    missing = await client.get("/api/v1/metrics/partner_example_notes_written", headers=org.headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")

    await enable_module(client, org, "partner_example")
    items = (await client.get("/api/v1/metrics", headers=org.headers)).json()["items"]
    (notes,) = [m for m in items if m["name"] == "partner_example_notes_written"]
    assert notes == {
        "name": "partner_example_notes_written",
        "description": "Notes written",
        "unit": "count",
        "category": "Partner example",
        "module": "partner_example",
        "aggregate": "count",
        "dimensions": [],
        "target": None,
        "better": "higher",
        "dashboard": True,
    }
    disabled = await client.put("/api/v1/admin/modules/partner_example", headers=org.headers, json={"enabled": False})
    assert disabled.status_code == 200
    names = {m["name"] for m in (await client.get("/api/v1/metrics", headers=org.headers)).json()["items"]}
    assert "partner_example_notes_written" not in names
    gone = await client.get("/api/v1/metrics/partner_example_notes_written", headers=org.headers)
    assert gone.status_code == 404


async def test_series_buckets_by_local_day_week_and_month(client: Any, org: Any, owner_db: Any) -> None:
    await enable_module(client, org, "metrics")
    await enable_module(client, org, "partner_example")
    chicago = "America/Chicago"
    # 2025-03-09 is the spring-forward Sunday in Chicago (a 23-hour day).
    await write_notes(
        client,
        org,
        owner_db,
        datetime(2025, 3, 8, 5, 59, tzinfo=UTC),  # 23:59 on the 7th in Chicago (CST, UTC-6)
        datetime(2025, 3, 8, 6, 0, tzinfo=UTC),  # 00:00 on the 8th
        datetime(2025, 3, 9, 4, 59, tzinfo=UTC),  # 22:59 on the 8th
        datetime(2025, 3, 10, 4, 59, tzinfo=UTC),  # 23:59 on the 9th (CDT, UTC-5)
        datetime(2025, 3, 10, 5, 0, tzinfo=UTC),  # 00:00 on Monday the 10th
        datetime(2025, 4, 1, 4, 30, tzinfo=UTC),  # 23:30 on 31 March
    )
    url = "/api/v1/metrics/partner_example_notes_written"
    days = await client.get(
        url,
        headers=org.headers,
        params={"from": "2025-03-07", "to": "2025-03-11", "period": "day", "time_zone": chicago},
    )
    assert days.status_code == 200, days.text
    body = days.json()
    assert [(p["period"], p["value"]) for p in body["series"][0]["points"]] == [
        ("2025-03-07", 1.0),
        ("2025-03-08", 2.0),
        ("2025-03-09", 1.0),
        ("2025-03-10", 1.0),
        ("2025-03-11", 0.0),  # an empty period of a count is zero
    ]
    assert body["total"] == {"value": 5.0, "count": 5}
    assert (body["series"][0]["dimension"], body["by"], body["time_zone"]) == (None, None, chicago)

    weeks = await client.get(
        url,
        headers=org.headers,
        params={"from": "2025-03-03", "to": "2025-03-16", "period": "week", "time_zone": chicago},
    )
    assert [(p["period"], p["value"]) for p in weeks.json()["series"][0]["points"]] == [
        ("2025-03-03", 4.0),  # Monday 3rd to Sunday 9th, local
        ("2025-03-10", 1.0),
    ]
    months = await client.get(
        url,
        headers=org.headers,
        params={"from": "2025-03-01", "to": "2025-04-30", "period": "month", "time_zone": chicago},
    )
    assert [(p["period"], p["value"]) for p in months.json()["series"][0]["points"]] == [
        ("2025-03-01", 6.0),
        ("2025-04-01", 0.0),
    ]
    # The same instants in UTC fall on other days.
    utc = await client.get(
        url, headers=org.headers, params={"from": "2025-03-07", "to": "2025-03-10", "period": "day", "time_zone": "UTC"}
    )
    assert [p["value"] for p in utc.json()["series"][0]["points"]] == [0.0, 2.0, 1.0, 2.0]


async def test_bad_parameters_are_problems(client: Any, org: Any) -> None:
    await enable_module(client, org, "metrics")
    await enable_module(client, org, "partner_example")
    url = "/api/v1/metrics/partner_example_notes_written"
    cases = [
        ({"period": "year"}, 400),
        ({"from": "2025-13-01"}, 400),
        ({"from": "2025-03-10", "to": "2025-03-01"}, 400),
        ({"from": "2020-01-01", "to": "2025-01-01", "period": "day"}, 400),
        ({"time_zone": "Mars/Olympus_Mons"}, 400),
        ({"by": "coordinator"}, 400),  # the metric has no dimensions
        ({"by": "planet"}, 400),
    ]
    for params, status in cases:
        response = await client.get(url, headers=org.headers, params=params)
        assert response.status_code == status, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json"), params
    dashboard = await client.get("/api/v1/metrics/dashboard", headers=org.headers, params={"period": "year"})
    assert dashboard.status_code == 400


async def test_dashboard_has_the_current_and_previous_period_of_every_metric(
    client: Any, org: Any, owner_db: Any
) -> None:
    await enable_module(client, org, "metrics", {"targets": {"partner_example_notes_written": 2}})
    await enable_module(client, org, "partner_example")
    now = datetime.now(UTC)
    await write_notes(client, org, owner_db, now - timedelta(seconds=1), now - timedelta(seconds=2))
    response = await client.get("/api/v1/metrics/dashboard", headers=org.headers, params={"period": "month"})
    assert response.status_code == 200, response.text
    body = response.json()
    (card,) = [i for i in body["items"] if i["name"] == "partner_example_notes_written"]
    assert card["current"]["value"] == 3.0  # the two, and the module's welcome note of the new patient
    assert card["target"] == 2
    assert card["status"] == "met"
    assert len(card["trend"]) == 8
    assert card["trend"][-1] == card["current"]
    assert card["trend"][-2] == card["previous"]
    assert card["previous"]["value"] == 0.0


async def test_metrics_need_the_permission_and_stay_in_the_tenant(
    client: Any, org: Any, other_org: Any, owner_db: Any
) -> None:
    from tests.conftest import add_user

    for tenant in (org, other_org):
        await enable_module(client, tenant, "metrics")
        await enable_module(client, tenant, "partner_example")
    at = datetime(2025, 6, 4, 15, tzinfo=UTC)
    await write_notes(client, org, owner_db, at, at)
    params = {"from": "2025-06-01", "to": "2025-06-30", "period": "month"}
    url = "/api/v1/metrics/partner_example_notes_written"
    mine = (await client.get(url, headers=org.headers, params=params)).json()
    theirs = (await client.get(url, headers=other_org.headers, params=params)).json()
    assert (mine["total"]["value"], theirs["total"]["value"]) == (2.0, 0.0)
    clinician = await add_user(client, org, "clinician")
    assert (await client.get(url, headers=clinician, params=params)).status_code == 403
    viewer = await add_user(client, org, "viewer")
    assert (await client.get(url, headers=viewer, params=params)).status_code == 200
    assert (await client.get(url, params=params)).status_code == 401


async def test_the_dashboard_shows_every_headline_metric_of_every_enabled_module(
    client: Any, org: Any, owner_db: Any
) -> None:
    for module in ("metrics", "referrals", "insurance", "reminders", "partner_example"):
        await enable_module(client, org, module)
    now = datetime.now(UTC)
    await write_notes(client, org, owner_db, now - timedelta(seconds=1))
    catalogue = (await client.get("/api/v1/metrics", headers=org.headers)).json()["items"]
    modules = {m["module"] for m in catalogue}
    assert modules == {"metrics", "referrals", "insurance", "reminders", "partner_example"}
    body = (await client.get("/api/v1/metrics/dashboard", headers=org.headers, params={"period": "week"})).json()
    shown = [card["name"] for card in body["items"]]
    drill_downs = {m["name"] for m in catalogue if not m["dashboard"]}
    assert drill_downs == {
        f"referral_median_hours_{s}" for s in ("sent", "received", "accepted", "scheduled", "seen", "on_hold")
    }
    assert len(drill_downs) == 6
    assert sorted(shown) == sorted(m["name"] for m in catalogue if m["name"] not in drill_downs)
    # each card, computed on a connection of its own, says what the series API says for the same weeks
    card = next(c for c in body["items"] if c["name"] == "partner_example_notes_written")
    series = await client.get(
        "/api/v1/metrics/partner_example_notes_written",
        headers=org.headers,
        params={
            "from": card["trend"][0]["period"],
            "to": card["current"]["period"],
            "period": "week",
            "time_zone": body["time_zone"],
        },
    )
    assert [p["value"] for p in series.json()["series"][0]["points"]] == [p["value"] for p in card["trend"]]


async def test_closed_periods_come_from_the_cache_until_it_expires_or_is_refreshed(
    client: Any, org: Any, owner_db: Any, app_loop: Any
) -> None:
    from core.testing.fixtures import run_periodic_job

    await enable_module(client, org, "metrics")
    await enable_module(client, org, "partner_example")
    url = "/api/v1/metrics/dashboard"
    params = {"period": "week"}  # in the organization's zone, as the warming job computes it

    def notes_card(body: dict[str, Any]) -> dict[str, Any]:
        return next(c for c in body["items"] if c["name"] == "partner_example_notes_written")

    first = notes_card((await client.get(url, headers=org.headers, params=params)).json())
    four_weeks_ago = datetime.fromisoformat(first["trend"][-5]["period"]).replace(hour=12, tzinfo=UTC)
    cached = await owner_db.fetchval(
        "select count(*) from metric_dashboard_cache where tenant_id = $1 and metric = $2 and period = 'week'",
        org.tenant_id,
        "partner_example_notes_written",
    )
    assert cached == 7  # the closed weeks; the current one is never cached

    await write_notes(client, org, owner_db, four_weeks_ago, four_weeks_ago)  # late data in a closed week
    again = notes_card((await client.get(url, headers=org.headers, params=params)).json())
    assert again["trend"][-5]["value"] == first["trend"][-5]["value"] == 0.0  # still the cached figure
    assert again["current"]["value"] == first["current"]["value"] + 1  # the new patient's welcome note: live

    refreshed = notes_card((await client.get(url, headers=org.headers, params={**params, "refresh": "true"})).json())
    assert refreshed["trend"][-5]["value"] == 2.0

    await write_notes(client, org, owner_db, four_weeks_ago)
    await owner_db.execute(
        "update metric_dashboard_cache set computed_at = computed_at - interval '61 minutes' where tenant_id = $1",
        org.tenant_id,
    )
    expired = notes_card((await client.get(url, headers=org.headers, params=params)).json())
    assert expired["trend"][-5]["value"] == 3.0

    # the warming job recomputes every closed period of the week and month dashboards
    await write_notes(client, org, owner_db, four_weeks_ago)
    assert await run_periodic_job(app_loop, org, "metrics.warm_dashboard") == "done"
    warmed = notes_card((await client.get(url, headers=org.headers, params=params)).json())
    assert warmed["trend"][-5]["value"] == 4.0
