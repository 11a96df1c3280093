"""The example partner plugin (``tests/partner_example``, its own package installed with pip), end to end.

It is discovered through its entry point, migrated by ``carecoord migrate``, and enabled per tenant
through the admin API: its routes, event hooks and settings reach only the tenants that enabled it,
a hook that raises never breaks core, and disabling keeps its data. Everything goes over HTTP against
the real database; the owner connection only looks at rows the API cannot show.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from typing import IO, Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import Org, add_user, create_patient, enable_module, patient_body

Client = AsyncTestClient[Any]
MODULE = "partner_example"
NOTES = f"/api/v1/{MODULE}/notes"
NONEXISTENT = "/api/v1/nonexistent_module/notes"
MODULES = "/api/v1/admin/modules"
PROBLEM_JSON = "application/problem+json"


def carecoord(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args], env=dict(os.environ), capture_output=True, text=True, timeout=120
    )


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def set_module(client: Client, org: Org, **body: Any) -> httpx.Response:
    return await client.put(f"{MODULES}/{MODULE}", headers=org.headers, json=body)


async def module_state(client: Client, org: Org) -> dict[str, Any]:
    response = await client.get(MODULES, headers=org.headers)
    assert response.status_code == 200, response.text
    (state,) = [m for m in response.json() if m["name"] == MODULE]
    return dict(state)


async def list_notes(client: Client, headers: dict[str, str], patient_id: str | None = None) -> dict[str, Any]:
    params = {"patient_id": patient_id} if patient_id else None
    response = await client.get(NOTES, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def add_note(client: Client, org: Org, patient_id: str, body: str = "called, left a message") -> httpx.Response:
    return await client.post(NOTES, headers=org.headers, json={"patient_id": patient_id, "body": body})


async def stored_notes(owner_db: asyncpg.Connection[Any], tenant_id: UUID, patient_id: str | None = None) -> list[str]:
    """Note bodies as the owner sees them (no RLS, no module check): what really is in the table."""
    rows = await owner_db.fetch(
        "select body from partner_example_notes where tenant_id = $1 and ($2::uuid is null or patient_id = $2::uuid) "
        "order by created_at, id",
        tenant_id,
        patient_id,
    )
    return [r["body"] for r in rows]


async def audit_events(client: Client, org: Org, action: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/audit-events", headers=org.headers, params={"action": action})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def enabled(client: Client, org: Org) -> Org:
    """``org`` with the partner module enabled (default settings)."""
    await enable_module(client, org, MODULE)
    return org


def start_api(port: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "core.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
async def second_api() -> AsyncIterator[httpx.AsyncClient]:
    """A second API process (``carecoord serve``) on the session's database and Redis."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = start_api(port, log)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
                for _ in range(600):
                    if process.poll() is not None:
                        log.seek(0)
                        pytest.fail(f"second API process exited {process.returncode}: {log.read().decode()}")
                    try:
                        if (await http.get("/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
                else:
                    pytest.fail("second API process did not become healthy within 60 s")
                yield http
        finally:
            stop(process)


# --- discovery and migration ------------------------------------------------------------------------------------


def test_plugin_list_shows_the_partner_plugin_loaded() -> None:
    result = carecoord("plugin", "list")
    assert result.returncode == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    assert header.split("\t") == ["name", "version", "hook_api", "status", "module", "error"]
    rows = {line.split("\t")[0]: line.split("\t") for line in lines}
    assert rows[MODULE] == [
        MODULE,
        importlib.metadata.version("carecoord-partner-example"),
        "1",
        "loaded",
        MODULE,
        "",
    ]


async def test_migrate_created_the_plugins_table_with_forced_row_level_security(
    owner_db: asyncpg.Connection[Any],
) -> None:
    table = await owner_db.fetchrow(
        "select c.relrowsecurity, c.relforcerowsecurity, has_table_privilege('carecoord_app', c.oid, 'insert') "
        "as app_can_insert from pg_class c where c.relname = 'partner_example_notes' and c.relkind = 'r'"
    )
    assert table is not None, "carecoord migrate did not run the plugin's migration"
    assert table["relrowsecurity"]
    assert table["relforcerowsecurity"]
    assert table["app_can_insert"]
    policies = {
        r["policyname"]: r["permissive"]
        for r in await owner_db.fetch(
            "select policyname, permissive from pg_policies where tablename = $1", "partner_example_notes"
        )
    }
    assert policies == {"tenant_access": "PERMISSIVE", "tenant_isolation": "RESTRICTIVE"}
    applied = await owner_db.fetchval("select count(*) from migration where app_name = $1", MODULE)
    assert applied == 1


# --- enabled for one tenant only --------------------------------------------------------------------------------


async def test_routes_answer_only_for_the_tenant_that_enabled_the_module(
    client: Client, enabled: Org, other_org: Org
) -> None:
    patient = await create_patient(client, enabled)
    created = await add_note(client, enabled, patient["id"], "first call")
    assert created.status_code == 201, created.text
    assert created.json()["note"]["body"] == "first call"
    assert "first call" in [n["body"] for n in (await list_notes(client, enabled.headers))["notes"]]

    # For the other tenant the routes do not exist: the very same 404 as a path nobody mounted.
    missing = assert_problem(await client.get(NONEXISTENT, headers=other_org.headers), 404)
    assert assert_problem(await client.get(NOTES, headers=other_org.headers), 404) == missing
    other_patient = await create_patient(client, other_org)
    refused = await client.post(NOTES, headers=other_org.headers, json={"patient_id": other_patient["id"], "body": "x"})
    assert assert_problem(refused, 404) == assert_problem(
        await client.post(
            NONEXISTENT, headers=other_org.headers, json={"patient_id": other_patient["id"], "body": "x"}
        ),
        404,
    )
    assert not (await module_state(client, other_org))["enabled"]
    assert (await module_state(client, enabled))["enabled"]

    # Without credentials the route asks for them, like every core route.
    assert_problem(await client.get(NOTES), 401)


async def test_a_tenant_cannot_reach_another_tenants_patient_through_the_plugin(
    client: Client, enabled: Org, other_org: Org, owner_db: asyncpg.Connection[Any]
) -> None:
    await enable_module(client, other_org, MODULE)
    theirs = await create_patient(client, other_org)

    assert_problem(await add_note(client, enabled, theirs["id"]), 404)
    assert (await list_notes(client, enabled.headers, theirs["id"]))["notes"] == []
    assert await stored_notes(owner_db, enabled.tenant_id, theirs["id"]) == []


async def test_the_event_hook_fires_for_the_enabled_tenant_only(
    client: Client, enabled: Org, other_org: Org, owner_db: asyncpg.Connection[Any]
) -> None:
    ours = await create_patient(client, enabled, given_name="Ada")
    theirs = await create_patient(client, other_org, given_name="Grace")

    listed = (await list_notes(client, enabled.headers, ours["id"]))["notes"]
    assert [n["body"] for n in listed] == ["welcome Ada"]
    assert listed[0]["patient_id"] == ours["id"]
    assert await stored_notes(owner_db, enabled.tenant_id, ours["id"]) == ["welcome Ada"]
    assert await stored_notes(owner_db, other_org.tenant_id) == []
    assert await stored_notes(owner_db, other_org.tenant_id, theirs["id"]) == []


async def test_permissions_of_the_plugin_apply_to_roles_and_api_keys(client: Client, enabled: Org) -> None:
    patient = await create_patient(client, enabled)
    coordinator = await add_user(client, enabled, "coordinator")
    viewer = await add_user(client, enabled, "viewer")

    assert (await client.get(NOTES, headers=coordinator)).status_code == 200
    posted = await client.post(NOTES, headers=coordinator, json={"patient_id": patient["id"], "body": "by coordinator"})
    assert posted.status_code == 201, posted.text
    assert_problem(await client.get(NOTES, headers=viewer), 403)

    async def api_key(*scopes: str) -> dict[str, str]:
        response = await client.post(
            "/api/v1/api-keys", headers=enabled.headers, json={"name": "integration", "scopes": list(scopes)}
        )
        assert response.status_code == 201, response.text
        return {"X-API-Key": response.json()["key"]}

    reader = await api_key("partner_example:read")
    assert (await client.get(NOTES, headers=reader)).status_code == 200
    assert_problem(await client.post(NOTES, headers=reader, json={"patient_id": patient["id"], "body": "no"}), 403)
    assert_problem(await client.get(NOTES, headers=await api_key("patients:read")), 403)


# --- settings ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"max_notes": 0}, "settings.max_notes"),
        ({"max_notes": 101}, "settings.max_notes"),
        ({"max_notes": "many"}, "settings.max_notes"),
        ({"greeting": "x" * 41}, "settings.greeting"),
        ({"greeting": ""}, "settings.greeting"),
        ({"greeting": "hi", "colour": "blue"}, "settings.colour"),
    ],
)
async def test_invalid_settings_are_rejected_naming_the_field(
    client: Client, enabled: Org, bad: dict[str, Any], field: str
) -> None:
    body = assert_problem(await set_module(client, enabled, settings=bad), 422)
    assert field in [error["key"] for error in body["errors"]], body

    # Nothing was saved: the module keeps its defaults and stays enabled.
    state = await module_state(client, enabled)
    assert state["enabled"]
    assert state["settings"] == {"greeting": "hello", "max_notes": 10}


