"""``/api/v1/admin/modules``: the module catalogue a tenant's admins see and change.

The session app loads the installed plugins (the example partner plugin among them). Plans are
checked with a second app whose plugin host holds one in-test plugin that only the enterprise plan
may enable; it shares the session's event loop and database, like the strict app in test_auth.py.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from core.app import create_app
from core.plugins.manager import PluginHost
from core.plugins.sdk import ModuleSpec, hookimpl
from tests.conftest import Org, add_user, enable_module

Client = AsyncTestClient[Any]
MODULES = "/api/v1/admin/modules"
MODULE = "partner_example"
DEFAULTS = {"greeting": "hello", "max_notes": 10}
PROBLEM_JSON = "application/problem+json"


class EnterprisePlugin:
    """An in-test plugin whose module only the enterprise plan includes."""

    @staticmethod
    @hookimpl
    def register_module() -> ModuleSpec:
        return ModuleSpec(name="planned", title="Enterprise only", plans=frozenset({"enterprise"}))


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def catalogue(client: Client, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    response = await client.get(MODULES, headers=headers)
    assert response.status_code == 200, response.text
    return {m["name"]: m for m in response.json()}


async def put_module(
    client: Client, headers: dict[str, str], body: dict[str, Any], name: str = MODULE
) -> httpx.Response:
    return await client.put(f"{MODULES}/{name}", headers=headers, json=body)


async def modules_version(owner_db: asyncpg.Connection[Any], org: Org) -> int:
    return int(await owner_db.fetchval("select modules_version from tenants where id = $1", org.tenant_id))


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """The object schema behind a top-level ``$ref`` into ``$defs``."""
    if "$ref" in schema:
        return dict(schema["$defs"][schema["$ref"].rsplit("/", 1)[-1]])
    return schema


@pytest.fixture
def planned_client(settings: Any, client: Client) -> Client:
    """The app with only ``EnterprisePlugin`` loaded, on the session client's loop and without a lifespan."""
    host = PluginHost(load_entry_points=False, plugins=[("planned", EnterprisePlugin)])
    assert host.records["planned"].status == "loaded", host.records["planned"]
    planned: Client = AsyncTestClient(app=create_app(settings, host=host))
    planned.blocking_portal = client.blocking_portal
    return planned


# --- the catalogue -----------------------------------------------------------------------------------------------


async def test_the_catalogue_lists_the_partner_module_with_its_defaults(client: Client, org: Org) -> None:
    module = (await catalogue(client, org.headers))[MODULE]

    assert module["title"] == "Partner example"
    assert module["version"] == "0.1.0"
    assert module["available"] is True
    assert module["enabled"] is False
    assert module["settings"] == DEFAULTS  # never configured: the Struct's defaults
    assert module["failures"] == []
    schema = resolve(module["settings_schema"])
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["properties"]["greeting"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 40,
        "default": "hello",
        "description": "Echoed by the notes routes.",  # the field's docstring
    }
    assert schema["properties"]["max_notes"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 10,
        "description": "How many notes one patient may have.",
    }


async def test_enabling_and_configuring_shows_in_the_catalogue_of_that_tenant_only(
    client: Client, org: Org, other_org: Org
) -> None:
    response = await put_module(client, org.headers, {"enabled": True, "settings": {"max_notes": 5}})
    assert response.status_code == 200, response.text
    assert response.json()["enabled"] is True
    assert response.json()["settings"] == {"greeting": "hello", "max_notes": 5}

    mine = (await catalogue(client, org.headers))[MODULE]
    assert (mine["enabled"], mine["settings"]) == (True, {"greeting": "hello", "max_notes": 5})
    theirs = (await catalogue(client, other_org.headers))[MODULE]
    assert (theirs["enabled"], theirs["settings"]) == (False, DEFAULTS)


