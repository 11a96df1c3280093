"""Authentication over HTTP: login, access tokens, deny by default, refresh rotation, logout, roles, rate limit."""

from __future__ import annotations

import base64
import inspect
import json
import re
import secrets
import time
import uuid
from typing import Any

import httpx
import jwt
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from core.app import create_app
from core.auth.tokens import ALGORITHM, AUDIENCE, ISSUER
from tests.conftest import PASSWORD, Org, add_user, login, patient_body

PROBLEM_JSON = "application/problem+json"
ME = "/api/v1/users/me"

# Operations anyone may call; everything else in the OpenAPI schema must demand a credential.
PUBLIC_OPERATIONS = {
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/metrics"),
    ("POST", "/api/v1/signup"),
    ("GET", "/api/v1/plans"),
    # e-mailed single-use links: the unguessable token is the capability
    # (tests/core/test_onboarding_api.py refuses tampered, reused and expired tokens)
    ("POST", "/api/v1/signup/verify-email"),
    ("POST", "/api/v1/signup/resend-verification"),
    ("POST", "/api/v1/invitations/inspect"),
    ("POST", "/api/v1/invitations/accept"),
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/refresh"),
    # authenticated by the provider's signature and our own signed reference, not a credential
    # (tests/notifications/test_sms_and_callbacks.py refuses every forged variant with 403)
    ("POST", "/api/v1/notifications/callbacks/{channel}/{ref}"),
    # inbound messages: our signed per-tenant address (plus the provider's signature for SMS)
    # (tests/notifications/test_inbound.py refuses forged variants with 403)
    ("POST", "/api/v1/notifications/inbound/sms/{ref}"),
    ("POST", "/api/v1/notifications/inbound/email/{ref}"),
    # a patient's survey: the unguessable single-use token in the link is the capability
    # (tests/metrics/test_surveys.py refuses altered, reused and expired tokens)
    ("GET", "/s/{token}"),
    ("POST", "/s/{token}"),
}


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """``response`` is an RFC 9457 problem with ``status``; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    assert body["title"]
    assert body["detail"]
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unverified_claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def forge(claims: dict[str, Any], secret: str, *, exp_in: int) -> str:
    """An HS256 token with ``claims`` and an ``exp`` ``exp_in`` seconds from now."""
    return jwt.encode({**claims, "exp": int(time.time()) + exp_in}, secret, algorithm=ALGORITHM)


def with_payload(token: str, claims: dict[str, Any]) -> str:
    """``token``'s header and signature around a different payload (re-encoded without the key)."""
    header, _, signature = token.split(".")
    return f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"


async def login_response(client: AsyncTestClient[Any], tenant: str, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/token", json={"tenant": tenant, "email": email, "password": password})


async def refresh(client: AsyncTestClient[Any], refresh_token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})


def fill_path(path: str, parameters: list[dict[str, Any]] | None = None) -> str:
    """``path`` with a random uuid for each parameter (or 1 where the schema says integer)."""
    integers = {p["name"] for p in parameters or [] if p.get("schema", {}).get("type") == "integer"}
    return re.sub(r"\{([^}]+)\}", lambda m: "1" if m.group(1) in integers else str(uuid.uuid4()), path)


# --- login -----------------------------------------------------------------------------------------------------


async def test_login_with_good_credentials_returns_a_bearer_token_pair(
    client: AsyncTestClient[Any], org: Org, settings: Any
) -> None:
    response = await login_response(client, org.slug, org.email, org.password)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.access_token_ttl_seconds
    assert body["refresh_token"].startswith("ccr_")
    claims = unverified_claims(body["access_token"])
    assert claims["sub"] == str(org.owner_id)
    assert claims["extras"]["tid"] == str(org.tenant_id)
    assert claims["extras"]["role"] == "owner"
    assert (await client.get(ME, headers=bearer(body["access_token"]))).json()["email"] == org.email


async def test_login_is_case_insensitive_on_email_and_slug(client: AsyncTestClient[Any], org: Org) -> None:
    response = await login_response(client, org.slug.upper(), org.email.upper(), org.password)
    assert response.status_code == 200, response.text


async def test_wrong_password_unknown_user_and_unknown_tenant_are_indistinguishable(
    client: AsyncTestClient[Any], org: Org, other_org: Org
) -> None:
    wrong_password = await login_response(client, org.slug, org.email, PASSWORD + "!")
    unknown_user = await login_response(client, org.slug, f"nobody@{org.slug}.example", PASSWORD)
    unknown_tenant = await login_response(client, f"no-such-{secrets.token_hex(4)}", org.email, PASSWORD)
    other_tenant_user = await login_response(client, other_org.slug, org.email, PASSWORD)

    bodies = [assert_problem(r, 401) for r in (wrong_password, unknown_user, unknown_tenant, other_tenant_user)]
    first = bodies[0]
    assert first["type"] == "/problems/unauthorized"
    # Status, type, title and detail (the whole body) match: nothing tells which part was wrong.
    assert all(body == first for body in bodies[1:]), bodies
    assert "mfa_required" not in first