async def test_settings_change_what_the_routes_do(client: Client, enabled: Org) -> None:
    patient = await create_patient(client, enabled)  # gets its welcome note: 1 of max_notes
    assert (await list_notes(client, enabled.headers))["greeting"] == "hello"

    response = await set_module(client, enabled, settings={"greeting": "bonjour", "max_notes": 2})
    assert response.status_code == 200, response.text
    assert response.json()["settings"] == {"greeting": "bonjour", "max_notes": 2}

    second = await add_note(client, enabled, patient["id"])
    assert second.status_code == 201, second.text
    assert second.json()["greeting"] == "bonjour"
    assert (await list_notes(client, enabled.headers))["greeting"] == "bonjour"
    body = assert_problem(await add_note(client, enabled, patient["id"]), 422)
    assert "at most 2" in body["detail"]

    assert (await set_module(client, enabled, settings={"max_notes": 3})).status_code == 200
    assert (await add_note(client, enabled, patient["id"])).status_code == 201
    assert (await list_notes(client, enabled.headers))["greeting"] == "hello"  # settings are replaced as a whole


# --- isolation of a failing plugin -------------------------------------------------------------------------------


async def test_a_raising_hook_does_not_break_patient_creation_or_update(
    client: Client, enabled: Org, owner_db: asyncpg.Connection[Any]
) -> None:
    created = await client.post(
        "/api/v1/patients", headers=enabled.headers, json=patient_body(given_name="Bea", family_name="Explode")
    )
    assert created.status_code == 201, created.text
    exploded = created.json()
    assert (await client.get(f"/api/v1/patients/{exploded['id']}", headers=enabled.headers)).status_code == 200
    # The hook wrote its welcome note before raising: the host undid it.
    assert await stored_notes(owner_db, enabled.tenant_id, exploded["id"]) == []

    patient = await create_patient(client, enabled, given_name="Cy")
    for _ in range(2):
        response = await client.patch(
            f"/api/v1/patients/{patient['id']}", headers=enabled.headers, json={"family_name": "Explode"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["family_name"] == "Explode"
    reread = await client.get(f"/api/v1/patients/{patient['id']}", headers=enabled.headers)
    assert reread.json()["family_name"] == "Explode"
    assert await stored_notes(owner_db, enabled.tenant_id, patient["id"]) == ["welcome Cy"]

    failures = {f["hook"]: f for f in (await module_state(client, enabled))["failures"]}
    assert set(failures) == {"patient_created", "patient_updated"}
    assert failures["patient_created"]["failures"] == 1
    assert failures["patient_updated"]["failures"] == 2
    assert failures["patient_updated"]["last_error"].startswith("RuntimeError: patient_updated:")

    # The undone writes took their audit events with them, and the audit chain is intact.
    creations = await audit_events(client, enabled, "partner_example.note.create")
    assert [e["details"]["patient_id"] for e in creations] == [patient["id"]]
    verified = carecoord("audit", "verify", "--tenant", enabled.slug)
    assert verified.returncode == 0, verified.stdout + verified.stderr


async def test_failures_are_counted_per_tenant(client: Client, enabled: Org, other_org: Org) -> None:
    await enable_module(client, other_org, MODULE)
    await create_patient(client, enabled, family_name="Explode")

    assert [f["hook"] for f in (await module_state(client, enabled))["failures"]] == ["patient_created"]
    assert (await module_state(client, other_org))["failures"] == []


# --- disable and re-enable ---------------------------------------------------------------------------------------


async def test_disabling_keeps_the_data_and_re_enabling_brings_it_back(
    client: Client, enabled: Org, owner_db: asyncpg.Connection[Any]
) -> None:
    patient = await create_patient(client, enabled, given_name="Ada")
    assert (await add_note(client, enabled, patient["id"], "kept")).status_code == 201
    assert (await set_module(client, enabled, settings={"greeting": "welcome back"})).status_code == 200

    disabled = await set_module(client, enabled, enabled=False)
    assert disabled.status_code == 200, disabled.text
    assert not disabled.json()["enabled"]
    missing = assert_problem(await client.get(NONEXISTENT, headers=enabled.headers), 404)
    assert assert_problem(await client.get(NOTES, headers=enabled.headers), 404) == missing
    while_off = await create_patient(client, enabled, given_name="Ignored")
    assert await stored_notes(owner_db, enabled.tenant_id) == ["welcome Ada", "kept"]

    assert (await set_module(client, enabled, enabled=True)).status_code == 200
    listed = await list_notes(client, enabled.headers)
    assert [n["body"] for n in listed["notes"]] == ["welcome Ada", "kept"]
    assert listed["greeting"] == "welcome back"
    assert await stored_notes(owner_db, enabled.tenant_id, while_off["id"]) == []


# --- audit -------------------------------------------------------------------------------------------------------


async def test_the_plugins_reads_and_writes_of_patient_data_are_audited(client: Client, enabled: Org) -> None:
    patient = await create_patient(client, enabled)
    note = (await add_note(client, enabled, patient["id"])).json()["note"]
    await list_notes(client, enabled.headers, patient["id"])

    created = await audit_events(client, enabled, "partner_example.note.create")
    assert {e["resource_id"] for e in created} >= {note["id"]}
    assert len(created) == 2  # the welcome note from the event hook, and the note added over HTTP
    for event in created:
        assert event["details"]["module"] == MODULE
        assert event["details"]["patient_id"] == patient["id"]
        assert event["actor_id"] == str(enabled.owner_id)
        assert event["resource_type"] == "partner_example_note"
    (listed,) = await audit_events(client, enabled, "partner_example.note.list")
    assert listed["details"] == {"module": MODULE, "count": 2, "patient_id": patient["id"]}


# --- across processes --------------------------------------------------------------------------------------------


async def test_another_api_process_sees_module_changes_on_its_next_request(
    client: Client, org: Org, second_api: httpx.AsyncClient
) -> None:
    token = (
        await second_api.post(
            "/api/v1/auth/token", json={"tenant": org.slug, "email": org.email, "password": org.password}
        )
    ).json()["access_token"]
    there = {"Authorization": f"Bearer {token}"}
    assert (await second_api.get(NOTES, headers=there)).status_code == 404  # cached as disabled there

    await enable_module(client, org, MODULE)
    assert (await second_api.get(NOTES, headers=there)).status_code == 200

    assert (await set_module(client, org, settings={"greeting": "from afar"})).status_code == 200
    assert (await second_api.get(NOTES, headers=there)).json()["greeting"] == "from afar"

    assert (await set_module(client, org, enabled=False)).status_code == 200
    assert (await second_api.get(NOTES, headers=there)).status_code == 404

    assert (await set_module(client, org, enabled=True)).status_code == 200
    assert (await second_api.get(NOTES, headers=there)).status_code == 200
    # The token the other process issued works here too: one service, two processes.
    assert (await client.get(NOTES, headers=there)).status_code == 200
