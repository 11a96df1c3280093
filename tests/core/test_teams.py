"""Teams of staff: CRUD, membership through the users API, names unique per organization, isolation."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import PASSWORD, add_user


async def test_teams_and_membership(client: Any, org: Any, other_org: Any) -> None:
    created = await client.post("/api/v1/teams", headers=org.headers, json={"name": "North clinic"})
    assert created.status_code == 201, created.text
    team = created.json()
    assert (team["name"], team["members"]) == ("North clinic", 0)
    clash = await client.post("/api/v1/teams", headers=org.headers, json={"name": "north CLINIC"})
    assert clash.status_code == 409
    assert clash.headers["content-type"].startswith("application/problem+json")
    assert (await client.post("/api/v1/teams", headers=org.headers, json={"name": "   "})).status_code == 400
    # another organization may use the same name, and never sees this team
    assert (
        await client.post("/api/v1/teams", headers=other_org.headers, json={"name": "North clinic"})
    ).status_code == 201
    assert (
        await client.patch(f"/api/v1/teams/{team['id']}", headers=other_org.headers, json={"name": "x"})
    ).status_code == 404
    assert (await client.delete(f"/api/v1/teams/{team['id']}", headers=other_org.headers)).status_code == 404

    body = {"email": f"c@{org.slug}.example", "password": PASSWORD, "role": "coordinator"}
    user = (await client.post("/api/v1/users", headers=org.headers, json=body)).json()
    joined = await client.patch(f"/api/v1/users/{user['id']}", headers=org.headers, json={"team_id": team["id"]})
    assert joined.status_code == 200
    assert joined.json()["team_id"] == team["id"]
    foreign = (await client.get("/api/v1/teams", headers=other_org.headers)).json()[0]["id"]
    for bad in (foreign, str(uuid.uuid4())):
        refused = await client.patch(f"/api/v1/users/{user['id']}", headers=org.headers, json={"team_id": bad})
        assert refused.status_code == 422, refused.text
    (listed,) = (await client.get("/api/v1/teams", headers=org.headers)).json()
    assert listed["members"] == 1
    renamed = await client.patch(f"/api/v1/teams/{team['id']}", headers=org.headers, json={"name": "North"})
    assert renamed.json()["name"] == "North"

    assert (await client.delete(f"/api/v1/teams/{team['id']}", headers=org.headers)).status_code == 204
    users = (await client.get("/api/v1/users", headers=org.headers)).json()
    assert [u["team_id"] for u in users if u["id"] == user["id"]] == [None]
    assert (await client.get("/api/v1/teams", headers=org.headers)).json() == []


async def test_only_user_managers_change_teams(client: Any, org: Any) -> None:
    coordinator = await add_user(client, org, "coordinator")
    assert (await client.post("/api/v1/teams", headers=coordinator, json={"name": "Mine"})).status_code == 403
    assert (await client.get("/api/v1/teams", headers=coordinator)).status_code == 200
    viewer = await add_user(client, org, "viewer")
    assert (await client.get("/api/v1/teams", headers=viewer)).status_code == 403
