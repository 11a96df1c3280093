"""The worklist: each filter returns exactly the expected tasks of a seeded set, sorting, time zones."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from litestar.testing import AsyncTestClient

from tests.conftest import Org, add_user, create_patient

Client = AsyncTestClient[Any]
CHICAGO = ZoneInfo("America/Chicago")


async def task(client: Client, headers: dict[str, str], title: str, **body: Any) -> str:
    for key in ("due_at", "sla_due_at"):
        if isinstance(body.get(key), datetime):
            body[key] = body[key].isoformat()
    response = await client.post("/api/v1/tasks", headers=headers, json={"title": title, **body})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def titles(client: Client, headers: dict[str, str], **params: Any) -> list[str]:
    response = await client.get("/api/v1/worklist", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return [t["title"] for t in response.json()["items"]]


async def user_id(client: Client, headers: dict[str, str]) -> str:
    return str((await client.get("/api/v1/users/me", headers=headers)).json()["id"])


async def test_filters_and_sorting(client: Client, org: Org, owner_db: asyncpg.Connection) -> None:
    now = datetime.now(UTC)
    me = str(org.owner_id)
    h = org.headers
    patient = await create_patient(client, org)
    await task(client, h, "a-mine-overdue-stat", owner_user_id=me, priority="stat", due_at=now - timedelta(hours=3))
    await task(client, h, "b-mine-later", owner_user_id=me, priority="routine", due_at=now + timedelta(days=3))
    await task(client, h, "c-pool-urgent", owner_role="coordinator", priority="urgent", due_at=now + timedelta(days=1))
    await task(
        client, h, "d-unowned-sla", priority="asap", sla_due_at=now - timedelta(minutes=5), patient_id=patient["id"]
    )
    done = await task(client, h, "e-done-overdue", owner_user_id=me, due_at=now - timedelta(days=2))
    for status in ("in-progress", "completed"):
        r = await client.post(f"/api/v1/tasks/{done}/transition", headers=h, json={"status": status})
        assert r.status_code == 200
    await task(client, h, "f-draft", status="draft", priority="urgent")

    open_titles = {"a-mine-overdue-stat", "b-mine-later", "c-pool-urgent", "d-unowned-sla", "f-draft"}
    assert set(await titles(client, h)) == open_titles, "closed tasks are off the default list"
    assert set(await titles(client, h, mine="true")) == {"a-mine-overdue-stat", "b-mine-later"}
    assert await titles(client, h, overdue="true") == ["a-mine-overdue-stat"]
    assert set(await titles(client, h, priority=["urgent", "stat"])) == {
        "a-mine-overdue-stat",
        "c-pool-urgent",
        "f-draft",
    }
    assert await titles(client, h, status="completed") == ["e-done-overdue"]
    assert set(await titles(client, h, status=["draft", "completed"])) == {"e-done-overdue", "f-draft"}
    assert await titles(client, h, mine="true", priority="routine") == ["b-mine-later"]
    assert await titles(client, h, patient_id=patient["id"]) == ["d-unowned-sla"]

    # Sorting: due (nulls last, then priority), priority (stat first), created (oldest first).
    assert await titles(client, h, sort="due") == [
        "a-mine-overdue-stat",
        "c-pool-urgent",
        "b-mine-later",
        "d-unowned-sla",
        "f-draft",
    ]
    assert await titles(client, h, sort="priority") == [
        "a-mine-overdue-stat",
        "d-unowned-sla",
        "c-pool-urgent",
        "f-draft",
        "b-mine-later",
    ]
    assert await titles(client, h, sort="created") == [
        "a-mine-overdue-stat",
        "b-mine-later",
        "c-pool-urgent",
        "d-unowned-sla",
        "f-draft",
    ]
    assert await titles(client, h, sort="created", limit=2) == ["a-mine-overdue-stat", "b-mine-later"]

    items = {t["title"]: t for t in (await client.get("/api/v1/worklist", headers=h)).json()["items"]}
    assert {k for k, v in items.items() if v["overdue"]} == {"a-mine-overdue-stat"}
    assert {k for k, v in items.items() if v["sla_overdue"]} == {"d-unowned-sla"}

    audited = await owner_db.fetchrow(
        "select details from audit_events where tenant_id = $1 and action = 'worklist.read' order by seq desc limit 1",
        org.tenant_id,
    )
    assert audited is not None


async def seed_due_times(client: Client, org: Org) -> dict[str, datetime]:
    """Tasks around midnight in Chicago: which are "today" depends on the zone."""
    d = datetime.now(CHICAGO).date()
    dues = {
        "late-tonight": datetime.combine(d, time(23, 30), tzinfo=CHICAGO),
        "early-today": datetime.combine(d, time(0, 15), tzinfo=CHICAGO),
        "just-after-midnight": datetime.combine(d + timedelta(days=1), time(0, 30), tzinfo=CHICAGO),
        "late-yesterday": datetime.combine(d - timedelta(days=1), time(23, 30), tzinfo=CHICAGO),
        "next-week": datetime.combine(d + timedelta(days=7), time(12), tzinfo=CHICAGO),
    }
    for title, due in dues.items():
        await task(client, org.headers, title, due_at=due)
    await task(client, org.headers, "no-due-date")
    return dues


def expected_today(dues: dict[str, datetime], zone: ZoneInfo) -> set[str]:
    today = datetime.now(zone).date()
    return {title for title, due in dues.items() if due.astimezone(zone).date() == today}


async def test_due_today_in_the_given_time_zone(client: Client, org: Org) -> None:
    dues = await seed_due_times(client, org)
    chicago = set(await titles(client, org.headers, due_today="true", time_zone="America/Chicago"))
    assert chicago == {"late-tonight", "early-today"}
    assert chicago == expected_today(dues, CHICAGO)
    utc = set(await titles(client, org.headers, due_today="true", time_zone="UTC"))
    assert utc == expected_today(dues, ZoneInfo("UTC"))
    if datetime.now(ZoneInfo("UTC")).date() == datetime.now(CHICAGO).date():
        assert "late-tonight" not in utc, "23:30 in Chicago is tomorrow in UTC"
    else:  # between midnight UTC and midnight in Chicago, UTC's today is Chicago's tomorrow
        assert "late-tonight" in utc
    assert utc != chicago
    tokyo = ZoneInfo("Asia/Tokyo")
    assert set(await titles(client, org.headers, due_today="true", time_zone="Asia/Tokyo")) == expected_today(
        dues, tokyo
    )
    body = (await client.get("/api/v1/worklist", headers=org.headers, params={"time_zone": "America/Chicago"})).json()
    assert body["time_zone"] == "America/Chicago"
    assert body["today"] == datetime.now(CHICAGO).date().isoformat()


async def test_due_today_defaults_to_the_organization_zone(client: Client, org: Org) -> None:
    dues = await seed_due_times(client, org)
    utc_default = set(await titles(client, org.headers, due_today="true"))
    assert utc_default == expected_today(dues, ZoneInfo("UTC")), "a new organization is on UTC"
    changed = await client.patch("/api/v1/tenant", headers=org.headers, json={"time_zone": "America/Chicago"})
    assert changed.status_code == 200, changed.text
    assert set(await titles(client, org.headers, due_today="true")) == {"late-tonight", "early-today"}
    body = (await client.get("/api/v1/worklist", headers=org.headers)).json()
    assert body["time_zone"] == "America/Chicago"
    # An explicit zone still wins over the organization's.
    assert set(await titles(client, org.headers, due_today="true", time_zone="UTC")) == utc_default


async def test_mine_and_team(client: Client, org: Org) -> None:
    """team = tasks I own, tasks owned by users sharing an active care team with me, and my role's
    unclaimed pool; never tasks of users I share no active team with, nor other roles' pools."""
    me = await add_user(client, org, "coordinator")
    mate = await add_user(client, org, "clinician")
    stranger = await add_user(client, org, "coordinator")
    former = await add_user(client, org, "clinician")
    ids = {
        name: await user_id(client, h)
        for name, h in (("me", me), ("mate", mate), ("stranger", stranger), ("former", former))
    }
    shared = await create_patient(client, org)
    elsewhere = await create_patient(client, org)
    today = datetime.now(UTC).date()
    members = [
        (shared, "me", {}),
        (shared, "mate", {}),
        (
            shared,
            "former",
            {
                "period_start": (today - timedelta(days=60)).isoformat(),
                "period_end": (today - timedelta(days=30)).isoformat(),
            },
        ),
        (elsewhere, "stranger", {}),
        (elsewhere, "mate", {}),
    ]
    for patient, who, extra in members:
        response = await client.post(
            f"/api/v1/patients/{patient['id']}/care-team",
            headers=org.headers,
            json={"user_id": ids[who], "role": "care_coordinator", **extra},
        )
        assert response.status_code == 201, response.text

    h = org.headers
    await task(client, h, "mine", owner_user_id=ids["me"])
    await task(client, h, "mate's", owner_user_id=ids["mate"])
    await task(client, h, "stranger's", owner_user_id=ids["stranger"])
    await task(client, h, "former's", owner_user_id=ids["former"])
    await task(client, h, "coordinator pool", owner_role="coordinator")
    await task(client, h, "clinician pool", owner_role="clinician")
    await task(client, h, "claimed from pool", owner_role="coordinator", owner_user_id=ids["stranger"])
    await task(client, h, "nobody's")

    assert await titles(client, me, mine="true") == ["mine"]
    assert set(await titles(client, me, team="true")) == {"mine", "mate's", "coordinator pool"}
    assert await titles(client, me, team="true", mine="true") == ["mine"]
    # The clinician teammate shares a team with me and with the stranger.
    assert set(await titles(client, mate, team="true")) == {
        "mine",
        "mate's",
        "stranger's",
        "claimed from pool",
        "clinician pool",
    }
    assert set(await titles(client, former, team="true")) == {"former's", "clinician pool"}
    assert len(await titles(client, me)) == 8


async def test_bad_worklist_queries(client: Client, org: Org) -> None:
    for params in (
        {"time_zone": "Mars/Olympus"},
        {"time_zone": "x" * 65},
        {"priority": "whenever"},
        {"status": "done"},
        {"sort": "alphabetical"},
        {"limit": "0"},
        {"limit": "501"},
        {"mine": "perhaps"},
        {"patient_id": "nope"},
    ):
        response = await client.get("/api/v1/worklist", headers=org.headers, params=params)
        assert response.status_code == 400, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
