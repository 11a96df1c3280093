"""``/api/v1/admin/dead-letters``: per tenant, admins only, audited, replay through the outbox."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import add_user


async def insert_letter(owner_db: Any, tenant_id: Any, note: str) -> Any:
    return await owner_db.fetchval(
        "insert into dead_letters (tenant_id, message_id, actor_name, queue, payload, effect_key, error, retries) "
        "values ($1, $2, 'core.ping', 'default', $3::jsonb, $4, 'PermanentError: boom', 2) returning id",
        tenant_id,
        uuid.uuid4().hex,
        f'{{"note": "{note}"}}',
        f"effect-{note}",
    )


async def test_admins_list_read_and_replay_their_dead_letters(client: Any, org: Any, owner_db: Any) -> None:
    letter_id = await insert_letter(owner_db, org.tenant_id, "mine")

    listed = await client.get("/api/v1/admin/dead-letters", headers=org.headers)
    assert listed.status_code == 200
    assert [(r["id"], r["payload"], r["retries"]) for r in listed.json()] == [(str(letter_id), {"note": "mine"}, 2)]
    one = await client.get(f"/api/v1/admin/dead-letters/{letter_id}", headers=org.headers)
    assert one.json()["error"] == "PermanentError: boom"

    replay = await client.post(f"/api/v1/admin/dead-letters/{letter_id}/replay", headers=org.headers)
    assert replay.status_code == 202
    outbox = await owner_db.fetchrow(
        "select actor_name, payload::text, effect_key, published_at from outbox where id = $1",
        uuid.UUID(replay.json()["outbox_id"]),
    )
    assert (outbox["actor_name"], outbox["payload"], outbox["effect_key"]) == (
        "core.ping",
        '{"note": "mine"}',
        "effect-mine",  # the original effect key: a replay can never do the work twice
    )
    again = await client.post(f"/api/v1/admin/dead-letters/{letter_id}/replay", headers=org.headers)
    assert again.json()["dead_letter"]["replay_count"] == 2
    assert again.json()["outbox_id"] != replay.json()["outbox_id"]
    filtered = await client.get("/api/v1/admin/dead-letters?replayed=false", headers=org.headers)
    assert filtered.json() == []

    actions = await owner_db.fetch(
        "select action from audit_events where tenant_id = $1 and resource_type = 'dead_letter' order by occurred_at",
        org.tenant_id,
    )
    assert [a["action"] for a in actions] == [
        "dead_letter.list",
        "dead_letter.read",
        "dead_letter.replay",
        "dead_letter.replay",
        "dead_letter.list",
    ]


async def test_another_tenants_dead_letter_is_a_404_like_a_random_id(
    client: Any, org: Any, other_org: Any, owner_db: Any
) -> None:
    foreign = await insert_letter(owner_db, other_org.tenant_id, "theirs")
    for path in (f"/api/v1/admin/dead-letters/{foreign}", f"/api/v1/admin/dead-letters/{uuid.uuid4()}"):
        response = await client.get(path, headers=org.headers)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
    replay = await client.post(f"/api/v1/admin/dead-letters/{foreign}/replay", headers=org.headers)
    assert replay.status_code == 404
    assert (await client.get("/api/v1/admin/dead-letters", headers=org.headers)).json() == []


async def test_coordinators_cannot_see_dead_letters_and_bad_filters_are_400(client: Any, org: Any) -> None:
    coordinator = await add_user(client, org, "coordinator")
    assert (await client.get("/api/v1/admin/dead-letters", headers=coordinator)).status_code == 403
    assert (await client.get("/api/v1/admin/dead-letters")).status_code == 401
    bad = await client.get("/api/v1/admin/dead-letters?limit=0", headers=org.headers)
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")
