"""The patient chart and its merged timeline, over HTTP, with plugins adding items per tenant."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from core.app import create_app
from core.care.timeline.schemas import TimelineItem
from core.plugins.manager import PluginHost
from core.plugins.sdk import ModuleSpec, PluginContext, hookimpl
from tests.conftest import Org, add_user, create_patient, enable_module, sign_up

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def entry(kind: str = "consult", at: datetime = T0, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "occurred_at": at.isoformat(), "title": f"{kind} at {at:%H:%M}", **extra}


class Calendar:
    """An in-test plugin that puts one item per call on the timeline, and one that it should not."""

    seen: list[UUID] = []

    @staticmethod
    @hookimpl
    def register_module() -> ModuleSpec:
        return ModuleSpec(name="calendar", title="Calendar")

    @staticmethod
    @hookimpl
    async def timeline_items(
        ctx: PluginContext, patient_id: UUID, since: datetime, until: datetime
    ) -> Sequence[TimelineItem]:
        Calendar.seen.append(ctx.tenant_id)
        return [
            TimelineItem(occurred_at=T0 + timedelta(hours=1), kind="outside_visit", title="Seen at the calendar"),
            TimelineItem(occurred_at=datetime(1850, 1, 1, tzinfo=UTC), kind="ancient", title="out of range"),
        ]


class Broken:
    @staticmethod
    @hookimpl
    def register_module() -> ModuleSpec:
        return ModuleSpec(name="broken", title="Broken")

    @staticmethod
    @hookimpl
    def timeline_items(ctx: PluginContext, patient_id: UUID) -> Sequence[TimelineItem]:
        raise RuntimeError("the calendar server is down")


@pytest.fixture
def plugin_client(settings: Any, app_client: Callable[[Litestar], AsyncTestClient[Any]]) -> AsyncTestClient[Any]:
    host = PluginHost(load_entry_points=False, plugins=[("calendar", Calendar), ("broken", Broken)])
    return app_client(create_app(settings, host=host))


async def test_chart_entries_are_recorded_corrected_and_struck(client: AsyncTestClient[Any], org: Org) -> None:
    patient = await create_patient(client, org)
    base = f"/api/v1/patients/{patient['id']}/chart-entries"
    created = await client.post(base, headers=org.headers, json=entry("er_visit", source="St. Anne ER", body="fall"))
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["kind"], body["source"], body["author_id"]) == ("er_visit", "St. Anne ER", str(org.owner_id))

    fixed = await client.patch(f"{base}/{body['id']}", headers=org.headers, json={"title": "ER visit: fall"})
    assert fixed.json()["title"] == "ER visit: fall"
    assert (await client.get(f"{base}/{body['id']}", headers=org.headers)).json()["title"] == "ER visit: fall"

    timeline = f"/api/v1/patients/{patient['id']}/timeline"
    assert [i["title"] for i in (await client.get(timeline, headers=org.headers)).json()["items"]] == ["ER visit: fall"]
    await client.patch(f"{base}/{body['id']}", headers=org.headers, json={"entered_in_error": True})
    assert (await client.get(timeline, headers=org.headers)).json()["items"] == []
    listed = (await client.get(base, headers=org.headers)).json()
    assert [e["entered_in_error"] for e in listed] == [True]  # struck, not erased


async def test_timeline_merges_core_records_newest_first_within_the_window(
    client: AsyncTestClient[Any], org: Org
) -> None:
    patient = await create_patient(client, org)
    base = f"/api/v1/patients/{patient['id']}"
    for hours, kind in ((0, "note"), (5, "consult"), (2, "phone_call")):
        response = await client.post(
            f"{base}/chart-entries", headers=org.headers, json=entry(kind, T0 + timedelta(hours=hours))
        )
        assert response.status_code == 201
    consent = await client.post(f"{base}/consents", headers=org.headers, json={"kind": "channel", "channel": "sms"})
    assert consent.status_code == 201

    items = (await client.get(f"{base}/timeline", headers=org.headers)).json()["items"]
    assert [i["kind"] for i in items] == ["consent_granted", "consult", "phone_call", "note"]
    assert all(i["module"] == "core" for i in items)
    assert items[0]["resource_id"] == consent.json()["id"]

    window = {"since": (T0 + timedelta(hours=1)).isoformat(), "until": (T0 + timedelta(hours=5)).isoformat()}
    windowed = (await client.get(f"{base}/timeline", headers=org.headers, params=window)).json()["items"]
    assert [i["kind"] for i in windowed] == ["phone_call"]  # until is exclusive
    limited = (await client.get(f"{base}/timeline", headers=org.headers, params={"limit": 2})).json()["items"]
    assert len(limited) == 2


async def test_plugin_items_appear_only_for_tenants_that_enabled_the_plugin(
    plugin_client: AsyncTestClient[Any], client: AsyncTestClient[Any]
) -> None:
    with_calendar, without = await sign_up(plugin_client), await sign_up(plugin_client)
    await enable_module(plugin_client, with_calendar, "calendar")
    await enable_module(plugin_client, with_calendar, "broken")
    Calendar.seen.clear()
    for org in (with_calendar, without):
        patient = await create_patient(plugin_client, org)
        await plugin_client.post(f"/api/v1/patients/{patient['id']}/chart-entries", headers=org.headers, json=entry())
        org_items = (await plugin_client.get(f"/api/v1/patients/{patient['id']}/timeline", headers=org.headers)).json()
        if org is with_calendar:
            assert [(i["module"], i["kind"]) for i in org_items["items"]] == [
                ("calendar", "outside_visit"),
                ("core", "consult"),
            ]
        else:
            assert [i["module"] for i in org_items["items"]] == ["core"]
    assert Calendar.seen == [with_calendar.tenant_id]

    # The broken plugin answered nothing, and its failure is shown to the tenant's admins.
    modules = (await plugin_client.get("/api/v1/admin/modules", headers=with_calendar.headers)).json()
    broken = next(m for m in modules if m["name"] == "broken")
    assert [(f["hook"], f["failures"]) for f in broken["failures"]] == [("timeline_items", 1)]


async def test_reading_the_timeline_is_audited(client: AsyncTestClient[Any], org: Org, owner_db: Any) -> None:
    patient = await create_patient(client, org)
    await client.get(f"/api/v1/patients/{patient['id']}/timeline", headers=org.headers)
    actions = await owner_db.fetch(
        "select action, resource_id from audit_events where tenant_id = $1 and action like 'patient.timeline'",
        org.tenant_id,
    )
    assert [(a["action"], a["resource_id"]) for a in actions] == [("patient.timeline", UUID(patient["id"]))]


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "/timeline", None),
        ("GET", "/chart-entries", None),
        ("POST", "/chart-entries", entry()),
        ("GET", "/chart-entries/{entry}", None),
        ("PATCH", "/chart-entries/{entry}", {"title": "taken over"}),
    ],
)
async def test_another_tenants_ids_answer_like_random_ids(
    client: AsyncTestClient[Any], org: Org, other_org: Org, method: str, suffix: str, body: Any
) -> None:
    patient = await create_patient(client, org)
    made = await client.post(f"/api/v1/patients/{patient['id']}/chart-entries", headers=org.headers, json=entry())
    theirs = f"/api/v1/patients/{patient['id']}" + suffix.format(entry=made.json()["id"])
    random = f"/api/v1/patients/{uuid4()}" + suffix.format(entry=uuid4())
    request_id = {"X-Request-ID": f"probe-{secrets.token_hex(4)}"}
    answers = [
        await client.request(method, url, headers={**other_org.headers, **request_id}, json=body)
        for url in (theirs, random)
    ]
    assert [a.status_code for a in answers] == [404, 404]
    assert answers[0].json() == answers[1].json()
    assert answers[0].headers["content-type"] == "application/problem+json"
    # And the owner's entry is unchanged.
    mine = await client.get(f"/api/v1/patients/{patient['id']}/chart-entries", headers=org.headers)
    assert [e["title"] for e in mine.json()] == [entry()["title"]]


async def test_a_contact_entry_of_another_patient_is_not_found(client: AsyncTestClient[Any], org: Org) -> None:
    first, second = await create_patient(client, org), await create_patient(client, org)
    made = await client.post(f"/api/v1/patients/{first['id']}/chart-entries", headers=org.headers, json=entry())
    other = await client.get(f"/api/v1/patients/{second['id']}/chart-entries/{made.json()['id']}", headers=org.headers)
    assert other.status_code == 404


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "gossip", "occurred_at": T0.isoformat(), "title": "x"},
        {"kind": "note", "occurred_at": "2026-03-01T09:00:00", "title": "naive time"},
        {"kind": "note", "occurred_at": "yesterday", "title": "x"},
        {"kind": "note", "occurred_at": T0.isoformat(), "title": ""},
        {"kind": "note", "occurred_at": T0.isoformat(), "title": "x" * 201},
        {"kind": "note", "occurred_at": T0.isoformat(), "title": "x", "body": "y" * 10001},
        {"kind": "note", "occurred_at": T0.isoformat(), "title": "x", "author_id": str(uuid4())},
    ],
)
async def test_bad_chart_entries_are_refused_with_a_problem(
    client: AsyncTestClient[Any], org: Org, bad: dict[str, Any]
) -> None:
    patient = await create_patient(client, org)
    response = await client.post(f"/api/v1/patients/{patient['id']}/chart-entries", headers=org.headers, json=bad)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"]


@pytest.mark.parametrize("params", [{"since": "2026-01-01T00:00:00"}, {"limit": "0"}, {"until": "soon"}])
async def test_bad_timeline_queries_are_refused(client: AsyncTestClient[Any], org: Org, params: dict[str, str]) -> None:
    patient = await create_patient(client, org)
    response = await client.get(f"/api/v1/patients/{patient['id']}/timeline", headers=org.headers, params=params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


async def test_viewers_read_but_do_not_write_the_chart(client: AsyncTestClient[Any], org: Org) -> None:
    viewer = await add_user(client, org, "viewer")
    patient = await create_patient(client, org)
    base = f"/api/v1/patients/{patient['id']}"
    assert (await client.post(f"{base}/chart-entries", headers=viewer, json=entry())).status_code == 403
    assert (await client.get(f"{base}/timeline", headers=viewer)).status_code == 200


async def test_timeline_shows_appointments_tasks_and_care_plans(client: AsyncTestClient[Any], org: Org) -> None:
    patient = await create_patient(client, org)
    pid = patient["id"]
    visit = await client.post(
        "/api/v1/appointments",
        headers=org.headers,
        json={
            "patient_id": pid,
            "start": (T0 + timedelta(days=3)).isoformat(),
            "end": (T0 + timedelta(days=3, minutes=30)).isoformat(),
            "time_zone": "America/Chicago",
            "reason": "Cardiology follow-up",
        },
    )
    assert visit.status_code == 201, visit.text
    task = await client.post(
        "/api/v1/tasks",
        headers=org.headers,
        json={"title": "Call about transport", "patient_id": pid, "focus_type": "patient", "owner_role": "coordinator"},
    )
    assert task.status_code == 201, task.text
    plan = await client.post(
        f"/api/v1/patients/{pid}/care-plans",
        headers=org.headers,
        json={"title": "Diabetes", "period_start": "2026-03-01"},
    )
    assert plan.status_code == 201, plan.text

    items = (await client.get(f"/api/v1/patients/{pid}/timeline", headers=org.headers)).json()["items"]
    found = {(i["resource_type"], i["resource_id"]): i for i in items}
    assert found[("appointment", visit.json()["id"])]["title"] == "Cardiology follow-up"
    assert found[("appointment", visit.json()["id"])]["kind"] == "appointment_booked"
    assert found[("task", task.json()["id"])]["kind"] == "task_opened"
    assert found[("care_plan", plan.json()["id"])]["kind"] == "care_plan_created"
    times = [i["occurred_at"] for i in items]
    assert times == sorted(times, reverse=True)
