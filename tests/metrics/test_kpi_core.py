"""The core KPIs (plugins/metrics/core_metrics.py): no-shows, overdue tasks, complete patient records.

Appointments, tasks, care teams and patients are made over HTTP, then dated in March 2026 by SQL;
the organization is in Chicago, so an event late on March 31 local time is April 1 in UTC. The HTTP
tests need the metrics module to register ``CORE_METRICS`` (plugins/metrics/hooks.py).
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from core.testing.fixtures import add_user, create_patient, enable_module
from plugins.metrics.core_metrics import (
    CORE_METRICS,
    DOCUMENTATION_FACTS,
    NO_SHOW_FACTS,
    TASK_OVERDUE_RATE_FACTS,
    TASKS_OVERDUE_FACTS,
)
from tests.metrics.kpi_support import (
    CHICAGO,
    local_window,
    points,
    practitioner,
    primary_coordinator,
    run_facts,
    series_of,
    user_id,
    utc,
)

MARCH = local_window(date(2026, 3, 1), date(2026, 4, 1))
MONTHS = {"first": "2026-02-01", "last": "2026-04-30", "period": "month"}
_slots = itertools.count()
PATHS = {
    "fulfilled": ["arrived", "fulfilled"],
    "noshow": ["noshow"],
    "cancelled": ["cancelled"],
    "booked": [],
    "entered-in-error": ["arrived", "fulfilled", "entered-in-error"],
}


@pytest.fixture
async def clinic(client: Any, org: Any) -> dict[str, Any]:
    await enable_module(client, org, "metrics")
    zone = await client.patch("/api/v1/tenant", headers=org.headers, json={"time_zone": CHICAGO})
    assert zone.status_code == 200, zone.text
    coordinator = await user_id(client, await add_user(client, org, "coordinator"))
    return {"coordinator": coordinator, "house": await practitioner(client, org)}


async def _dated(owner_db: Any, sql: str, *args: Any) -> None:
    assert await owner_db.execute(sql, *args) == "UPDATE 1", sql


# -- no-shows -----------------------------------------------------------------------------------------


async def _appointment(
    client: Any, org: Any, owner_db: Any, patient_id: str, status: str, start: str, **extra: Any
) -> str:
    slot = datetime(2031, 4, 7, tzinfo=UTC) + timedelta(hours=next(_slots))
    response = await client.post(
        "/api/v1/appointments",
        headers=org.headers,
        json={
            "patient_id": patient_id,
            "start": slot.isoformat(),
            "end": (slot + timedelta(minutes=30)).isoformat(),
            "time_zone": CHICAGO,
            **extra,
        },
    )
    assert response.status_code == 201, response.text
    appointment_id = str(response.json()["id"])
    for step in PATHS[status]:
        moved = await client.post(
            f"/api/v1/appointments/{appointment_id}/transition", headers=org.headers, json={"status": step}
        )
        assert moved.status_code == 200, moved.text
    await _dated(
        owner_db,
        "update appointments set start_at = $2, end_at = $2::timestamptz + interval '30 minutes' where id = $1",
        uuid.UUID(appointment_id),
        utc(start),
    )
    return appointment_id


@pytest.fixture
async def visits(client: Any, org: Any, owner_db: Any, clinic: dict[str, Any]) -> dict[str, Any]:
    q1, q2, gone = [str((await create_patient(client, org))["id"]) for _ in range(3)]
    await primary_coordinator(client, org, q1, clinic["coordinator"])
    house = {"practitioner_id": clinic["house"]}
    await _appointment(client, org, owner_db, q1, "fulfilled", "2026-03-10T15:00", **house)
    await _appointment(client, org, owner_db, q1, "noshow", "2026-03-11T15:00", **house)
    await _appointment(client, org, owner_db, q2, "cancelled", "2026-03-12T16:00")
    await _appointment(client, org, owner_db, q2, "booked", "2026-03-13T15:00")
    await _appointment(client, org, owner_db, q2, "fulfilled", "2026-03-12T15:00")
    await _appointment(client, org, owner_db, q2, "entered-in-error", "2026-03-15T15:00")
    await _appointment(client, org, owner_db, q2, "noshow", "2026-04-01T03:00")  # 22:00 on March 31 in Chicago
    await _appointment(client, org, owner_db, q2, "noshow", "2026-02-11T15:00")
    await _appointment(client, org, owner_db, gone, "noshow", "2026-03-14T15:00")
    assert (await client.delete(f"/api/v1/patients/{gone}", headers=org.headers)).status_code == 204
    return clinic


async def test_no_show_facts_are_fulfilled_and_missed_visits_by_start(
    client: Any, org: Any, app_loop: Any, visits: dict[str, Any]
) -> None:
    rows = await run_facts(app_loop, org, NO_SHOW_FACTS, *MARCH)
    assert [(r["at"], r["value"]) for r in rows] == [
        (utc("2026-03-10T15:00"), 0.0),
        (utc("2026-03-11T15:00"), 1.0),
        (utc("2026-03-12T15:00"), 0.0),
        (utc("2026-04-01T03:00"), 1.0),
    ]  # not the cancelled, the booked, the one entered in error, nor the deleted patient's no-show
    assert [str(r["provider_id"]) if r["provider_id"] else None for r in rows] == [
        visits["house"],
        visits["house"],
        None,
        None,
    ]
    assert [r["coordinator_id"] for r in rows] == [visits["coordinator"], visits["coordinator"], None, None]


async def test_no_show_rate_per_month_zone_and_dimension(client: Any, org: Any, visits: dict[str, Any]) -> None:
    body = await series_of(client, org, "no_show_rate_pct", **MONTHS)
    assert (body["unit"], body["target"], body["better"], body["time_zone"]) == ("%", 10.0, "lower", CHICAGO)
    assert points(body) == {"2026-02-01": (100.0, 1), "2026-03-01": (50.0, 4), "2026-04-01": (None, 0)}
    in_utc = await series_of(client, org, "no_show_rate_pct", time_zone="UTC", **MONTHS)
    assert points(in_utc) == {"2026-02-01": (100.0, 1), "2026-03-01": (33.33, 3), "2026-04-01": (100.0, 1)}
    march = {"first": "2026-03-01", "last": "2026-03-31", "period": "month"}
    by_provider = await series_of(client, org, "no_show_rate_pct", by="provider", **march)
    assert points(by_provider, visits["house"])["2026-03-01"] == (50.0, 2)
    by_coordinator = await series_of(client, org, "no_show_rate_pct", by="coordinator", **march)
    assert points(by_coordinator, str(visits["coordinator"]))["2026-03-01"] == (50.0, 2)
    team = await client.post("/api/v1/teams", headers=org.headers, json={"name": "North"})
    assert team.status_code == 201, team.text
    joined = await client.patch(
        f"/api/v1/users/{visits['coordinator']}", headers=org.headers, json={"team_id": team.json()["id"]}
    )
    assert joined.status_code == 200, joined.text
    by_team = await series_of(client, org, "no_show_rate_pct", by="team", **march)
    assert [s["dimension"]["label"] for s in by_team["series"]] == ["North", "(none)"]
    assert points(by_team, team.json()["id"])["2026-03-01"] == (50.0, 2)
    assert points(by_team, None)["2026-03-01"] == (50.0, 2)
    empty = await series_of(client, org, "no_show_rate_pct", first="2025-01-01", last="2025-01-31", period="month")
    assert empty["total"] == {"value": None, "count": 0}


# -- overdue tasks --------------------------------------------------------------------------------------


async def _task(
    client: Any, org: Any, owner_db: Any, due: str, steps: list[str], closed: str | None = None, **body: Any
) -> str:
    response = await client.post(
        "/api/v1/tasks", headers=org.headers, json={"title": "Call the patient", "due_at": due + ":00+00:00", **body}
    )
    assert response.status_code == 201, response.text
    task_id = str(response.json()["id"])
    for step in steps:
        moved = await client.post(f"/api/v1/tasks/{task_id}/transition", headers=org.headers, json={"status": step})
        assert moved.status_code == 200, moved.text
    if closed is not None:
        await _dated(
            owner_db,
            "update task_status_history set changed_at = $3 where task_id = $1 and to_status = $2",
            uuid.UUID(task_id),
            steps[-1],
            utc(closed),
        )
    return task_id


@pytest.fixture
async def tasks(client: Any, org: Any, owner_db: Any, clinic: dict[str, Any]) -> dict[str, Any]:
    mine = {"owner_user_id": str(clinic["coordinator"])}
    await _task(client, org, owner_db, "2026-03-10T12:00", [], **mine)  # TA: still open
    await _task(client, org, owner_db, "2026-03-10T12:00", ["ready", "completed"], "2026-03-12T12:00", **mine)  # TB
    await _task(client, org, owner_db, "2026-03-10T12:00", ["ready", "completed"], "2026-03-10T11:00", **mine)  # TC
    await _task(client, org, owner_db, "2026-03-11T12:00", ["cancelled"], "2026-03-11T20:00", **mine)  # TD
    await _task(client, org, owner_db, "2026-03-09T12:00", ["entered-in-error"], "2026-03-09T20:00")  # TE
    await _task(client, org, owner_db, "2026-03-12T04:30", [], owner_role="coordinator")  # TF: 23:30 on the 11th
    gone = str((await create_patient(client, org))["id"])
    await _task(client, org, owner_db, "2026-03-09T12:00", [], patient_id=gone, focus_type="patient")  # TG
    assert (await client.delete(f"/api/v1/patients/{gone}", headers=org.headers)).status_code == 204
    response = await client.post("/api/v1/tasks", headers=org.headers, json={"title": "Whenever"})  # no due date
    assert response.status_code == 201, response.text
    return clinic


async def test_overdue_task_facts_run_from_due_until_closed(
    client: Any, org: Any, app_loop: Any, tasks: dict[str, Any]
) -> None:
    window = local_window(date(2026, 3, 9), date(2026, 3, 14))
    rows = await run_facts(app_loop, org, TASKS_OVERDUE_FACTS, *window)
    assert len(rows) == 4
    assert {(r["at"], r["until"]) for r in rows} == {
        (utc("2026-03-10T12:00"), None),  # TA
        (utc("2026-03-10T12:00"), utc("2026-03-12T12:00")),  # TB
        (utc("2026-03-11T12:00"), utc("2026-03-11T20:00")),  # TD: overdue for eight hours
        (utc("2026-03-12T04:30"), None),  # TF
    }  # TC was done before it was due; TE was entered in error; TG's patient is deleted
    owners = {r["coordinator_id"] for r in rows}
    assert owners == {tasks["coordinator"], None}
    rate = await run_facts(app_loop, org, TASK_OVERDUE_RATE_FACTS, *window)
    assert [(r["at"], r["value"]) for r in rate] == [
        (utc("2026-03-10T12:00"), 0.0),  # TC, done an hour early
        (utc("2026-03-10T12:00"), 1.0),
        (utc("2026-03-10T12:00"), 1.0),
        (utc("2026-03-11T12:00"), 1.0),
        (utc("2026-03-12T04:30"), 1.0),
    ]


async def test_tasks_overdue_at_the_end_of_each_local_day(client: Any, org: Any, tasks: dict[str, Any]) -> None:
    days = {"first": "2026-03-09", "last": "2026-03-13", "period": "day"}
    body = await series_of(client, org, "tasks_overdue", **days)
    assert (body["unit"], body["better"]) == ("count", "lower")
    assert {p: v for p, (v, _) in points(body).items()} == {
        "2026-03-09": 0.0,
        "2026-03-10": 2.0,  # TA, TB
        "2026-03-11": 3.0,  # and TF, due 23:30; TD was done by then
        "2026-03-12": 2.0,  # TB completed at noon UTC
        "2026-03-13": 2.0,
    }
    in_utc = await series_of(client, org, "tasks_overdue", time_zone="UTC", **days)
    assert points(in_utc)["2026-03-11"][0] == 2.0  # TF is due at 04:30 UTC on the 12th
    by_owner = await series_of(client, org, "tasks_overdue", by="coordinator", **days)
    assert {p: v for p, (v, _) in points(by_owner, str(tasks["coordinator"])).items()} == {
        "2026-03-09": 0.0,
        "2026-03-10": 2.0,
        "2026-03-11": 2.0,
        "2026-03-12": 1.0,
        "2026-03-13": 1.0,
    }
    rate = await series_of(client, org, "task_overdue_rate_pct", first="2026-03-09", last="2026-03-13", period="week")
    assert points(rate) == {"2026-03-09": (80.0, 5)}


# -- documentation completeness -------------------------------------------------------------------------

COMPLETE: dict[str, Any] = {
    "phone": "+1 312 555 0101",
    "address": {"line": ["1 Main St"], "city": "Chicago", "postal_code": "60601"},
    "communication": {"language": "es"},
}


async def _registered(
    client: Any, org: Any, owner_db: Any, created: str, pcp: str | None, *, pcp_until: str | None = None, **fields: Any
) -> str:
    patient_id = str((await create_patient(client, org, **{**COMPLETE, **fields}))["id"])
    if pcp is not None:
        member: dict[str, Any] = {
            "practitioner_id": pcp,
            "role": "primary_care_physician",
            "period_start": "2025-01-01",
        }
        if pcp_until is not None:
            member["period_end"] = pcp_until
        added = await client.post(f"/api/v1/patients/{patient_id}/care-team", headers=org.headers, json=member)
        assert added.status_code == 201, added.text
    await _dated(owner_db, "update patients set created_at = $2 where id = $1", uuid.UUID(patient_id), utc(created))
    return patient_id


@pytest.fixture
async def registered(client: Any, org: Any, owner_db: Any, clinic: dict[str, Any]) -> dict[str, Any]:
    pcp = clinic["house"]
    p1 = await _registered(client, org, owner_db, "2026-03-10T15:00", pcp)
    await primary_coordinator(client, org, p1, clinic["coordinator"])
    await _registered(client, org, owner_db, "2026-03-11T15:00", pcp, communication={})  # no language
    await _registered(client, org, owner_db, "2026-03-12T15:00", pcp, phone=None, email="ana@example.org")
    await _registered(client, org, owner_db, "2026-03-13T15:00", None)  # no primary-care physician
    await _registered(client, org, owner_db, "2026-03-14T15:00", pcp, pcp_until="2026-01-31")  # no longer
    await _registered(client, org, owner_db, "2026-03-16T15:00", pcp, address={"city": "Chicago"})  # no street
    gone = await _registered(client, org, owner_db, "2026-03-15T15:00", pcp)
    assert (await client.delete(f"/api/v1/patients/{gone}", headers=org.headers)).status_code == 204
    await _registered(client, org, owner_db, "2026-04-01T04:00", pcp)  # 23:00 on March 31 in Chicago
    await _registered(client, org, owner_db, "2026-02-10T15:00", pcp)
    return clinic


async def test_documentation_facts_are_patients_registered_and_complete(
    client: Any, org: Any, app_loop: Any, registered: dict[str, Any]
) -> None:
    rows = await run_facts(app_loop, org, DOCUMENTATION_FACTS, *MARCH)
    assert [(r["at"], r["value"]) for r in rows] == [
        (utc("2026-03-10T15:00"), 1.0),
        (utc("2026-03-11T15:00"), 0.0),
        (utc("2026-03-12T15:00"), 1.0),  # an e-mail address is enough
        (utc("2026-03-13T15:00"), 0.0),
        (utc("2026-03-14T15:00"), 0.0),
        (utc("2026-03-16T15:00"), 0.0),
        (utc("2026-04-01T04:00"), 1.0),
    ]  # the deleted patient is not there
    assert rows[0]["coordinator_id"] == registered["coordinator"]
    assert {r["coordinator_id"] for r in rows[1:]} == {None}


async def test_documentation_completeness_per_month(client: Any, org: Any, registered: dict[str, Any]) -> None:
    body = await series_of(client, org, "documentation_completeness_pct", **MONTHS)
    assert (body["target"], body["better"]) == (95.0, "higher")
    assert points(body) == {"2026-02-01": (100.0, 1), "2026-03-01": (42.86, 7), "2026-04-01": (None, 0)}
    in_utc = await series_of(client, org, "documentation_completeness_pct", time_zone="UTC", **MONTHS)
    assert points(in_utc)["2026-03-01"] == (33.33, 6)
    assert points(in_utc)["2026-04-01"] == (100.0, 1)
    by_coordinator = await series_of(
        client,
        org,
        "documentation_completeness_pct",
        by="coordinator",
        first="2026-03-01",
        last="2026-03-31",
        period="month",
    )
    assert points(by_coordinator, str(registered["coordinator"]))["2026-03-01"] == (100.0, 1)
    assert points(by_coordinator, None)["2026-03-01"] == (33.33, 6)


async def test_the_core_metrics_are_the_metrics_modules(client: Any, org: Any) -> None:
    await enable_module(client, org, "metrics")
    listed = {m["name"]: m for m in (await client.get("/api/v1/metrics", headers=org.headers)).json()["items"]}
    for spec in CORE_METRICS:
        shown = listed[spec.name]
        assert (shown["module"], shown["category"], shown["aggregate"]) == ("metrics", spec.category, spec.aggregate)
    assert listed["tasks_overdue"]["dimensions"] == ["coordinator", "team"]
    assert listed["no_show_rate_pct"]["dimensions"] == ["coordinator", "team", "provider"]