# --- access tokens ---------------------------------------------------------------------------------------------


async def test_a_token_forged_with_the_real_key_is_accepted_so_the_refusals_below_mean_something(
    client: AsyncTestClient[Any], org: Org, settings: Any
) -> None:
    claims = unverified_claims(org.access_token)
    forged = forge(claims, settings.secret_key, exp_in=300)
    response = await client.get(ME, headers=bearer(forged))
    assert response.status_code == 200, response.text


async def test_expired_token_is_refused(client: AsyncTestClient[Any], org: Org, settings: Any) -> None:
    expired = forge(unverified_claims(org.access_token), settings.secret_key, exp_in=-120)
    assert_problem(await client.get(ME, headers=bearer(expired)), 401)


async def test_tampered_tokens_are_refused(client: AsyncTestClient[Any], org: Org, settings: Any) -> None:
    token = (await add_user(client, org, "viewer"))["Authorization"].removeprefix("Bearer ")
    header, payload, signature = token.split(".")

    # One character of the payload flipped.
    flipped = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
    assert_problem(await client.get(ME, headers=bearer(f"{header}.{flipped}.{signature}")), 401)

    # The role raised to owner, payload re-encoded without the key: the old signature no longer matches.
    claims = unverified_claims(token)
    assert claims["extras"]["role"] == "viewer"
    promoted = with_payload(token, {**claims, "extras": {**claims["extras"], "role": "owner"}})
    assert_problem(await client.get(ME, headers=bearer(promoted)), 401)
    assert_problem(await client.get("/api/v1/audit-events", headers=bearer(promoted)), 401)

    # The untouched token still works.
    assert (await client.get(ME, headers=bearer(token))).status_code == 200


async def test_alg_none_token_is_refused(client: AsyncTestClient[Any], org: Org) -> None:
    claims = {**unverified_claims(org.access_token), "exp": int(time.time()) + 300}
    for alg in ("none", "None", "NONE"):
        header = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
        unsigned = f"{header}.{b64url(json.dumps(claims).encode())}."
        assert_problem(await client.get(ME, headers=bearer(unsigned)), 401)


async def test_token_signed_with_another_secret_is_refused(client: AsyncTestClient[Any], org: Org) -> None:
    foreign = forge(unverified_claims(org.access_token), secrets.token_urlsafe(48), exp_in=300)
    assert_problem(await client.get(ME, headers=bearer(foreign)), 401)


async def test_token_with_wrong_audience_or_issuer_is_refused(
    client: AsyncTestClient[Any], org: Org, settings: Any
) -> None:
    claims = unverified_claims(org.access_token)
    assert (claims["aud"], claims["iss"]) == (AUDIENCE, ISSUER)
    for changed in ({"aud": "someone-else"}, {"iss": "someone-else"}):
        token = forge({**claims, **changed}, settings.secret_key, exp_in=300)
        assert_problem(await client.get(ME, headers=bearer(token)), 401)


async def test_missing_or_malformed_credentials_are_refused(client: AsyncTestClient[Any], org: Org) -> None:
    body = assert_problem(await client.get(ME), 401)
    assert body["type"] == "/problems/unauthorized"
    for authorization in (
        f"Basic {base64.b64encode(b'owner:password').decode()}",
        f"Token {org.access_token}",
        "Bearer",
        "Bearer not-a-jwt",
        "garbage",
    ):
        assert_problem(await client.get(ME, headers={"Authorization": authorization}), 401)


# --- deny by default -------------------------------------------------------------------------------------------


