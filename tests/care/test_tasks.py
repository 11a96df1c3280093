"""Tasks over HTTP: create, read, change, the state machine, history, resource requests,
the plugin-facing service, audit, isolation and bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from core.auth.principal import Principal
from core.care.tasks import service
from core.care.tasks.service import TaskInputError
from core.care.tasks.states import STATUSES, TRANSITIONS
from core.db.tenant import Tx
from tests.conftest import Org, add_user, create_patient

Client = AsyncTestClient[Any]
PROBLEM = "application/problem+json"


def soon(hours: float = 24) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


async def new_task(client: Client, org: Org, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/tasks", headers=org.headers, json={"title": "Call the patient", **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def transition(client: Client, org: Org, task_id: str, status: str, **extra: Any) -> Any:
    return await client.post(
        f"/api/v1/tasks/{task_id}/transition", headers=org.headers, json={"status": status, **extra}
    )


async def resource(client: Client, org: Org, name: str = "Ride Share Co") -> dict[str, Any]:
    response = await client.post(
        "/api/v1/community-resources", headers=org.headers, json={"name": name, "category": "transport"}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def audit_actions(owner_db: asyncpg.Connection, org: Org, resource_id: str) -> list[str]:
    rows = await owner_db.fetch(
        "select action from audit_events where tenant_id = $1 and (resource_id = $2 "
        "or details->'resource_ids' ? $3) order by seq",
        org.tenant_id,
        UUID(resource_id),
        resource_id,
    )
    return [r["action"] for r in rows]


async def test_create_read_update(client: Client, org: Org, owner_db: asyncpg.Connection) -> None:
    patient = await create_patient(client, org)
    due = soon(48)
    task = await new_task(
        client,
        org,
        patient_id=patient["id"],
        focus_type="patient",
        priority="urgent",
        due_at=due,
        owner_role="coordinator",
        business_status="waiting on fax",
    )
    assert task["status"] == "requested"
    assert task["focus_id"] == patient["id"]
    assert task["owner_role"] == "coordinator"
    assert task["owner_user_id"] is None
    assert task["created_by"] == str(org.owner_id)
    assert task["overdue"] is False
    assert task["sla_overdue"] is False
    assert datetime.fromisoformat(task["due_at"]) == datetime.fromisoformat(due)

    read = await client.get(f"/api/v1/tasks/{task['id']}", headers=org.headers)
    assert read.status_code == 200
    assert read.json() == task

    changed = await client.patch(
        f"/api/v1/tasks/{task['id']}",
        headers=org.headers,
        json={"owner_user_id": str(org.owner_id), "priority": "stat", "business_status": None},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["owner_user_id"] == str(org.owner_id)
    assert body["priority"] == "stat"
    assert body["business_status"] is None
    assert body["status"] == "requested"
    assert await audit_actions(owner_db, org, task["id"]) == ["task.create", "task.read", "task.update"]


async def test_overdue_flags(client: Client, org: Org) -> None:
    task = await new_task(client, org, due_at=soon(-1), sla_due_at=soon(-2))
    assert task["overdue"] is True
    assert task["sla_overdue"] is True
    other = await new_task(client, org, due_at=soon(-1), sla_due_at=soon(2))
    assert (other["overdue"], other["sla_overdue"]) == (True, False)
    assert (await transition(client, org, task["id"], "in-progress")).status_code == 200
    done = await transition(client, org, task["id"], "completed")
    assert done.status_code == 200
    assert done.json()["overdue"] is False, "a closed task is never overdue"
    assert done.json()["sla_overdue"] is False
    assert done.json()["completed_at"] is not None


def path_to(target: str) -> list[str]:
    """A shortest chain of legal statuses from ``requested`` to ``target`` (breadth-first)."""
    paths = {"requested": ["requested"]}
    frontier = ["requested"]
    while frontier:
        nxt = []
        for status in frontier:
            for follower in sorted(TRANSITIONS[status]):
                if follower not in paths:
                    paths[follower] = [*paths[status], follower]
                    nxt.append(follower)
        frontier = nxt
    return paths[target]


REACHABLE = [s for s in STATUSES if s != "draft"]


@pytest.mark.parametrize("start", [*REACHABLE, "draft"])
async def test_every_transition_over_http(client: Client, org: Org, start: str) -> None:
    """From each status, every legal move answers 200 and every illegal one 409 naming both states."""
    for requested in STATUSES:
        task = await new_task(client, org, status="draft" if start == "draft" else "requested")
        for step in path_to(start)[1:] if start != "draft" else []:
            assert (await transition(client, org, task["id"], step)).status_code == 200
        response = await transition(client, org, task["id"], requested, reason="because")
        if requested in TRANSITIONS[start]:
            assert response.status_code == 200, (start, requested, response.text)
            assert response.json()["status"] == requested
            assert response.json()["status_reason"] == "because"
        else:
            assert response.status_code == 409, (start, requested, response.text)
            assert response.headers["content-type"].startswith(PROBLEM)
            body = response.json()
            assert body["current_status"] == start
            assert body["requested_status"] == requested
            assert start in body["detail"]
            assert requested in body["detail"]
            after = await client.get(f"/api/v1/tasks/{task['id']}", headers=org.headers)
            assert after.json()["status"] == start


async def test_history_records_who_and_when(client: Client, org: Org, owner_db: asyncpg.Connection) -> None:
    coordinator = await add_user(client, org, "coordinator")
    coordinator_id = (await client.get("/api/v1/users/me", headers=coordinator)).json()["id"]
    before = datetime.now(UTC)
    task = await new_task(client, org)
    accepted = await client.post(
        f"/api/v1/tasks/{task['id']}/transition",
        headers=coordinator,
        json={"status": "accepted", "business_status": "scheduling"},
    )
    assert accepted.status_code == 200
    assert accepted.json()["business_status"] == "scheduling"
    held = await transition(client, org, task["id"], "on-hold", reason="waiting on patient")
    assert held.json()["business_status"] == "scheduling", "absent business_status stays"
    after = datetime.now(UTC)

    history = await client.get(f"/api/v1/tasks/{task['id']}/history", headers=org.headers)
    assert history.status_code == 200
    entries = history.json()
    assert [(e["from_status"], e["to_status"]) for e in entries] == [
        (None, "requested"),
        ("requested", "accepted"),
        ("accepted", "on-hold"),
    ]
    assert [e["changed_by"] for e in entries] == [str(org.owner_id), coordinator_id, str(org.owner_id)]
    assert {e["changed_by_type"] for e in entries} == {"user"}
    assert entries[2]["reason"] == "waiting on patient"
    times = [datetime.fromisoformat(e["changed_at"]) for e in entries]
    assert times == sorted(times)
    assert all(before <= t <= after for t in times)
    actions = await audit_actions(owner_db, org, task["id"])
    assert actions == ["task.create", "task.transition", "task.transition", "task.history"]


async def test_resource_requests(client: Client, org: Org, owner_db: asyncpg.Connection) -> None:
    patient = await create_patient(client, org)
    other_patient = await create_patient(client, org)
    ride = await resource(client, org)
    url = f"/api/v1/patients/{patient['id']}/resource-requests"
    created = await client.post(
        url, headers=org.headers, json={"resource_id": ride["id"], "note": "to dialysis", "due_at": soon(24)}
    )
    assert created.status_code == 201, created.text
    task = created.json()
    assert task["focus_type"] == "resource_request"
    assert task["focus_id"] == ride["id"]
    assert task["patient_id"] == patient["id"]
    assert task["description"] == "to dialysis"
    assert task["owner_role"] == "coordinator"
    assert "Ride Share Co" in task["title"]
    await client.post(
        f"/api/v1/patients/{other_patient['id']}/resource-requests",
        headers=org.headers,
        json={"resource_id": ride["id"]},
    )
    await new_task(client, org, patient_id=patient["id"], focus_type="patient")

    listed = await client.get(url, headers=org.headers)
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()] == [task["id"]]
    # It is an ordinary task on the worklist too.
    worklist = await client.get("/api/v1/worklist", headers=org.headers, params={"patient_id": patient["id"]})
    assert task["id"] in [t["id"] for t in worklist.json()["items"]]

    unknown = await client.post(url, headers=org.headers, json={"resource_id": str(uuid4())})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["key"] == "resource_id"
    assert "resource_request.list" in await audit_actions(owner_db, org, task["id"])


async def test_create_task_service_for_plugins(client: Client, org: Org, owner_db: asyncpg.Connection) -> None:
    """The function plugins call: it works with any context carrying tx and principal.

    The app's pool lives on the test client's loop, so this drives the service over a
    connection of the test's own, pinned to the tenant like a request's.
    """
    patient = await create_patient(client, org)
    principal = Principal(tenant_id=org.tenant_id, actor_id=uuid4(), kind="system", role=None, permissions=frozenset())

    class PluginLikeContext:
        def __init__(self, tx: Any) -> None:
            self.tx = tx
            self.principal = principal
            self.ip = None
            self.request_id = "plugin-test"

    async with owner_db.transaction():
        await owner_db.execute("select set_config('app.tenant_id', $1, true)", str(org.tenant_id))
        tx = Tx(owner_db, org.tenant_id)
        task = await service.create_task(
            PluginLikeContext(tx),
            title="Reminder failed three times",
            patient_id=UUID(patient["id"]),
            focus_type="patient",
            owner_role="coordinator",
            priority="asap",
        )
        with pytest.raises(TaskInputError) as caught:
            await service.create_task(PluginLikeContext(tx), title="x", patient_id=uuid4())
        assert caught.value.field == "patient_id"
        with pytest.raises(TaskInputError):
            await service.create_task(PluginLikeContext(tx), title="x", status="completed")
        with pytest.raises(TaskInputError):
            await service.create_task(PluginLikeContext(tx), title="x", due_at=datetime(2030, 1, 1))
    assert task.created_by is None
    read = await client.get(f"/api/v1/tasks/{task.id}", headers=org.headers)
    assert read.status_code == 200
    assert read.json()["title"] == "Reminder failed three times"
    history = (await client.get(f"/api/v1/tasks/{task.id}/history", headers=org.headers)).json()
    assert history[0]["changed_by_type"] == "system"
    assert history[0]["changed_by"] is None


async def test_deleted_patient_hides_its_tasks(client: Client, org: Org) -> None:
    patient = await create_patient(client, org)
    task = await new_task(client, org, patient_id=patient["id"])
    assert (await client.delete(f"/api/v1/patients/{patient['id']}", headers=org.headers)).status_code == 204
    assert (await client.get(f"/api/v1/tasks/{task['id']}", headers=org.headers)).status_code == 404
    unknown = await client.post("/api/v1/tasks", headers=org.headers, json={"title": "t", "patient_id": patient["id"]})
    assert unknown.status_code == 422


async def test_permissions(client: Client, org: Org) -> None:
    viewer = await add_user(client, org, "viewer")
    task = await new_task(client, org)
    assert (await client.get(f"/api/v1/tasks/{task['id']}", headers=viewer)).status_code == 200
    assert (await client.post("/api/v1/tasks", headers=viewer, json={"title": "x"})).status_code == 403
    assert (
        await transition(
            client, Org(**{**org.__dict__, "access_token": viewer["Authorization"][7:]}), task["id"], "accepted"
        )
    ).status_code == 403
    assert (await client.get("/api/v1/worklist")).status_code == 401


# -- isolation ------------------------------------------------------------------------------------------------


async def test_cross_tenant_probes_answer_404(client: Client, org: Org, other_org: Org) -> None:
    patient = await create_patient(client, org)
    task = await new_task(client, org, patient_id=patient["id"])
    ride = await resource(client, org)
    mine_patient = await create_patient(client, other_org)
    for target in (task["id"], str(uuid4())):
        probes = [
            await client.get(f"/api/v1/tasks/{target}", headers=other_org.headers),
            await client.patch(f"/api/v1/tasks/{target}", headers=other_org.headers, json={"title": "pwned"}),
            await transition(client, other_org, target, "cancelled"),
            await client.get(f"/api/v1/tasks/{target}/history", headers=other_org.headers),
        ]
        assert [p.status_code for p in probes] == [404] * 4
        assert all(p.json()["detail"] == "No such task" for p in probes)
    for target in (patient["id"], str(uuid4())):
        url = f"/api/v1/patients/{target}/resource-requests"
        probes = [
            await client.get(url, headers=other_org.headers),
            await client.post(url, headers=other_org.headers, json={"resource_id": ride["id"]}),
        ]
        assert [p.status_code for p in probes] == [404, 404]
    # Another tenant's patient, owner or resource inside a body: 422 like a random id.
    for body in (
        {"title": "t", "patient_id": patient["id"]},
        {"title": "t", "owner_user_id": str(org.owner_id)},
        {"title": "t", "focus_type": "resource_request", "focus_id": ride["id"]},
    ):
        response = await client.post("/api/v1/tasks", headers=other_org.headers, json=body)
        assert response.status_code == 422, body
    foreign_resource = await client.post(
        f"/api/v1/patients/{mine_patient['id']}/resource-requests",
        headers=other_org.headers,
        json={"resource_id": ride["id"]},
    )
    assert foreign_resource.status_code == 422
    worklist = await client.get("/api/v1/worklist", headers=other_org.headers, params={"status": list(STATUSES)})
    assert task["id"] not in [t["id"] for t in worklist.json()["items"]]
    after = await client.get(f"/api/v1/tasks/{task['id']}", headers=org.headers)
    assert after.json()["title"] == task["title"]
    assert after.json()["status"] == "requested"


# -- bad input ------------------------------------------------------------------------------------------------

BAD_CREATES = [
    ({}, "title"),
    ({"title": ""}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"title": "t", "status": "completed"}, "status"),
    ({"title": "t", "status": "done"}, "status"),
    ({"title": "t", "priority": "whenever"}, "priority"),
    ({"title": "t", "due_at": "2030-01-01T10:00:00"}, "due_at"),
    ({"title": "t", "due_at": "tomorrow"}, "due_at"),
    ({"title": "t", "sla_due_at": "2030-01-01T10:00:00"}, "sla_due_at"),
    ({"title": "t", "owner_role": "owner"}, "owner_role"),
    ({"title": "t", "owner_user_id": "not-a-uuid"}, "owner_user_id"),
    ({"title": "t", "focus_type": "spaceship"}, "focus_type"),
    ({"title": "t", "focus_type": "patient"}, "patient_id"),
    ({"title": "t", "focus_type": "resource_request"}, "resource_id"),
    ({"title": "t", "description": "d" * 4001}, "description"),
    ({"title": "t", "surprise": 1}, "surprise"),
    ({"title": "t", "patient_id": str(uuid4())}, "patient_id"),
]


@pytest.mark.parametrize(("body", "field"), BAD_CREATES)
async def test_bad_creates(client: Client, org: Org, body: dict[str, Any], field: str) -> None:
    response = await client.post("/api/v1/tasks", headers=org.headers, json=body)
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["status"] == response.status_code
    errors = problem.get("errors") or []
    assert (
        any(field in e.get("key", "") or field in e.get("message", "") for e in errors) or field in problem["detail"]
    ), problem


async def test_bad_updates_and_transitions(client: Client, org: Org) -> None:
    task = await new_task(client, org)
    url = f"/api/v1/tasks/{task['id']}"
    for body in (
        {"status": "completed"},
        {"title": None},
        {"priority": None},
        {"due_at": "2030-01-01T00:00:00"},
        {"owner_user_id": str(uuid4())},
        [],
    ):
        response = await client.patch(url, headers=org.headers, json=body)
        assert response.status_code in (400, 422), (body, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
    for body in (
        {},
        {"status": "finished"},
        {"status": "accepted", "reason": "r" * 501},
        {"status": "accepted", "x": 1},
    ):
        response = await client.post(f"{url}/transition", headers=org.headers, json=body)
        assert response.status_code == 400, (body, response.text)
    assert (await client.get("/api/v1/tasks/not-a-uuid", headers=org.headers)).status_code in (400, 404)
    response = await client.post(url + "/transition", headers=org.headers, content=b"{nope")
    assert response.status_code == 400
    assert (await client.get(url, headers=org.headers)).json()["status"] == "requested"


async def test_bad_resource_requests(client: Client, org: Org) -> None:
    patient = await create_patient(client, org)
    url = f"/api/v1/patients/{patient['id']}/resource-requests"
    for body in (
        {},
        {"resource_id": "x"},
        {"resource_id": str(uuid4()), "due_at": "2030-01-01T09:00:00"},
        {"resource_id": str(uuid4()), "extra": True},
    ):
        response = await client.post(url, headers=org.headers, json=body)
        assert response.status_code in (400, 422), (body, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
