"""Care plans: goals with measured progress, activities, state machines and versioned history.

The lifecycles and the progress arithmetic are unit-tested directly; everything else
goes through HTTP against the real database: creating a plan with goals and
activities, measuring progress, the version history (who, when, what, snapshot),
every legal and illegal plan transition, tenant isolation on every route that takes
an id, ids of another plan, and bad input answered with problem bodies.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from core.care.plans.states import (
    ACTIVITY_TRANSITIONS,
    GOAL_TRANSITIONS,
    PLAN_TRANSITIONS,
    IllegalTransitionError,
    check_transition,
    goal_progress,
)
from tests.conftest import Org, add_user, create_patient

Client = AsyncTestClient[Any]

LEAKS = re.compile(r"Traceback|asyncpg|SELECT|select |File \"|site-packages|\.py\b|/usr/|/work/")
PLAN_STATUSES = ["draft", "active", "on-hold", "revoked", "completed", "entered-in-error"]
REQUEST_ID = "care-plan-probe-0001"


# -- helpers ------------------------------------------------------------------------------------------------


def assert_problem(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, f"{response.status_code}: {response.text}"
    if statuses:
        assert response.status_code in statuses, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    assert not LEAKS.search(response.text), response.text
    body = response.json()
    assert body["status"] == response.status_code
    assert body["title"]
    assert body["detail"]
    return dict(body)


def assert_names_field(body: dict[str, Any], field: str) -> None:
    errors = body.get("errors")
    assert isinstance(errors, list), body
    assert errors, body
    assert any(field in e.get("key", "") or field in e.get("message", "") for e in errors), (field, errors)


PLAN_BODY: dict[str, Any] = {
    "title": "Diabetes management",
    "description": "Bring HbA1c under control within six months",
    "period_start": "2026-01-05",
    "period_end": "2026-07-05",
    "goals": [
        {
            "description": "Lower HbA1c",
            "target": "HbA1c < 7%",
            "target_value": 7.0,
            "unit": "%",
            "due_date": "2026-06-30",
            "status": "accepted",
        },
        {"description": "Walk 30 minutes a day", "status": "proposed"},
    ],
    "activities": [
        {"kind": "education", "description": "Diabetes self-management class", "due_date": "2026-02-01"},
        {"kind": "appointment", "description": "Endocrinology follow-up", "status": "scheduled"},
    ],
}


async def create_plan(client: Client, org: Org, patient_id: str, **overrides: Any) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/patients/{patient_id}/care-plans", headers=org.headers, json={**PLAN_BODY, **overrides}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def transition(client: Client, org: Org, plan_id: str, status: str, **extra: Any) -> httpx.Response:
    return await client.post(
        f"/api/v1/care-plans/{plan_id}/transition", headers=org.headers, json={"status": status, **extra}
    )


async def versions(client: Client, org: Org, plan_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/care-plans/{plan_id}/versions", headers=org.headers)
    assert response.status_code == 200, response.text
    return list(response.json())


async def audit_items(client: Client, org: Org, **filters: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/audit-events", headers=org.headers, params=filters)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def path_to(status: str) -> list[str]:
    """The shortest chain of legal moves from draft to ``status``."""
    paths: dict[str, list[str]] = {"draft": []}
    frontier = ["draft"]
    while frontier:
        current = frontier.pop(0)
        for nxt in sorted(PLAN_TRANSITIONS[current]):
            if nxt not in paths:
                paths[nxt] = [*paths[current], nxt]
                frontier.append(nxt)
    return paths[status]


# -- unit: lifecycles and progress ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("what", "table"),
    [("plan", PLAN_TRANSITIONS), ("goal", GOAL_TRANSITIONS), ("activity", ACTIVITY_TRANSITIONS)],
)
def test_every_pair_of_states_is_legal_exactly_when_the_table_says(what: str, table: dict[str, frozenset[str]]) -> None:
    assert all(targets <= set(table) for targets in table.values()), "a target state is not a state"
    for current, requested in itertools.product(table, repeat=2):
        if requested in table[current]:
            check_transition(what, table, current, requested)
        else:
            with pytest.raises(IllegalTransitionError) as caught:
                check_transition(what, table, current, requested)
            assert (caught.value.current, caught.value.requested) == (current, requested)
            assert current in str(caught.value)
            assert requested in str(caught.value)


def test_plan_lifecycle_follows_fhir() -> None:
    assert set(PLAN_TRANSITIONS) == set(PLAN_STATUSES)
    assert PLAN_TRANSITIONS["entered-in-error"] == frozenset()
    assert not any(s in PLAN_TRANSITIONS[s] for s in PLAN_STATUSES), "no state moves to itself"
    assert all("entered-in-error" in PLAN_TRANSITIONS[s] for s in PLAN_STATUSES if s != "entered-in-error")
    assert "active" not in PLAN_TRANSITIONS["completed"]
    assert "draft" not in PLAN_TRANSITIONS["active"]


def test_plan_lifecycle_is_exactly_the_documented_one() -> None:
    legal = {(current, nxt) for current, targets in PLAN_TRANSITIONS.items() for nxt in targets}
    assert legal == {
        ("draft", "active"),
        ("draft", "revoked"),
        ("draft", "entered-in-error"),
        ("active", "on-hold"),
        ("active", "completed"),
        ("active", "revoked"),
        ("active", "entered-in-error"),
        ("on-hold", "active"),
        ("on-hold", "revoked"),
        ("on-hold", "entered-in-error"),
        ("completed", "entered-in-error"),
        ("revoked", "entered-in-error"),
    }


def test_unknown_current_state_allows_nothing() -> None:
    with pytest.raises(IllegalTransitionError):
        check_transition("plan", PLAN_TRANSITIONS, "bogus", "active")


@pytest.mark.parametrize(
    ("target", "baseline", "latest", "expected"),
    [
        # lower is better: HbA1c 9 -> 8 toward 7 is half way
        ("7", "9", "8", ("50.0", False)),
        ("7", "9", "7", ("100.0", True)),
        ("7", "9", "6.5", ("100.0", True)),  # overshooting is capped
        ("7", "9", "9.5", ("0.0", False)),  # getting worse is 0, never negative
        ("7", "9", "9", ("0.0", False)),
        # higher is better: walking 10 -> 25 toward 30 minutes
        ("30", "10", "25", ("75.0", False)),
        ("30", "10", "30", ("100.0", True)),
        ("30", "10", "5", ("0.0", False)),
        ("30", "10", "11", ("5.0", False)),
        ("3", "0", "1", ("33.3", False)),
        # the baseline already on target
        ("7", "7", "7", ("100", True)),
        ("7", "7", "7.5", ("0", False)),
    ],
)
def test_goal_progress(target: str, baseline: str, latest: str, expected: tuple[str, bool]) -> None:
    result = goal_progress(Decimal(target), Decimal(baseline), Decimal(latest))
    assert result is not None
    assert result == (Decimal(baseline), Decimal(latest), Decimal(expected[0]), expected[1])


def test_goal_progress_needs_a_target_and_a_measurement() -> None:
    assert goal_progress(None, Decimal(9), Decimal(8)) is None
    assert goal_progress(Decimal(7), None, None) is None


# -- creating, measuring, versioning --------------------------------------------------------------------------


async def test_create_plan_with_goals_and_activities(client: Client, org: Org) -> None:
    patient = await create_patient(client, org)
    plan = await create_plan(client, org, patient["id"])

    assert plan["patient_id"] == patient["id"]
    assert plan["status"] == "draft"
    assert plan["version"] == 1
    assert plan["created_by"] == str(org.owner_id)
    assert [g["description"] for g in plan["goals"]] == ["Lower HbA1c", "Walk 30 minutes a day"]
    hba1c = plan["goals"][0]
    assert (hba1c["target"], hba1c["target_value"], hba1c["unit"], hba1c["due_date"]) == (
        "HbA1c < 7%",
        7.0,
        "%",
        "2026-06-30",
    )
    assert hba1c["status"] == "accepted"
    assert (hba1c["measurement_count"], hba1c["latest_measurement"], hba1c["progress"]) == (0, None, None)
    assert [(a["kind"], a["status"]) for a in plan["activities"]] == [
        ("education", "not-started"),
        ("appointment", "scheduled"),
    ]

    read = await client.get(f"/api/v1/care-plans/{plan['id']}", headers=org.headers)
    assert read.status_code == 200, read.text
    assert read.json() == plan

    listed = await client.get(f"/api/v1/patients/{patient['id']}/care-plans", headers=org.headers)
    assert listed.status_code == 200, listed.text
    assert [p["id"] for p in listed.json()] == [plan["id"]]
    assert "goals" not in listed.json()[0]

    only_active = await client.get(
        f"/api/v1/patients/{patient['id']}/care-plans", headers=org.headers, params={"status": "active"}
    )
    assert only_active.json() == []

    # Another patient's list does not show it.
    other = await create_patient(client, org)
    empty = await client.get(f"/api/v1/patients/{other['id']}/care-plans", headers=org.headers)
    assert empty.json() == []

    # Reads and writes of patient data are audited; the list names what it showed.
    listing = await audit_items(client, org, action="care_plan.list", resource_id=patient["id"])
    assert listing[-1]["details"]["resource_ids"] == [plan["id"]]
    assert await audit_items(client, org, action="care_plan.read", resource_id=plan["id"])
    created = await audit_items(client, org, action="care_plan.create", resource_id=plan["id"])
    assert created[0]["details"]["patient_id"] == patient["id"]
    assert created[0]["actor_id"] == str(org.owner_id)


async def test_measurements_show_progress_on_the_goal(client: Client, org: Org) -> None:
    patient = await create_patient(client, org)
    plan = await create_plan(client, org, patient["id"])
    goal_id = plan["goals"][0]["id"]
    url = f"/api/v1/care-plans/{plan['id']}/goals/{goal_id}/measurements"

    first = await client.post(
        url, headers=org.headers, json={"value": 9.0, "measured_at": "2026-01-10T09:00:00-05:00", "note": "baseline"}
    )
    assert first.status_code == 201, first.text
    goal = first.json()
    assert goal["measurement_count"] == 1
    assert goal["latest_measurement"]["value"] == 9.0
    assert goal["latest_measurement"]["note"] == "baseline"
    assert goal["latest_measurement"]["recorded_by"] == str(org.owner_id)
    assert goal["progress"] == {
        "baseline_value": 9.0,
        "latest_value": 9.0,
        "target_value": 7.0,
        "percent": 0.0,
        "target_met": False,
    }

    second = await client.post(url, headers=org.headers, json={"value": 8.0, "measured_at": "2026-03-10T09:00:00Z"})
    assert second.status_code == 201, second.text
    assert second.json()["progress"]["percent"] == 50.0
    assert second.json()["latest_measurement"]["value"] == 8.0

    # A late entry of an older value does not become the latest: order is by measured_at.
    late = await client.post(url, headers=org.headers, json={"value": 8.6, "measured_at": "2026-02-10T09:00:00Z"})
    assert late.status_code == 201, late.text
    assert late.json()["latest_measurement"]["value"] == 8.0
    assert late.json()["measurement_count"] == 3

    reached = await client.post(url, headers=org.headers, json={"value": 6.8, "measured_at": "2026-05-10T09:00:00Z"})
    assert reached.json()["progress"] == {
        "baseline_value": 9.0,
        "latest_value": 6.8,
        "target_value": 7.0,
        "percent": 100.0,
        "target_met": True,
    }

    listed = await client.get(url, headers=org.headers)
    assert listed.status_code == 200, listed.text
    assert [m["value"] for m in listed.json()] == [9.0, 8.6, 8.0, 6.8]
    assert parse(listed.json()[0]["measured_at"]) == parse("2026-01-10T14:00:00Z")

    # The goal as the plan shows it carries the same progress; the plan went through 4 more versions.
    detail = (await client.get(f"/api/v1/care-plans/{plan['id']}", headers=org.headers)).json()
    assert detail["goals"][0] == reached.json()
    assert detail["version"] == 5
    # A goal without a target value has no progress, measurements or not.
    walk = detail["goals"][1]["id"]
    walked = await client.post(
        f"/api/v1/care-plans/{plan['id']}/goals/{walk}/measurements",
        headers=org.headers,
        json={"value": 20, "measured_at": "2026-05-10T09:00:00Z"},
    )
    assert walked.json()["progress"] is None
    assert walked.json()["latest_measurement"]["value"] == 20.0


async def test_version_history_records_who_when_and_the_whole_plan(client: Client, org: Org) -> None:
    patient = await create_patient(client, org)
    coordinator = await add_user(client, org, "coordinator")
    me = await client.get("/api/v1/me", headers=coordinator)
    coordinator_id = me.json()["id"] if me.status_code == 200 else None

    plan = await create_plan(client, org, patient["id"], goals=[], activities=[])
    plan_url = f"/api/v1/care-plans/{plan['id']}"

    renamed = await client.patch(plan_url, headers=org.headers, json={"title": "Diabetes plan 2026"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["version"] == 2

    goal = await client.post(
        f"{plan_url}/goals", headers=coordinator, json={"description": "Lower HbA1c", "target_value": 7}
    )
    assert goal.status_code == 201, goal.text
    assert goal.json()["status"] == "proposed"
    goal_id = goal.json()["id"]

    activity = await client.post(
        f"{plan_url}/activities", headers=org.headers, json={"kind": "task", "description": "Call about diet"}
    )
    assert activity.status_code == 201, activity.text
    activity_id = activity.json()["id"]

    accepted = await client.patch(
        f"{plan_url}/goals/{goal_id}", headers=org.headers, json={"status": "accepted", "due_date": "2026-06-30"}
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    started = await client.patch(
        f"{plan_url}/activities/{activity_id}", headers=org.headers, json={"status": "in-progress"}
    )
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "in-progress"
    measured = await client.post(
        f"{plan_url}/goals/{goal_id}/measurements",
        headers=org.headers,
        json={"value": 8.1, "measured_at": "2026-02-01T10:00:00+01:00"},
    )
    assert measured.status_code == 201, measured.text
    activated = await transition(client, org, plan["id"], "active", reason="agreed with patient")
    assert activated.status_code == 200, activated.text

    # A PATCH that changes nothing writes no version.
    unchanged = await client.patch(plan_url, headers=org.headers, json={})
    assert unchanged.status_code == 200, unchanged.text
    assert unchanged.json()["version"] == 8

    history = await versions(client, org, plan["id"])
    assert [v["version"] for v in history] == list(range(1, 9))
    summaries = [v["change_summary"] for v in history]
    assert summaries[0].startswith("plan created")
    assert summaries[1] == "plan updated: title"
    assert summaries[2] == f"goal {goal_id} added"
    assert summaries[3].startswith(f"activity {activity_id} (task) added")
    assert summaries[4] == f"goal {goal_id} updated: due_date, status (status proposed -> accepted)"
    assert summaries[5] == f"activity {activity_id} updated: status (status not-started -> in-progress)"
    assert summaries[6] == f"measurement 8.1 recorded on goal {goal_id}"
    assert summaries[7] == "status draft -> active: agreed with patient"
    who = [v["changed_by"] for v in history]
    assert who.count(str(org.owner_id)) == 7
    if coordinator_id is not None:
        assert who[2] == coordinator_id
    else:
        assert who[2] != str(org.owner_id)
    times = [parse(v["changed_at"]) for v in history]
    assert all(t.tzinfo is not None for t in times)
    assert times == sorted(times)

    # Each snapshot is the plan as it stood right after that change.
    v1 = (await client.get(f"{plan_url}/versions/1", headers=org.headers)).json()
    assert v1["version"] == 1
    assert v1["snapshot"]["title"] == "Diabetes management"
    assert v1["snapshot"]["goals"] == []
    assert v1["snapshot"]["status"] == "draft"
    v2 = (await client.get(f"{plan_url}/versions/2", headers=org.headers)).json()
    assert v2["snapshot"]["title"] == "Diabetes plan 2026"
    assert v2["snapshot"]["version"] == 2
    v5 = (await client.get(f"{plan_url}/versions/5", headers=org.headers)).json()
    assert v5["snapshot"]["goals"][0]["status"] == "accepted"
    assert v5["snapshot"]["activities"][0]["status"] == "not-started"
    v7 = (await client.get(f"{plan_url}/versions/7", headers=org.headers)).json()
    assert v7["snapshot"]["goals"][0]["latest_measurement"]["value"] == 8.1
    assert v7["snapshot"]["goals"][0]["progress"]["target_met"] is False
    latest = (await client.get(f"{plan_url}/versions/8", headers=org.headers)).json()
    current = (await client.get(plan_url, headers=org.headers)).json()
    assert latest["snapshot"] == current
    assert latest["changed_by"] == str(org.owner_id)

    # Paging through the history.
    page = await client.get(f"{plan_url}/versions", headers=org.headers, params={"after": 5, "limit": 2})
    assert [v["version"] for v in page.json()] == [6, 7]
    missing = await client.get(f"{plan_url}/versions/9", headers=org.headers)
    assert_problem(missing, 404)
    assert await audit_items(client, org, action="care_plan_version.read", resource_id=plan["id"])


# -- plan state machine over HTTP ---------------------------------------------------------------------------


@pytest.mark.parametrize("current", PLAN_STATUSES)
async def test_plan_transitions_legal_succeed_and_illegal_are_409(client: Client, org: Org, current: str) -> None:
    patient = await create_patient(client, org)

    async def plan_in(status: str) -> str:
        plan = await create_plan(client, org, patient["id"], goals=[], activities=[])
        for step in path_to(status):
            moved = await transition(client, org, plan["id"], step)
            assert moved.status_code == 200, moved.text
        return str(plan["id"])

    plan_id = await plan_in(current)
    before = await versions(client, org, plan_id)
    for requested in PLAN_STATUSES:
        if requested in PLAN_TRANSITIONS[current]:
            continue
        response = await transition(client, org, plan_id, requested)
        body = assert_problem(response, 409)
        assert body["current_status"] == current
        assert body["requested_status"] == requested
        assert current in body["detail"]
        assert requested in body["detail"]
    assert await versions(client, org, plan_id) == before, "a refused transition writes no version"

    for requested in sorted(PLAN_TRANSITIONS[current]):
        fresh = await plan_in(current)
        moved = await transition(client, org, fresh, requested)
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == requested
        last = (await versions(client, org, fresh))[-1]
        assert last["change_summary"] == f"status {current} -> {requested}"
        assert last["changed_by"] == str(org.owner_id)
        trail = await audit_items(client, org, action="care_plan.transition", resource_id=fresh)
        assert trail[0]["details"]["from"] == current
        assert trail[0]["details"]["to"] == requested


async def test_closed_plan_content_no_longer_changes(client: Client, org: Org) -> None:
    patient = await create_patient(client, org)
    plan = await create_plan(client, org, patient["id"])
    goal_id, activity_id = plan["goals"][0]["id"], plan["activities"][0]["id"]
    url = f"/api/v1/care-plans/{plan['id']}"
    for step in ("active", "completed"):
        assert (await transition(client, org, plan["id"], step)).status_code == 200

    attempts = [
        await client.patch(url, headers=org.headers, json={"title": "Reopened"}),
        await client.post(f"{url}/goals", headers=org.headers, json={"description": "More"}),
        await client.patch(f"{url}/goals/{goal_id}", headers=org.headers, json={"description": "Changed"}),
        await client.post(
            f"{url}/goals/{goal_id}/measurements",
            headers=org.headers,
            json={"value": 7, "measured_at": "2026-05-01T00:00:00Z"},
        ),
        await client.post(f"{url}/activities", headers=org.headers, json={"kind": "other", "description": "x"}),
        await client.patch(f"{url}/activities/{activity_id}", headers=org.headers, json={"status": "cancelled"}),
    ]
    for response in attempts:
        body = assert_problem(response, 409)
        assert body["current_status"] == "completed"
    assert (await client.get(url, headers=org.headers)).json()["version"] == 3


async def test_goal_and_activity_lifecycles_are_enforced(client: Client, org: Org) -> None:
    patient = await create_patient(client, org)
    plan = await create_plan(client, org, patient["id"])
    url = f"/api/v1/care-plans/{plan['id']}"
    goal_id, activity_id = plan["goals"][1]["id"], plan["activities"][0]["id"]

    bad_goal = await client.patch(f"{url}/goals/{goal_id}", headers=org.headers, json={"status": "completed"})
    body = assert_problem(bad_goal, 409)
    assert (body["current_status"], body["requested_status"]) == ("proposed", "completed")
    for step in ("accepted", "active", "completed"):
        moved = await client.patch(f"{url}/goals/{goal_id}", headers=org.headers, json={"status": step})
        assert moved.status_code == 200, moved.text
    achieved = await client.patch(f"{url}/goals/{goal_id}", headers=org.headers, json={"achievement": "achieved"})
    assert achieved.json()["achievement"] == "achieved"
    reopened = await client.patch(f"{url}/goals/{goal_id}", headers=org.headers, json={"status": "active"})
    assert_problem(reopened, 409)

    bad_activity = await client.patch(
        f"{url}/activities/{activity_id}", headers=org.headers, json={"status": "stopped"}
    )
    body = assert_problem(bad_activity, 409)
    assert (body["current_status"], body["requested_status"]) == ("not-started", "stopped")
    for step in ("in-progress", "completed"):
        moved = await client.patch(f"{url}/activities/{activity_id}", headers=org.headers, json={"status": step})
        assert moved.status_code == 200, moved.text
    restarted = await client.patch(
        f"{url}/activities/{activity_id}", headers=org.headers, json={"status": "in-progress"}
    )
    assert_problem(restarted, 409)
    # Restating the current status is not a transition.
    same = await client.patch(f"{url}/activities/{activity_id}", headers=org.headers, json={"status": "completed"})
    assert same.status_code == 200, same.text


async def test_linked_records_must_be_this_patients(client: Client, org: Org, owner_db: asyncpg.Connection) -> None:
    patient = await create_patient(client, org)
    other = await create_patient(client, org)
    plan = await create_plan(client, org, patient["id"], goals=[], activities=[])
    url = f"/api/v1/care-plans/{plan['id']}/activities"

    task_ids = {}
    for owner in (patient, other):
        task_ids[owner["id"]] = await owner_db.fetchval(
            "insert into tasks (tenant_id, title, status, patient_id) values ($1, 'Call patient', 'requested', $2) "
            "returning id",
            org.tenant_id,
            UUID(owner["id"]),
        )

    linked = await client.post(
        url,
        headers=org.headers,
        json={
            "kind": "task",
            "description": "Diet call",
            "linked_type": "task",
            "linked_id": str(task_ids[patient["id"]]),
        },
    )
    assert linked.status_code == 201, linked.text
    assert (linked.json()["linked_type"], linked.json()["linked_id"]) == ("task", str(task_ids[patient["id"]]))

    for linked_type, linked_id in (
        ("task", task_ids[other["id"]]),
        ("task", uuid4()),
        ("appointment", uuid4()),
    ):
        refused = await client.post(
            url,
            headers=org.headers,
            json={"kind": "other", "description": "x", "linked_type": linked_type, "linked_id": str(linked_id)},
        )
        assert_names_field(assert_problem(refused, 422), "linked_id")

    # Unlinking (both null) and relinking through PATCH.
    activity_id = linked.json()["id"]
    unlinked = await client.patch(
        f"{url}/{activity_id}", headers=org.headers, json={"linked_type": None, "linked_id": None}
    )
    assert unlinked.status_code == 200, unlinked.text
    assert unlinked.json()["linked_id"] is None
    relinked = await client.patch(
        f"{url}/{activity_id}",
        headers=org.headers,
        json={"linked_type": "task", "linked_id": str(task_ids[other["id"]])},
    )
    assert_problem(relinked, 422)


async def test_deleted_patients_plans_are_gone(client: Client, org: Org) -> None:
    patient = await create_patient(client, org)
    plan = await create_plan(client, org, patient["id"])
    assert (await client.delete(f"/api/v1/patients/{patient['id']}", headers=org.headers)).status_code == 204
    assert_problem(await client.get(f"/api/v1/care-plans/{plan['id']}", headers=org.headers), 404)
    assert_problem(await client.get(f"/api/v1/patients/{patient['id']}/care-plans", headers=org.headers), 404)


async def test_permissions(client: Client, org: Org) -> None:
    patient = await create_patient(client, org)
    plan = await create_plan(client, org, patient["id"])
    viewer = await add_user(client, org, "viewer")
    assert (await client.get(f"/api/v1/care-plans/{plan['id']}", headers=viewer)).status_code == 200
    assert_problem(await client.patch(f"/api/v1/care-plans/{plan['id']}", headers=viewer, json={"title": "No"}), 403)
    refused = await client.post(
        f"/api/v1/care-plans/{plan['id']}/transition", headers=viewer, json={"status": "active"}
    )
    assert_problem(refused, 403)
    assert (await client.get(f"/api/v1/care-plans/{plan['id']}", headers=org.headers)).json()["status"] == "draft"
    assert_problem(await client.get(f"/api/v1/care-plans/{plan['id']}"), 401)


# -- isolation: every route with an id -------------------------------------------------------------------------


@dataclass
class Ids:
    patient: str
    plan: str
    goal: str
    activity: str

    def values(self) -> tuple[str, ...]:
        return (self.patient, self.plan, self.goal, self.activity)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    body: dict[str, Any] | None = None

    def url(self, ids: Ids) -> str:
        return self.path.format(patient=ids.patient, plan=ids.plan, goal=ids.goal, activity=ids.activity)


MEASUREMENT = {"value": 7.5, "measured_at": "2026-04-01T08:00:00+02:00"}
ROUTES = [
    Route("GET", "/api/v1/patients/{patient}/care-plans"),
    Route("POST", "/api/v1/patients/{patient}/care-plans", {"title": "Intruder", "period_start": "2026-01-01"}),
    Route("GET", "/api/v1/care-plans/{plan}"),
    Route("PATCH", "/api/v1/care-plans/{plan}", {"title": "Intruder"}),
    Route("POST", "/api/v1/care-plans/{plan}/transition", {"status": "active"}),
    Route("POST", "/api/v1/care-plans/{plan}/goals", {"description": "Intruder"}),
    Route("PATCH", "/api/v1/care-plans/{plan}/goals/{goal}", {"status": "planned"}),
    Route("GET", "/api/v1/care-plans/{plan}/goals/{goal}/measurements"),
    Route("POST", "/api/v1/care-plans/{plan}/goals/{goal}/measurements", MEASUREMENT),
    Route("POST", "/api/v1/care-plans/{plan}/activities", {"kind": "other", "description": "Intruder"}),
    Route("PATCH", "/api/v1/care-plans/{plan}/activities/{activity}", {"status": "in-progress"}),
    Route("GET", "/api/v1/care-plans/{plan}/versions"),
    Route("GET", "/api/v1/care-plans/{plan}/versions/1"),
]
CHILD_ROUTES = [r for r in ROUTES if "{goal}" in r.path or "{activity}" in r.path]


async def make_ids(client: Client, org: Org) -> Ids:
    patient = await create_patient(client, org)
    plan = await create_plan(client, org, patient["id"])
    return Ids(patient["id"], plan["id"], plan["goals"][0]["id"], plan["activities"][0]["id"])


async def call(client: Client, org: Org, route: Route, ids: Ids) -> httpx.Response:
    return await client.request(
        route.method, route.url(ids), headers={**org.headers, "X-Request-ID": REQUEST_ID}, json=route.body
    )


def comparable(response: httpx.Response, ids: Ids) -> tuple[int, dict[str, str], str]:
    body = response.text
    for value in ids.values():
        body = body.replace(value, "<id>")
    headers = {k.lower(): v for k, v in response.headers.items() if k.lower() != "date"}
    return response.status_code, headers, body


async def snapshot(client: Client, org: Org, ids: Ids) -> Any:
    plan = await client.get(f"/api/v1/care-plans/{ids.plan}", headers=org.headers)
    assert plan.status_code == 200, plan.text
    return plan.json(), await versions(client, org, ids.plan)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
async def test_other_tenants_ids_answer_like_random_ids(client: Client, org: Org, other_org: Org, route: Route) -> None:
    mine = await make_ids(client, org)
    before = await snapshot(client, org, mine)
    random = Ids(str(uuid4()), str(uuid4()), str(uuid4()), str(uuid4()))

    foreign = await call(client, other_org, route, mine)
    unknown = await call(client, other_org, route, random)

    assert_problem(foreign, 404)
    assert comparable(foreign, mine) == comparable(unknown, random)
    assert await snapshot(client, org, mine) == before
    assert await audit_items(client, org, actor_id=str(other_org.owner_id)) == []


@pytest.mark.parametrize("route", CHILD_ROUTES, ids=lambda r: f"{r.method} {r.path}")
async def test_goals_and_activities_of_another_plan_or_tenant_are_404(
    client: Client, org: Org, other_org: Org, route: Route
) -> None:
    mine = await make_ids(client, org)
    second = await make_ids(client, org)
    theirs = await make_ids(client, other_org)
    before = await snapshot(client, org, second)

    for goal, activity in ((second.goal, second.activity), (theirs.goal, theirs.activity)):
        crossed = Ids(mine.patient, mine.plan, goal, activity)
        response = await call(client, org, route, crossed)
        body = assert_problem(response, 404)
        assert "in this care plan" in body["detail"]
    assert await snapshot(client, org, second) == before


# -- bad input ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    name: str
    method: str
    path: str
    body: Any
    field: str | None


BAD = [
    Bad("unknown field", "POST", "/api/v1/patients/{patient}/care-plans", {**PLAN_BODY, "owner": "x"}, "owner"),
    Bad("missing title", "POST", "/api/v1/patients/{patient}/care-plans", {"period_start": "2026-01-01"}, "title"),
    Bad("long title", "POST", "/api/v1/patients/{patient}/care-plans", {**PLAN_BODY, "title": "x" * 201}, "title"),
    Bad(
        "inverted period",
        "POST",
        "/api/v1/patients/{patient}/care-plans",
        {**PLAN_BODY, "period_end": "2025-12-31"},
        "period_end",
    ),
    Bad(
        "bad date",
        "POST",
        "/api/v1/patients/{patient}/care-plans",
        {**PLAN_BODY, "period_start": "2026-02-30"},
        "period_start",
    ),
    Bad(
        "bad goal status",
        "POST",
        "/api/v1/patients/{patient}/care-plans",
        {**PLAN_BODY, "goals": [{"description": "x", "status": "done"}]},
        "status",
    ),
    Bad(
        "too many goals",
        "POST",
        "/api/v1/patients/{patient}/care-plans",
        {**PLAN_BODY, "goals": [{"description": "x"}] * 51},
        "goals",
    ),
    Bad("status via patch", "PATCH", "/api/v1/care-plans/{plan}", {"status": "active"}, "status"),
    Bad("inverted period patch", "PATCH", "/api/v1/care-plans/{plan}", {"period_end": "2025-01-01"}, "period_end"),
    Bad("null title", "PATCH", "/api/v1/care-plans/{plan}", {"title": None}, "title"),
    Bad("unknown plan status", "POST", "/api/v1/care-plans/{plan}/transition", {"status": "paused"}, "status"),
    Bad("empty transition", "POST", "/api/v1/care-plans/{plan}/transition", {}, "status"),
    Bad("empty goal", "POST", "/api/v1/care-plans/{plan}/goals", {"description": ""}, "description"),
    Bad(
        "string target value",
        "POST",
        "/api/v1/care-plans/{plan}/goals",
        {"description": "x", "target_value": "seven"},
        "target_value",
    ),
    Bad(
        "huge target value",
        "POST",
        "/api/v1/care-plans/{plan}/goals",
        {"description": "x", "target_value": 1e300},
        "target_value",
    ),
    Bad("bad achievement", "PATCH", "/api/v1/care-plans/{plan}/goals/{goal}", {"achievement": "great"}, "achievement"),
    Bad(
        "naive measured_at",
        "POST",
        "/api/v1/care-plans/{plan}/goals/{goal}/measurements",
        {"value": 7, "measured_at": "2026-04-01T08:00:00"},
        "measured_at",
    ),
    Bad(
        "missing value",
        "POST",
        "/api/v1/care-plans/{plan}/goals/{goal}/measurements",
        {"measured_at": "2026-04-01T08:00:00Z"},
        "value",
    ),
    Bad(
        "long note",
        "POST",
        "/api/v1/care-plans/{plan}/goals/{goal}/measurements",
        {**MEASUREMENT, "note": "n" * 501},
        "note",
    ),
    Bad("bad kind", "POST", "/api/v1/care-plans/{plan}/activities", {"kind": "surgery", "description": "x"}, "kind"),
    Bad(
        "link without id",
        "POST",
        "/api/v1/care-plans/{plan}/activities",
        {"kind": "task", "description": "x", "linked_type": "task"},
        "linked",
    ),
    Bad(
        "bad link uuid",
        "POST",
        "/api/v1/care-plans/{plan}/activities",
        {"kind": "task", "description": "x", "linked_type": "task", "linked_id": "nope"},
        "linked_id",
    ),
    Bad(
        "half a link", "PATCH", "/api/v1/care-plans/{plan}/activities/{activity}", {"linked_id": str(uuid4())}, "linked"
    ),
    Bad(
        "bad activity status", "PATCH", "/api/v1/care-plans/{plan}/activities/{activity}", {"status": "done"}, "status"
    ),
    Bad("array body", "POST", "/api/v1/care-plans/{plan}/goals", ["description"], None),
    Bad("malformed json", "POST", "/api/v1/care-plans/{plan}/activities", "{not json", None),
    Bad("negative after", "GET", "/api/v1/care-plans/{plan}/versions?after=-1", None, "after"),
    Bad("huge limit", "GET", "/api/v1/care-plans/{plan}/versions?limit=100000", None, "limit"),
    Bad("bad status filter", "GET", "/api/v1/patients/{patient}/care-plans?status=open", None, "status"),
]


@pytest.mark.parametrize("bad", BAD, ids=lambda b: b.name)
async def test_bad_input_is_a_problem(client: Client, org: Org, bad: Bad) -> None:
    ids = await make_ids(client, org)
    before = await snapshot(client, org, ids)
    url = Route(bad.method, bad.path).url(ids)
    if isinstance(bad.body, str):
        response = await client.request(
            bad.method, url, headers={**org.headers, "content-type": "application/json"}, content=bad.body
        )
    else:
        response = await client.request(bad.method, url, headers=org.headers, json=bad.body)
    body = assert_problem(response, 400, 422)
    if bad.field is not None:
        assert_names_field(body, bad.field)
    assert await snapshot(client, org, ids) == before


async def test_non_uuid_and_non_integer_path_ids_are_problems(client: Client, org: Org) -> None:
    ids = await make_ids(client, org)
    for url in (
        "/api/v1/care-plans/not-a-uuid",
        f"/api/v1/care-plans/{ids.plan}/versions/first",
        f"/api/v1/care-plans/{ids.plan}/goals/123/measurements",
        "/api/v1/patients/123/care-plans",
    ):
        assert_problem(await client.get(url, headers=org.headers), 400, 404)
    assert_problem(await client.get(f"/api/v1/care-plans/{ids.plan}/versions/0", headers=org.headers), 400)
    assert_problem(await client.get(f"/api/v1/care-plans/{ids.plan}/versions/99999999999", headers=org.headers), 400)


async def test_routes_are_documented_in_openapi(client: Client) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    paths = response.json()["paths"]
    expected = {
        "/api/v1/patients/{patient_id}/care-plans": {"get", "post"},
        "/api/v1/care-plans/{plan_id}": {"get", "patch"},
        "/api/v1/care-plans/{plan_id}/transition": {"post"},
        "/api/v1/care-plans/{plan_id}/goals": {"post"},
        "/api/v1/care-plans/{plan_id}/goals/{goal_id}": {"patch"},
        "/api/v1/care-plans/{plan_id}/goals/{goal_id}/measurements": {"get", "post"},
        "/api/v1/care-plans/{plan_id}/activities": {"post"},
        "/api/v1/care-plans/{plan_id}/activities/{activity_id}": {"patch"},
        "/api/v1/care-plans/{plan_id}/versions": {"get"},
        "/api/v1/care-plans/{plan_id}/versions/{version}": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        for method in methods:
            operation = paths[path][method]
            assert operation["summary"], (path, method)
            assert "care-plans" in operation["tags"]