async def test_settings_can_be_saved_before_enabling(client: Client, org: Org) -> None:
    response = await put_module(client, org.headers, {"settings": {"greeting": "hi"}})
    assert response.status_code == 200, response.text
    assert response.json()["enabled"] is False

    enabled = await put_module(client, org.headers, {"enabled": True})
    assert enabled.json()["settings"] == {"greeting": "hi", "max_notes": 10}
    assert (await client.get(f"/api/v1/{MODULE}/notes", headers=org.headers)).json()["greeting"] == "hi"


# --- bad requests ------------------------------------------------------------------------------------------------


async def test_an_unknown_module_is_404(client: Client, org: Org) -> None:
    assert_problem(await put_module(client, org.headers, {"enabled": True}, name="no_such_module"), 404)


async def test_an_unknown_field_in_the_body_is_400(client: Client, org: Org) -> None:
    assert_problem(await put_module(client, org.headers, {"enabled": True, "colour": "blue"}), 400)
    assert_problem(await put_module(client, org.headers, {"enabled": "yes please"}), 400)
    assert (await catalogue(client, org.headers))[MODULE]["enabled"] is False


async def test_invalid_settings_name_the_field_and_change_nothing(client: Client, org: Org) -> None:
    body = assert_problem(await put_module(client, org.headers, {"enabled": True, "settings": {"max_notes": -1}}), 422)
    assert [e["key"] for e in body["errors"]] == ["settings.max_notes"]
    body = assert_problem(await put_module(client, org.headers, {"settings": {"nickname": "x"}}), 422)
    assert [e["key"] for e in body["errors"]] == ["settings.nickname"]

    module = (await catalogue(client, org.headers))[MODULE]
    assert (module["enabled"], module["settings"]) == (False, DEFAULTS)


# --- who may --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["coordinator", "clinician", "viewer"])
async def test_only_admins_manage_modules(client: Client, org: Org, role: str) -> None:
    headers = await add_user(client, org, role)
    assert_problem(await client.get(MODULES, headers=headers), 403)
    assert_problem(await put_module(client, headers, {"enabled": True}), 403)
    assert (await catalogue(client, org.headers))[MODULE]["enabled"] is False


async def test_an_admin_who_is_not_the_owner_may(client: Client, org: Org) -> None:
    admin = await add_user(client, org, "admin")
    assert (await put_module(client, admin, {"enabled": True})).status_code == 200
    assert (await catalogue(client, admin))[MODULE]["enabled"] is True


async def test_api_keys_never_manage_modules(client: Client, org: Org) -> None:
    refused = await client.post(
        "/api/v1/api-keys", headers=org.headers, json={"name": "no", "scopes": ["modules:manage"]}
    )
    assert_problem(refused, 422)
    created = await client.post(
        "/api/v1/api-keys",
        headers=org.headers,
        json={
            "name": "integration",
            "scopes": ["patients:read", "patients:write", "audit:read", "partner_example:read"],
        },
    )
    assert created.status_code == 201, created.text
    key = {"X-API-Key": created.json()["key"]}

    assert_problem(await client.get(MODULES, headers=key), 403)
    assert_problem(await put_module(client, key, {"enabled": True}), 403)


async def test_unauthenticated_is_401(client: Client) -> None:
    assert_problem(await client.get(MODULES), 401)
    assert_problem(await client.put(f"{MODULES}/{MODULE}", json={"enabled": True}), 401)


# --- plans ---------------------------------------------------------------------------------------------------------


async def test_a_module_outside_the_tenants_plan_cannot_be_enabled(
    planned_client: Client, org: Org, owner_db: asyncpg.Connection[Any]
) -> None:
    modules = await catalogue(planned_client, org.headers)
    assert set(modules) == {"planned"}  # this app's host has only the in-test plugin
    assert (modules["planned"]["available"], modules["planned"]["enabled"]) == (False, False)
    assert modules["planned"]["settings"] is None
    assert modules["planned"]["settings_schema"] is None

    body = assert_problem(await put_module(planned_client, org.headers, {"enabled": True}, name="planned"), 403)
    assert "starter" in body["detail"]
    assert (await catalogue(planned_client, org.headers))["planned"]["enabled"] is False

    await owner_db.execute("update tenants set plan = 'enterprise' where id = $1", org.tenant_id)
    assert (await catalogue(planned_client, org.headers))["planned"]["available"] is True
    enabled = await put_module(planned_client, org.headers, {"enabled": True}, name="planned")
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["enabled"] is True


