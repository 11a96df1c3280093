"""Care teams over HTTP: members (user or practitioner), one primary coordinator, the caseload,
audit, isolation and bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import Org, add_user, create_patient

Client = AsyncTestClient[Any]
PROBLEM = "application/problem+json"


def day(offset: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


async def user_id(client: Client, headers: dict[str, str]) -> str:
    return str((await client.get("/api/v1/users/me", headers=headers)).json()["id"])


async def practitioner(client: Client, org: Org) -> str:
    response = await client.post(
        "/api/v1/directory/practitioners",
        headers=org.headers,
        json={"given_name": "Gregory", "family_name": "House", "specialty": "nephrology"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def add(client: Client, org: Org, patient_id: str, **body: Any) -> Any:
    return await client.post(f"/api/v1/patients/{patient_id}/care-team", headers=org.headers, json=body)


async def test_members_and_primary(client: Client, org: Org, owner_db: asyncpg.Connection) -> None:
    patient = await create_patient(client, org)
    coordinator = await add_user(client, org, "coordinator")
    coordinator_id = await user_id(client, coordinator)
    doc = await practitioner(client, org)
    first = await add(
        client, org, patient["id"], user_id=coordinator_id, role="care_coordinator", is_primary_coordinator=True
    )
    assert first.status_code == 201, first.text
    member = first.json()
    assert member["period_start"] == datetime.now(UTC).date().isoformat()
    assert member["active"] is True
    assert member["is_primary_coordinator"] is True
    specialist = await add(client, org, patient["id"], practitioner_id=doc, role="specialist")
    assert specialist.status_code == 201
    assert specialist.json()["display_name"] == "Gregory House"

    second_primary = await add(
        client, org, patient["id"], user_id=str(org.owner_id), role="nurse", is_primary_coordinator=True
    )
    assert second_primary.status_code == 409
    assert second_primary.headers["content-type"].startswith(PROBLEM)
    owner_member = await add(client, org, patient["id"], user_id=str(org.owner_id), role="nurse")
    url = f"/api/v1/patients/{patient['id']}/care-team"
    promote = await client.patch(
        f"{url}/{owner_member.json()['id']}", headers=org.headers, json={"is_primary_coordinator": True}
    )
    assert promote.status_code == 409
    demote = await client.patch(f"{url}/{member['id']}", headers=org.headers, json={"is_primary_coordinator": False})
    assert demote.status_code == 200
    promote = await client.patch(
        f"{url}/{owner_member.json()['id']}",
        headers=org.headers,
        json={"is_primary_coordinator": True, "role": "care_coordinator"},
    )
    assert promote.status_code == 200, promote.text
    assert promote.json()["role"] == "care_coordinator"
    practitioner_primary = await client.patch(
        f"{url}/{specialist.json()['id']}", headers=org.headers, json={"is_primary_coordinator": True}
    )
    assert practitioner_primary.status_code == 422

    ended = await client.patch(
        f"{url}/{member['id']}", headers=org.headers, json={"period_end": day(-1), "period_start": day(-10)}
    )
    assert ended.status_code == 200
    assert ended.json()["active"] is False

    listed = await client.get(url, headers=org.headers)
    assert listed.status_code == 200
    assert {m["id"] for m in listed.json()} == {member["id"], specialist.json()["id"], owner_member.json()["id"]}

    removed = await client.delete(f"{url}/{specialist.json()['id']}", headers=org.headers)
    assert removed.status_code == 204
    assert (await client.delete(f"{url}/{specialist.json()['id']}", headers=org.headers)).status_code == 404
    assert len((await client.get(url, headers=org.headers)).json()) == 2

    actions = [
        r["action"]
        for r in await owner_db.fetch(
            "select action from audit_events where tenant_id = $1 and action like 'care_team.%' order by seq",
            org.tenant_id,
        )
    ]
    assert actions == [
        "care_team.add",
        "care_team.add",
        "care_team.add",
        "care_team.update",
        "care_team.update",
        "care_team.update",
        "care_team.list",
        "care_team.remove",
        "care_team.list",
    ]


async def test_caseload(client: Client, org: Org, owner_db: asyncpg.Connection) -> None:
    coordinator = await add_user(client, org, "coordinator")
    me = await user_id(client, coordinator)
    current = await create_patient(client, org, family_name="Adams")
    primary = await create_patient(client, org, family_name="Brown")
    past = await create_patient(client, org, family_name="Clark")
    future = await create_patient(client, org, family_name="Davis")
    deleted = await create_patient(client, org, family_name="Evans")
    not_mine = await create_patient(client, org, family_name="Fox")
    assert (
        await add(client, org, current["id"], user_id=me, role="care_coordinator", period_end=day(0))
    ).status_code == 201
    assert (
        await add(
            client, org, primary["id"], user_id=me, role="nurse", is_primary_coordinator=True, period_start=day(-5)
        )
    ).status_code == 201
    assert (
        await add(client, org, past["id"], user_id=me, role="nurse", period_start=day(-9), period_end=day(-1))
    ).status_code == 201
    assert (await add(client, org, future["id"], user_id=me, role="nurse", period_start=day(1))).status_code == 201
    assert (await add(client, org, deleted["id"], user_id=me, role="nurse")).status_code == 201
    assert (await add(client, org, not_mine["id"], user_id=str(org.owner_id), role="nurse")).status_code == 201
    assert (await client.delete(f"/api/v1/patients/{deleted['id']}", headers=org.headers)).status_code == 204

    response = await client.get("/api/v1/me/caseload", headers=coordinator)
    assert response.status_code == 200
    entries = response.json()
    assert [(e["patient"]["family_name"], e["role"], e["is_primary_coordinator"]) for e in entries] == [
        ("Adams", "care_coordinator", False),
        ("Brown", "nurse", True),
    ]
    owner_view = (await client.get("/api/v1/me/caseload", headers=org.headers)).json()
    assert [e["patient"]["id"] for e in owner_view] == [not_mine["id"]]
    audited = await owner_db.fetchval(
        "select details from audit_events where tenant_id = $1 and action = 'caseload.read' and actor_id = $2::uuid",
        org.tenant_id,
        me,
    )
    assert audited is not None
    assert "resource_ids" in audited


async def test_cross_tenant_probes_answer_404(client: Client, org: Org, other_org: Org) -> None:
    patient = await create_patient(client, org)
    member = (await add(client, org, patient["id"], user_id=str(org.owner_id), role="nurse")).json()
    theirs = await create_patient(client, other_org)
    for patient_id, member_id in (
        (patient["id"], member["id"]),
        (str(uuid4()), str(uuid4())),
        (theirs["id"], member["id"]),
    ):
        url = f"/api/v1/patients/{patient_id}/care-team"
        probes = [
            await client.get(url, headers=other_org.headers),
            await client.post(
                url, headers=other_org.headers, json={"user_id": str(other_org.owner_id), "role": "nurse"}
            ),
            await client.patch(f"{url}/{member_id}", headers=other_org.headers, json={"role": "other"}),
            await client.delete(f"{url}/{member_id}", headers=other_org.headers),
        ]
        statuses = [p.status_code for p in probes]
        if patient_id == theirs["id"]:
            assert statuses == [200, 201, 404, 404], "their own patient, but our member id"
        else:
            assert statuses == [404] * 4
    # Our user or practitioner named on their patient: 422, as for a random id.
    doc = await practitioner(client, org)
    for body in (
        {"user_id": str(org.owner_id), "role": "nurse"},
        {"practitioner_id": doc, "role": "specialist"},
        {"user_id": str(uuid4()), "role": "nurse"},
    ):
        response = await add(client, other_org, theirs["id"], **body)
        assert response.status_code == 422, body
    assert (await client.get("/api/v1/me/caseload", headers=other_org.headers)).json()[0]["patient"]["id"] == theirs[
        "id"
    ]
    still = (await client.get(f"/api/v1/patients/{patient['id']}/care-team", headers=org.headers)).json()
    assert [(m["id"], m["role"]) for m in still] == [(member["id"], "nurse")]


BAD = [
    {},
    {"role": "nurse"},
    {"role": "nurse", "user_id": "u", "practitioner_id": "p"},
    {"role": "surgeon-general", "user_id": "USER"},
    {"role": "nurse", "user_id": "USER", "practitioner_id": "USER"},
    {"role": "nurse", "user_id": "not-a-uuid"},
    {"role": "nurse", "user_id": "USER", "period_start": "2026-02-30"},
    {"role": "nurse", "user_id": "USER", "period_start": "2026-03-10", "period_end": "2026-03-01"},
    {"role": "nurse", "user_id": "USER", "period_end": "2000-01-01"},
    {"role": "nurse", "user_id": "USER", "is_primary_coordinator": "yes"},
    {"role": "nurse", "user_id": "USER", "bonus": 1},
]


@pytest.mark.parametrize("body", BAD)
async def test_bad_input(client: Client, org: Org, body: dict[str, Any]) -> None:
    patient = await create_patient(client, org)
    body = {k: (str(org.owner_id) if v == "USER" else v) for k, v in body.items()}
    response = await add(client, org, patient["id"], **body)
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["detail"]


async def test_bad_updates(client: Client, org: Org) -> None:
    patient = await create_patient(client, org)
    member = (
        await add(client, org, patient["id"], user_id=str(org.owner_id), role="nurse", period_start=day(-3))
    ).json()
    url = f"/api/v1/patients/{patient['id']}/care-team/{member['id']}"
    for body in (
        {"period_end": day(-10)},
        {"role": None},
        {"user_id": str(uuid4())},
        {"period_start": "x"},
        {"period_start": day(-1), "period_end": day(-2)},
    ):
        response = await client.patch(url, headers=org.headers, json=body)
        assert response.status_code in (400, 422), (body, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
    viewer = await add_user(client, org, "viewer")
    assert (await client.patch(url, headers=viewer, json={"role": "other"})).status_code == 403
    assert (await client.get(f"/api/v1/patients/{patient['id']}/care-team", headers=viewer)).status_code == 200