async def test_every_non_public_operation_in_the_openapi_schema_requires_credentials(
    client: AsyncTestClient[Any],
) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operations = [
        (method.upper(), path, operation.get("parameters", []))
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    protected = [
        (method, path, parameters)
        for method, path, parameters in operations
        if (method, path) not in PUBLIC_OPERATIONS and not path.startswith("/schema")
    ]
    # The schema really lists the protected surface (and did not silently shrink).
    assert ("GET", "/api/v1/patients") in [(m, p) for m, p, _ in protected]
    assert ("PATCH", "/api/v1/tenant") in [(m, p) for m, p, _ in protected]
    assert len(protected) >= 25

    for method, path, parameters in protected:
        response = await client.request(method, fill_path(path, parameters), json={})
        assert response.status_code == 401, f"{method} {path} answered {response.status_code}"
        assert_problem(response, 401)


def test_every_guard_is_a_coroutine(client: AsyncTestClient[Any]) -> None:
    """litestar runs a plain-function guard in a worker thread: a thread hop on every request it
    guards (measured as a third of a patient read's CPU samples). Every route's guards are coroutines."""
    checked = 0
    for route in client.app.routes:
        for handler in getattr(route, "route_handlers", []):
            for guard in handler.resolve_guards():
                assert inspect.iscoroutinefunction(guard), f"{route.path}: guard {guard.__name__} is not async"
                checked += 1
    assert checked > 100


async def test_options_on_every_path_is_answered_without_a_server_error(client: AsyncTestClient[Any], org: Org) -> None:
    """litestar answers OPTIONS itself and the authentication middleware skips it, so a guard declared on a
    controller or router saw no principal and turned it into a 500 (found by fuzzing every route)."""
    schema = (await client.get("/schema/openapi.json")).json()
    answered = 0
    for path, item in schema["paths"].items():
        parameters = [p for op in item.values() if isinstance(op, dict) for p in op.get("parameters", [])]
        url = fill_path(path, parameters)
        for headers in (org.headers, {}):
            response = await client.options(url, headers=headers)
            assert response.status_code < 500, f"OPTIONS {path}: {response.status_code} {response.text}"
            answered += 1
            if response.status_code == 204:  # Allow names every documented method of the path (schemathesis ST205)
                allowed = {m.strip() for m in response.headers["allow"].split(",")}
                documented = {m.upper() for m in item if m in ("get", "put", "post", "delete", "patch")}
                assert documented <= allowed, f"OPTIONS {path}: Allow {sorted(allowed)}, documented {documented}"
    assert answered > 200


async def test_public_operations_answer_without_credentials(client: AsyncTestClient[Any]) -> None:
    assert (await client.get("/health")).status_code == 200
    assert (await client.get("/schema/openapi.json")).status_code == 200
    assert (await client.get("/metrics")).status_code == 200


# --- refresh rotation and reuse detection ----------------------------------------------------------------------


async def test_refresh_rotates_the_pair_within_the_same_session(client: AsyncTestClient[Any], org: Org) -> None:
    first = await refresh(client, org.refresh_token)
    assert first.status_code == 200, first.text
    pair = first.json()
    assert pair["refresh_token"] != org.refresh_token
    assert pair["access_token"] != org.access_token
    assert pair["token_type"] == "bearer"
    assert (
        unverified_claims(pair["access_token"])["extras"]["sid"] == unverified_claims(org.access_token)["extras"]["sid"]
    )
    assert (await client.get(ME, headers=bearer(pair["access_token"]))).status_code == 200

    second = await refresh(client, pair["refresh_token"])
    assert second.status_code == 200, second.text
    assert second.json()["refresh_token"] != pair["refresh_token"]


async def test_refresh_token_reuse_revokes_the_whole_session(client: AsyncTestClient[Any], org: Org) -> None:
    rotated = await refresh(client, org.refresh_token)
    assert rotated.status_code == 200, rotated.text
    new_access, new_refresh = rotated.json()["access_token"], rotated.json()["refresh_token"]

    # The old refresh token comes back: it leaked.
    reused = await refresh(client, org.refresh_token)
    assert_problem(reused, 401)

    # The thief's and the user's tokens of that family are all dead now.
    assert_problem(await refresh(client, new_refresh), 401)
    assert_problem(await client.get(ME, headers=bearer(new_access)), 401)
    assert_problem(await client.get(ME, headers=org.headers), 401)

    # The reuse is on record, and a fresh login still works.
    again = await login(client, org.slug, org.email, org.password)
    events = await client.get(
        "/api/v1/audit-events", params={"action": "auth.refresh_reuse"}, headers=bearer(again["access_token"])
    )
    assert events.status_code == 200, events.text
    assert {e["actor_id"] for e in events.json()["items"]} == {str(org.owner_id)}


async def test_malformed_and_unknown_refresh_tokens_are_refused(client: AsyncTestClient[Any], org: Org) -> None:
    prefix, tenant, token_id, secret = org.refresh_token.split("_", 3)
    for token in (
        "x" * 40,
        f"{prefix}_{tenant}_{uuid.uuid4().hex}_{secret}",
        f"{prefix}_{tenant}_{token_id}_{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}",
        f"{prefix}_{uuid.uuid4().hex}_{token_id}_{secret}",
    ):
        assert_problem(await refresh(client, token), 401)
    # None of those counted as reuse: the real token still rotates.
    assert (await refresh(client, org.refresh_token)).status_code == 200


# --- logout ----------------------------------------------------------------------------------------------------


async def test_logout_ends_only_that_session(client: AsyncTestClient[Any], org: Org) -> None:
    laptop = await login(client, org.slug, org.email, org.password)
    phone = await login(client, org.slug, org.email, org.password)

    response = await client.post("/api/v1/auth/logout", headers=bearer(laptop["access_token"]))
    assert response.status_code == 204, response.text

    assert_problem(await client.get(ME, headers=bearer(laptop["access_token"])), 401)
    assert_problem(await refresh(client, laptop["refresh_token"]), 401)

    assert (await client.get(ME, headers=bearer(phone["access_token"]))).status_code == 200
    assert (await refresh(client, phone["refresh_token"])).status_code == 200


# --- roles and guards ------------------------------------------------------------------------------------------


async def test_viewer_reads_patients_but_cannot_write(client: AsyncTestClient[Any], org: Org) -> None:
    viewer = await add_user(client, org, "viewer")
    assert (await client.get("/api/v1/patients", headers=viewer)).status_code == 200
    body = assert_problem(await client.post("/api/v1/patients", headers=viewer, json=patient_body()), 403)
    assert body["type"] == "/problems/forbidden"
    listed = (await client.get("/api/v1/patients", headers=org.headers)).json()
    assert listed["items"] == []


async def test_coordinator_cannot_read_audit_or_manage_users(client: AsyncTestClient[Any], org: Org) -> None:
    coordinator = await add_user(client, org, "coordinator")
    assert_problem(await client.get("/api/v1/audit-events", headers=coordinator), 403)
    new_user = {"email": f"new@{org.slug}.example", "password": PASSWORD, "role": "viewer"}
    assert_problem(await client.post("/api/v1/users", headers=coordinator, json=new_user), 403)
    # What the role does allow.
    assert (await client.get("/api/v1/users", headers=coordinator)).status_code == 200
    assert (await client.post("/api/v1/patients", headers=coordinator, json=patient_body())).status_code == 201


async def test_admin_cannot_create_an_owner(client: AsyncTestClient[Any], org: Org) -> None:
    admin = await add_user(client, org, "admin")
    owner = {"email": f"boss@{org.slug}.example", "password": PASSWORD, "role": "owner"}
    assert_problem(await client.post("/api/v1/users", headers=admin, json=owner), 403)
    viewer = {"email": f"viewer@{org.slug}.example", "password": PASSWORD, "role": "viewer"}
    assert (await client.post("/api/v1/users", headers=admin, json=viewer)).status_code == 201
    # The owner can.
    assert (await client.post("/api/v1/users", headers=org.headers, json=owner)).status_code == 201


async def test_clinician_can_create_patients(client: AsyncTestClient[Any], org: Org) -> None:
    clinician = await add_user(client, org, "clinician")
    response = await client.post("/api/v1/patients", headers=clinician, json=patient_body())
    assert response.status_code == 201, response.text
    read = await client.get(f"/api/v1/patients/{response.json()['id']}", headers=clinician)
    assert read.status_code == 200
    assert_problem(await client.get("/api/v1/audit-events", headers=clinician), 403)


# --- login rate limit ------------------------------------------------------------------------------------------


@pytest.fixture
def strict_client(settings: Any, client: AsyncTestClient[Any]) -> AsyncTestClient[Any]:
    """The app with a login limit of 3 a minute, counting in a Redis namespace of its own.

    It runs on the session client's event loop (its blocking portal) and without a
    lifespan of its own: the connection pool and Redis client are process-wide and
    bound to that loop, and a second lifespan would close them under the session app.
    """
    strict = msgspec.structs.replace(
        settings,
        login_rate_limit_per_minute=3,
        rate_limit_namespace=f"carecoord-rate-limit-test-{secrets.token_hex(6)}",
    )
    test_client: AsyncTestClient[Any] = AsyncTestClient(app=create_app(strict))
    test_client.blocking_portal = client.blocking_portal
    return test_client


async def test_login_is_rate_limited(
    strict_client: AsyncTestClient[Any], client: AsyncTestClient[Any], org: Org
) -> None:
    for _ in range(3):
        assert_problem(await login_response(strict_client, org.slug, org.email, "wrong password!"), 401)

    limited = await login_response(strict_client, org.slug, org.email, org.password)
    body = assert_problem(limited, 429)
    assert body["type"] == "/problems/too-many-requests"
    assert_problem(await refresh(strict_client, org.refresh_token), 429)

    # Other routes are not throttled, and the roomy session app is unaffected.
    assert (await strict_client.get(ME, headers=org.headers)).status_code == 200
    assert (await login_response(client, org.slug, org.email, org.password)).status_code == 200
