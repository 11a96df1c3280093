"""A partner plugin's actor, declared through the plugin host, run by a real worker with the tenant's settings."""

from __future__ import annotations

import asyncio
from typing import Any

from core.outbox.relay import publish_pending
from tests.conftest import create_patient, enable_module
from tests.workers.conftest import wait_for
from workers.broker import build_broker, publisher


async def add_note(client: Any, org: Any, body: str) -> str:
    patient = await create_patient(client, org)
    response = await client.post(
        "/api/v1/partner_example/notes", headers=org.headers, json={"patient_id": patient["id"], "body": body}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["note"]["id"])


async def note_bodies(owner_db: Any, tenant_id: Any) -> list[str]:
    rows = await owner_db.fetch(
        "select body from partner_example_notes where tenant_id = $1 order by created_at, id", tenant_id
    )
    return [r["body"] for r in rows]


async def test_a_plugin_job_runs_in_its_tenant_with_its_settings_and_not_where_disabled(
    client: Any,
    org: Any,
    other_org: Any,
    owner_db: Any,
    redis_server: Any,
    worker_settings: Any,
    start_worker: Any,
    app_loop: Any,
) -> None:
    await enable_module(client, org, "partner_example", {"greeting": "hola"})
    await enable_module(client, other_org, "partner_example")
    mine = await add_note(client, org, "bring the discharge letter")
    theirs = await add_note(client, other_org, "call the pharmacy")

    queued = await client.post(f"/api/v1/partner_example/notes/{mine}/reply", headers=org.headers)
    assert queued.status_code == 202, queued.text
    again = await client.post(f"/api/v1/partner_example/notes/{mine}/reply", headers=org.headers)
    assert again.json()["job_id"] == queued.json()["job_id"]  # same idempotency key: one job
    foreign = await client.post(f"/api/v1/partner_example/notes/{theirs}/reply", headers=org.headers)
    assert foreign.status_code == 404
    assert (
        await client.post(f"/api/v1/partner_example/notes/{theirs}/reply", headers=other_org.headers)
    ).status_code == 202
    disabled = await client.put(
        "/api/v1/admin/modules/partner_example", headers=other_org.headers, json={"enabled": False}
    )
    assert disabled.status_code == 200

    server = redis_server()
    settings = worker_settings(server.url)
    publish = publisher(build_broker(settings))
    assert await app_loop(publish_pending, org.tenant_id, publish) == 1
    assert await app_loop(publish_pending, other_org.tenant_id, publish) == 1
    start_worker(settings, threads=2)

    notes = await wait_for(
        lambda: note_bodies(owner_db, org.tenant_id), lambda n: len(n) == 3, what="the reply note"
    )  # welcome note (patient_created hook), the note, the reply
    assert notes[-1] == "hola, re: bring the discharge letter"
    server_client = server.client()
    await wait_for(
        lambda: asyncio.to_thread(server_client.hlen, f"{settings.queue_namespace}:default.msgs"),
        lambda n: n == 0,
        what="every message acknowledged",
    )
    assert await owner_db.fetchval("select count(*) from job_effects where tenant_id = $1", other_org.tenant_id) == 0
    await wait_for(
        lambda: owner_db.fetchval(
            "select count(*) from job_effects where tenant_id = $1 and actor_name = 'partner_example.reply'",
            org.tenant_id,
        ),
        lambda n: n == 1,
        what="one effect",
    )
    assert await note_bodies(owner_db, other_org.tenant_id) == [
        "welcome " + (await first_name(owner_db, other_org)),
        "call the pharmacy",
    ]
    assert await owner_db.fetchval("select count(*) from dead_letters where tenant_id = $1", other_org.tenant_id) == 0


async def first_name(owner_db: Any, org: Any) -> str:
    return str(await owner_db.fetchval("select given_name from patients where tenant_id = $1", org.tenant_id))
