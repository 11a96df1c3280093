"""TOTP multi-factor login, the tenant-wide MFA requirement, and API keys for integrations, over HTTP."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from typing import Any

import httpx
import pyotp
from litestar.testing import AsyncTestClient

from tests.conftest import PASSWORD, Org, create_patient, login, patient_body

PROBLEM_JSON = "application/problem+json"
ME = "/api/v1/users/me"
TOTP_STEP = 30


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """``response`` is an RFC 9457 problem with ``status``; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def code_at(secret: str, step: int) -> str:
    """The TOTP code of time step ``step`` (30-second steps since the epoch)."""
    return str(pyotp.TOTP(secret).generate_otp(step))


async def fresh_step() -> int:
    """The current TOTP step, with at least three seconds of it left.

    A flow then uses codes of steps ``s - 1``, ``s`` and ``s + 1``: all inside the
    server's one-step drift window while the flow runs, without waiting a full step.
    """
    left = TOTP_STEP - time.time() % TOTP_STEP
    if left < 3:
        await asyncio.sleep(left + 0.1)
    return int(time.time() // TOTP_STEP)


async def token_response(
    client: AsyncTestClient[Any], slug: str, email: str, password: str = PASSWORD, totp: str | None = None
) -> httpx.Response:
    body = {"tenant": slug, "email": email, "password": password}
    if totp is not None:
        body["totp"] = totp
    return await client.post("/api/v1/auth/token", json=body)


async def enroll(client: AsyncTestClient[Any], headers: dict[str, str]) -> str:
    """Start enrolment; returns the TOTP secret."""
    response = await client.post("/api/v1/auth/mfa/enroll", headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["secret"])


async def add_member(client: AsyncTestClient[Any], org: Org, role: str) -> str:
    """Create a user with ``role`` (password ``PASSWORD``); returns the e-mail."""
    email = f"{role}-{secrets.token_hex(3)}@{org.slug}.example"
    response = await client.post(
        "/api/v1/users", headers=org.headers, json={"email": email, "password": PASSWORD, "role": role}
    )
    assert response.status_code == 201, response.text
    return email


async def create_key(client: AsyncTestClient[Any], org: Org, *scopes: str) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/api-keys", headers=org.headers, json={"name": f"integration {scopes}", "scopes": list(scopes)}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def api_key(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


# --- TOTP enrolment and login ----------------------------------------------------------------------------------


async def test_totp_enrolment_login_replay_and_disable(client: AsyncTestClient[Any], org: Org) -> None:
    enrolment = await client.post("/api/v1/auth/mfa/enroll", headers=org.headers)
    assert enrolment.status_code == 200, enrolment.text
    secret = enrolment.json()["secret"]
    uri = pyotp.parse_uri(enrolment.json()["otpauth_uri"])
    assert uri.secret == secret
    assert uri.name == org.email
    assert uri.issuer == "carecoord"

    # Not on until a code confirms it.
    assert (await token_response(client, org.slug, org.email)).status_code == 200
    assert (await client.get(ME, headers=org.headers)).json()["mfa_enabled"] is False

    step = await fresh_step()
    wrong = code_at(secret, step + 5)
    assert_problem(await client.post("/api/v1/auth/mfa/verify", headers=org.headers, json={"code": wrong}), 422)
    verified = await client.post(
        "/api/v1/auth/mfa/verify", headers=org.headers, json={"code": code_at(secret, step - 1)}
    )
    assert verified.status_code == 204, verified.text
    assert (await client.get(ME, headers=org.headers)).json()["mfa_enabled"] is True
    assert_problem(await client.post("/api/v1/auth/mfa/enroll", headers=org.headers), 409)

    # The password alone no longer logs in; a wrong password does not even reveal that MFA is on.
    missing = assert_problem(await token_response(client, org.slug, org.email), 401)
    assert missing["mfa_required"] is True
    bad_password = assert_problem(await token_response(client, org.slug, org.email, "not the password"), 401)
    assert "mfa_required" not in bad_password

    # The code used to confirm enrolment cannot be used again.
    replayed_enrolment = await token_response(client, org.slug, org.email, totp=code_at(secret, step - 1))
    assert assert_problem(replayed_enrolment, 401)["mfa_required"] is True

    code = code_at(secret, step)
    with_code = await token_response(client, org.slug, org.email, totp=code)
    assert with_code.status_code == 200, with_code.text
    session = bearer(with_code.json()["access_token"])
    assert (await client.get("/api/v1/patients", headers=session)).status_code == 200

    # The same code seen over a shoulder: refused.
    assert assert_problem(await token_response(client, org.slug, org.email, totp=code), 401)["mfa_required"] is True

    # Disabling needs a valid, unused code.
    assert_problem(await client.post("/api/v1/auth/mfa/disable", headers=session, json={"code": code}), 422)
    assert (await client.get(ME, headers=session)).json()["mfa_enabled"] is True
    disabled = await client.post("/api/v1/auth/mfa/disable", headers=session, json={"code": code_at(secret, step + 1)})
    assert disabled.status_code == 204, disabled.text
    assert (await token_response(client, org.slug, org.email)).status_code == 200
    assert_problem(await client.post("/api/v1/auth/mfa/disable", headers=session, json={"code": code}), 409)


async def test_mfa_actions_are_audited(client: AsyncTestClient[Any], org: Org) -> None:
    secret = await enroll(client, org.headers)
    step = await fresh_step()
    verify = await client.post("/api/v1/auth/mfa/verify", headers=org.headers, json={"code": code_at(secret, step)})
    assert verify.status_code == 204

    events = await client.get("/api/v1/audit-events", headers=org.headers, params={"resource_id": str(org.owner_id)})
    actions = [e["action"] for e in events.json()["items"]]
    assert "auth.mfa_enroll" in actions
    assert "auth.mfa_enabled" in actions


async def test_tenant_wide_mfa_requirement(client: AsyncTestClient[Any], org: Org) -> None:
    email = await add_member(client, org, "clinician")
    patient = await create_patient(client, org)

    changed = await client.patch("/api/v1/tenant", headers=org.headers, json={"mfa_required": True})
    assert changed.status_code == 200, changed.text
    assert changed.json()["mfa_required"] is True

    # A member without MFA gets in, but only as far as enrolment.
    pending = await token_response(client, org.slug, email)
    assert pending.status_code == 200, pending.text
    assert pending.json()["mfa_enrolment_required"] is True
    limited = bearer(pending.json()["access_token"])
    assert (await client.get(ME, headers=limited)).json()["email"] == email
    assert_problem(await client.get("/api/v1/patients", headers=limited), 403)
    assert_problem(await client.get(f"/api/v1/patients/{patient['id']}", headers=limited), 403)
    assert_problem(await client.post("/api/v1/patients", headers=limited, json=patient_body()), 403)
    assert_problem(await client.get("/api/v1/tenant", headers=limited), 403)

    # Enrolment is reachable with that token.
    secret = await enroll(client, limited)
    step = await fresh_step()
    verified = await client.post("/api/v1/auth/mfa/verify", headers=limited, json={"code": code_at(secret, step - 1)})
    assert verified.status_code == 204, verified.text

    # A fresh login now needs the code, and then has the role's full access.
    assert assert_problem(await token_response(client, org.slug, email), 401)["mfa_required"] is True
    full = await token_response(client, org.slug, email, totp=code_at(secret, step))
    assert full.status_code == 200, full.text
    assert full.json()["mfa_enrolment_required"] is False
    access = bearer(full.json()["access_token"])
    assert (await client.get(f"/api/v1/patients/{patient['id']}", headers=access)).status_code == 200
    assert (await client.post("/api/v1/patients", headers=access, json=patient_body())).status_code == 201


async def test_only_tenant_managers_can_require_mfa(client: AsyncTestClient[Any], org: Org) -> None:
    email = await add_member(client, org, "coordinator")
    coordinator = bearer((await login(client, org.slug, email, PASSWORD))["access_token"])
    assert_problem(await client.patch("/api/v1/tenant", headers=coordinator, json={"mfa_required": True}), 403)
    assert (await client.get("/api/v1/tenant", headers=org.headers)).json()["mfa_required"] is False


# --- API keys --------------------------------------------------------------------------------------------------


async def test_api_key_is_shown_once_and_works_in_either_header(client: AsyncTestClient[Any], org: Org) -> None:
    created = await create_key(client, org, "patients:read")
    key, meta = created["key"], created["api_key"]
    assert key.startswith("cck_")
    secret = key.split("_", 3)[3]
    assert meta["prefix"] == secret[:8]
    assert meta["scopes"] == ["patients:read"]
    assert meta["revoked_at"] is None

    listed = await client.get("/api/v1/api-keys", headers=org.headers)
    assert listed.status_code == 200
    assert [k["id"] for k in listed.json()] == [meta["id"]]
    assert "key" not in listed.json()[0]
    assert secret not in listed.text

    assert (await client.get("/api/v1/patients", headers=api_key(key))).status_code == 200
    assert (await client.get("/api/v1/patients", headers=bearer(key))).status_code == 200
    used = (await client.get("/api/v1/api-keys", headers=org.headers)).json()[0]
    assert used["last_used_at"] is not None


async def test_api_key_scopes_are_enforced(client: AsyncTestClient[Any], org: Org) -> None:
    reader = (await create_key(client, org, "patients:read"))["key"]
    writer = (await create_key(client, org, "patients:read", "patients:write"))["key"]

    assert_problem(await client.post("/api/v1/patients", headers=api_key(reader), json=patient_body()), 403)
    assert_problem(await client.get("/api/v1/audit-events", headers=api_key(reader)), 403)
    assert (await client.post("/api/v1/patients", headers=api_key(writer), json=patient_body())).status_code == 201

    # Keys never reach user, key or tenant management, nor sessions and MFA.
    assert_problem(await client.get("/api/v1/users", headers=api_key(writer)), 403)
    assert_problem(await client.get("/api/v1/api-keys", headers=api_key(writer)), 403)
    assert_problem(await client.patch("/api/v1/tenant", headers=api_key(writer), json={"name": "Mine"}), 403)
    assert_problem(await client.post("/api/v1/auth/mfa/enroll", headers=api_key(writer)), 403)
    assert_problem(await client.post("/api/v1/auth/logout", headers=api_key(writer)), 400)


async def test_api_keys_cannot_be_given_management_scopes(client: AsyncTestClient[Any], org: Org) -> None:
    for scope in ("users:manage", "api_keys:manage", "tenant:manage", "users:read"):
        response = await client.post(
            "/api/v1/api-keys", headers=org.headers, json={"name": "too much", "scopes": ["patients:read", scope]}
        )
        body = assert_problem(response, 422)
        assert scope in body["errors"][0]["message"]
    unknown = await client.post("/api/v1/api-keys", headers=org.headers, json={"name": "x", "scopes": ["root"]})
    assert 400 <= unknown.status_code < 500
    assert (await client.get("/api/v1/api-keys", headers=org.headers)).json() == []


async def test_api_key_management_needs_the_permission(client: AsyncTestClient[Any], org: Org) -> None:
    email = await add_member(client, org, "coordinator")
    coordinator = bearer((await login(client, org.slug, email, PASSWORD))["access_token"])
    body = {"name": "sneaky", "scopes": ["patients:read"]}
    assert_problem(await client.post("/api/v1/api-keys", headers=coordinator, json=body), 403)
    assert_problem(await client.get("/api/v1/api-keys", headers=coordinator), 403)


async def test_revoked_api_key_is_refused(client: AsyncTestClient[Any], org: Org) -> None:
    created = await create_key(client, org, "patients:read")
    key, key_id = created["key"], created["api_key"]["id"]
    assert (await client.get("/api/v1/patients", headers=api_key(key))).status_code == 200

    assert (await client.delete(f"/api/v1/api-keys/{key_id}", headers=org.headers)).status_code == 204

    assert_problem(await client.get("/api/v1/patients", headers=api_key(key)), 401)
    assert_problem(await client.get("/api/v1/patients", headers=bearer(key)), 401)
    listed = (await client.get("/api/v1/api-keys", headers=org.headers)).json()
    assert listed[0]["revoked_at"] is not None
    assert_problem(await client.delete(f"/api/v1/api-keys/{uuid.uuid4()}", headers=org.headers), 404)


async def test_tampered_or_forged_api_keys_are_refused(client: AsyncTestClient[Any], org: Org, other_org: Org) -> None:
    key = (await create_key(client, org, "patients:read"))["key"]
    prefix, tenant_hex, key_hex, secret = key.split("_", 3)
    flipped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for forged in (
        f"{prefix}_{tenant_hex}_{key_hex}_{flipped}",
        f"{prefix}_{tenant_hex}_{key_hex}_",
        f"{prefix}_{tenant_hex}_{uuid.uuid4().hex}_{secret}",
        f"{prefix}_{other_org.tenant_id.hex}_{key_hex}_{secret}",
        "cck_not_a_key",
        "not-a-key-at-all",
    ):
        assert_problem(await client.get("/api/v1/patients", headers=api_key(forged)), 401)
    # The genuine key still works.
    assert (await client.get("/api/v1/patients", headers=api_key(key))).status_code == 200


async def test_api_key_sees_only_its_own_tenant(client: AsyncTestClient[Any], org: Org, other_org: Org) -> None:
    mine = await create_patient(client, org)
    theirs = await create_patient(client, other_org)
    key = (await create_key(client, org, "patients:read", "patients:write"))["key"]

    assert (await client.get(f"/api/v1/patients/{mine['id']}", headers=api_key(key))).status_code == 200
    foreign = assert_problem(await client.get(f"/api/v1/patients/{theirs['id']}", headers=api_key(key)), 404)
    random = assert_problem(await client.get(f"/api/v1/patients/{uuid.uuid4()}", headers=api_key(key)), 404)
    assert foreign == random
    assert_problem(
        await client.patch(f"/api/v1/patients/{theirs['id']}", headers=api_key(key), json={"given_name": "X"}), 404
    )
    listed = (await client.get("/api/v1/patients", headers=api_key(key))).json()["items"]
    assert [p["id"] for p in listed] == [mine["id"]]


async def test_api_key_actions_are_audited_as_the_key(client: AsyncTestClient[Any], org: Org) -> None:
    created = await create_key(client, org, "patients:read", "patients:write")
    key, key_id = created["key"], created["api_key"]["id"]

    response = await client.post("/api/v1/patients", headers=api_key(key), json=patient_body())
    assert response.status_code == 201, response.text
    patient_id = response.json()["id"]
    assert (await client.get(f"/api/v1/patients/{patient_id}", headers=bearer(key))).status_code == 200

    events = await client.get("/api/v1/audit-events", headers=org.headers, params={"resource_id": patient_id})
    assert events.status_code == 200, events.text
    trail = [(e["action"], e["actor_type"], e["actor_id"]) for e in events.json()["items"]]
    assert trail == [("patient.read", "api_key", key_id), ("patient.create", "api_key", key_id)]