async def test_a_module_without_settings_refuses_settings(
    planned_client: Client, org: Org, owner_db: asyncpg.Connection[Any]
) -> None:
    await owner_db.execute("update tenants set plan = 'enterprise' where id = $1", org.tenant_id)
    body = assert_problem(
        await put_module(planned_client, org.headers, {"enabled": True, "settings": {"x": 1}}, name="planned"), 422
    )
    assert [e["key"] for e in body["errors"]] == ["settings"]


# --- audit and cache invalidation --------------------------------------------------------------------------------


async def test_every_change_is_audited(client: Client, org: Org) -> None:
    await enable_module(client, org, MODULE, {"greeting": "hey"})
    assert (await put_module(client, org.headers, {"enabled": False})).status_code == 200
    assert_problem(await put_module(client, org.headers, {"settings": {"max_notes": 0}}), 422)  # refused: no event

    response = await client.get("/api/v1/audit-events", headers=org.headers, params={"action": "module.update"})
    events = response.json()["items"]
    assert [e["details"] for e in events] == [
        {"module": MODULE, "enabled": False},
        {"module": MODULE, "enabled": True},
    ]
    for event in events:
        assert event["actor_id"] == str(org.owner_id)
        assert event["resource_type"] == "module"


async def test_every_change_bumps_the_tenants_modules_version(
    client: Client, org: Org, other_org: Org, owner_db: asyncpg.Connection[Any]
) -> None:
    start, theirs = await modules_version(owner_db, org), await modules_version(owner_db, other_org)

    await enable_module(client, org, MODULE)
    assert await modules_version(owner_db, org) == start + 1
    assert (await put_module(client, org.headers, {"settings": {"greeting": "yo"}})).status_code == 200
    assert await modules_version(owner_db, org) == start + 2
    assert (await put_module(client, org.headers, {"enabled": False})).status_code == 200
    assert await modules_version(owner_db, org) == start + 3
    assert_problem(await put_module(client, org.headers, {"settings": {"greeting": ""}}), 422)
    assert await modules_version(owner_db, org) == start + 3  # a refused change is rolled back

    await client.get(MODULES, headers=org.headers)
    assert await modules_version(owner_db, org) == start + 3
    assert await modules_version(owner_db, other_org) == theirs


# --- settings stored by an older plugin version ------------------------------------------------------------------


async def test_settings_the_plugin_no_longer_accepts_do_not_lock_the_module(
    client: Client, org: Org, owner_db: asyncpg.Connection[Any]
) -> None:
    """After an upgrade tightens the settings schema, admins can still disable, re-enable and fix them."""
    await enable_module(client, org, MODULE, {"greeting": "hey", "max_notes": 7})
    await owner_db.execute(
        'update tenant_modules set settings = \'{"greeting": "hey", "max_notes": 1000, "retired": true}\' '
        "where tenant_id = $1 and module = $2",
        org.tenant_id,
        MODULE,
    )
    await owner_db.execute("update tenants set modules_version = modules_version + 1 where id = $1", org.tenant_id)
    notes = f"/api/v1/{MODULE}/notes"
    assert (await client.get(notes, headers=org.headers)).json()["greeting"] == "hello"  # defaults meanwhile

    disabled = await put_module(client, org.headers, {"enabled": False})
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["enabled"] is False
    assert disabled.json()["settings"] == {"greeting": "hey", "max_notes": 1000, "retired": True}  # kept as stored
    enabled = await put_module(client, org.headers, {"enabled": True})
    assert enabled.status_code == 200, enabled.text

    fixed = await put_module(client, org.headers, {"settings": {"greeting": "hey", "max_notes": 70}})
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["settings"] == {"greeting": "hey", "max_notes": 70}
    assert (await client.get(notes, headers=org.headers)).json()["greeting"] == "hey"
