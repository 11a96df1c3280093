"""Plans and usage (the users limit), the audit CSV export, resetting a user's MFA, and business hours."""

from __future__ import annotations

import csv
import io
import json
import secrets
import uuid
from typing import Any

import asyncpg
import httpx
import pyotp
from litestar.testing import AsyncTestClient

from tests.conftest import PASSWORD, Org, add_user, create_patient, login

Client = AsyncTestClient[Any]


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def new_user(client: Client, org: Org, role: str = "viewer") -> httpx.Response:
    email = f"{role}-{secrets.token_hex(3)}@{org.slug}.example"
    return await client.post(
        "/api/v1/users", headers=org.headers, json={"email": email, "password": PASSWORD, "role": role}
    )


# --- plans and usage -------------------------------------------------------------------------------------------


async def test_the_plan_catalogue_is_public(client: Client) -> None:
    response = await client.get("/api/v1/plans")
    assert response.status_code == 200, response.text
    plans = {p["id"]: p for p in response.json()}
    assert list(plans) == ["starter", "professional", "enterprise"]
    assert plans["starter"]["limits"] == {"users": 5, "patients": 1000}
    assert plans["professional"]["limits"] == {"users": 50, "patients": 25000}
    assert plans["enterprise"]["limits"] == {"users": None, "patients": None}
    for plan in plans.values():
        assert all(plan[key] for key in ("name", "monthly_price", "description"))


async def test_usage_counts_active_and_pending_users_patients_and_modules(client: Client, org: Org) -> None:
    viewer = await add_user(client, org, "viewer")
    await create_patient(client, org)
    gone = await create_patient(client, org)
    assert (await client.delete(f"/api/v1/patients/{gone['id']}", headers=org.headers)).status_code == 204
    invited = await client.post(
        "/api/v1/users/invitations", headers=org.headers, json={"email": f"inv@{org.slug}.example", "role": "viewer"}
    )
    assert invited.status_code == 201, invited.text
    disabled = (await new_user(client, org)).json()
    await client.patch(f"/api/v1/users/{disabled['id']}", headers=org.headers, json={"status": "disabled"})

    response = await client.get("/api/v1/tenant/usage", headers=viewer)  # any user of the organization
    assert response.status_code == 200, response.text
    assert response.json() == {
        "plan": "starter",
        "limits": {"users": 5, "patients": 1000},
        "usage": {"users": 3, "patients": 1, "modules_enabled": 0},
    }
    assert_problem(await client.get("/api/v1/tenant/usage"), 401)


async def test_the_users_limit_refuses_new_users_and_invitations(
    client: Client, org: Org, owner_db: asyncpg.Connection
) -> None:
    users = [(await new_user(client, org)).json() for _ in range(4)]  # the owner and 4 more: the starter plan's 5
    assert all(u["status"] == "active" for u in users)
    refused = assert_problem(await new_user(client, org), 403)
    assert refused["detail"] == "The Starter plan allows 5 users"
    assert refused["errors"] == [{"key": "plan", "message": "The Starter plan allows 5 users"}]
    invitation = {"email": f"later@{org.slug}.example", "role": "viewer"}
    assert_problem(await client.post("/api/v1/users/invitations", headers=org.headers, json=invitation), 403)

    # Disabled users do not count: a seat frees up, and taking it back needs a free seat.
    await client.patch(f"/api/v1/users/{users[0]['id']}", headers=org.headers, json={"status": "disabled"})
    assert (await client.post("/api/v1/users/invitations", headers=org.headers, json=invitation)).status_code == 201
    back = await client.patch(f"/api/v1/users/{users[0]['id']}", headers=org.headers, json={"status": "active"})
    assert assert_problem(back, 403)["errors"][0]["key"] == "plan"

    await owner_db.execute("update tenants set plan = 'professional' where id = $1", org.tenant_id)
    assert (await new_user(client, org)).status_code == 201


# --- audit export ----------------------------------------------------------------------------------------------


async def test_the_audit_export_is_a_csv_attachment_and_is_audited(client: Client, org: Org) -> None:
    patient = await create_patient(client, org)
    assert (await client.get(f"/api/v1/patients/{patient['id']}", headers=org.headers)).status_code == 200
    params = {"resource_id": patient["id"]}
    response = await client.get("/api/v1/audit-events/export", headers=org.headers, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="audit-events-')
    assert "x-export-truncated" not in response.headers
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == [
        "seq", "occurred_at", "actor_type", "actor_id", "action", "resource_type", "resource_id", "ip",
        "request_id", "details",
    ]  # fmt: skip
    listed = (await client.get("/api/v1/audit-events", headers=org.headers, params=params)).json()["items"]
    assert [int(r["seq"]) for r in rows] == [e["seq"] for e in listed]
    assert [r["action"] for r in rows] == ["patient.read", "patient.create"]
    assert all(r["resource_id"] == patient["id"] and r["actor_id"] == str(org.owner_id) for r in rows)
    assert isinstance(json.loads(rows[0]["details"]), dict)

    events = (await client.get("/api/v1/audit-events", headers=org.headers, params={"action": "audit.export"})).json()
    [export] = events["items"]
    assert export["details"] == {"filters": {"resource_id": patient["id"]}, "rows": 2}

    only = await client.get("/api/v1/audit-events/export", headers=org.headers, params={"action": "patient.create"})
    assert [r["action"] for r in csv.DictReader(io.StringIO(only.text))] == ["patient.create"]


async def test_the_audit_export_needs_audit_read_and_valid_filters(client: Client, org: Org) -> None:
    coordinator = await add_user(client, org, "coordinator")
    assert_problem(await client.get("/api/v1/audit-events/export", headers=coordinator), 403)
    bad = await client.get("/api/v1/audit-events/export", headers=org.headers, params={"since": "yesterday"})
    assert_problem(bad, 400)


# --- MFA reset -------------------------------------------------------------------------------------------------


async def enrol(client: Client, headers: dict[str, str]) -> str:
    secret = (await client.post("/api/v1/auth/mfa/enroll", headers=headers)).json()["secret"]
    code = pyotp.TOTP(secret).now()
    assert (await client.post("/api/v1/auth/mfa/verify", headers=headers, json={"code": code})).status_code == 204
    return str(secret)


async def test_a_reset_turns_mfa_off_so_the_user_enrols_again(
    client: Client, org: Org, owner_db: asyncpg.Connection
) -> None:
    email = f"admin-{secrets.token_hex(3)}@{org.slug}.example"
    created = await client.post(
        "/api/v1/users", headers=org.headers, json={"email": email, "password": PASSWORD, "role": "admin"}
    )
    admin_id = created.json()["id"]
    admin = bearer((await login(client, org.slug, email, PASSWORD))["access_token"])
    await enrol(client, admin)
    body = {"tenant": org.slug, "email": email, "password": PASSWORD}
    assert (await client.post("/api/v1/auth/token", json=body)).json()["mfa_required"] is True

    assert_problem(await client.post(f"/api/v1/users/{org.owner_id}/mfa/reset", headers=admin), 403)  # owner's
    viewer = await add_user(client, org, "viewer")
    assert_problem(await client.post(f"/api/v1/users/{admin_id}/mfa/reset", headers=viewer), 403)
    assert_problem(await client.post(f"/api/v1/users/{uuid.uuid4()}/mfa/reset", headers=org.headers), 404)

    reset = await client.post(f"/api/v1/users/{admin_id}/mfa/reset", headers=org.headers)
    assert reset.status_code == 204, reset.text
    user = await owner_db.fetchrow("select mfa_enabled, totp_secret from users where id = $1", uuid.UUID(admin_id))
    assert (user["mfa_enabled"], user["totp_secret"]) == (False, None)
    assert (await login(client, org.slug, email, PASSWORD))["mfa_enrolment_required"] is False  # no code needed

    await client.patch("/api/v1/tenant", headers=org.headers, json={"mfa_required": True})
    assert (await login(client, org.slug, email, PASSWORD))["mfa_enrolment_required"] is True  # enrol again
    events = (await client.get("/api/v1/audit-events", headers=org.headers, params={"action": "user.mfa_reset"})).json()
    assert [(e["resource_id"], e["actor_id"]) for e in events["items"]] == [(admin_id, str(org.owner_id))]


# --- business hours --------------------------------------------------------------------------------------------


async def test_business_hours_default_to_weekdays_and_can_be_changed(client: Client, org: Org) -> None:
    tenant = (await client.get("/api/v1/tenant", headers=org.headers)).json()
    assert tenant["business_hours"] == {"days": [1, 2, 3, 4, 5], "start": "08:00", "end": "17:00"}
    hours = {"days": [6, 1, 2], "start": "07:30", "end": "19:00"}
    changed = await client.patch("/api/v1/tenant", headers=org.headers, json={"business_hours": hours})
    assert changed.status_code == 200, changed.text
    assert changed.json()["business_hours"] == {"days": [1, 2, 6], "start": "07:30", "end": "19:00"}
    assert (await client.get("/api/v1/tenant", headers=org.headers)).json()["business_hours"]["days"] == [1, 2, 6]

    for bad in (
        {"days": [1], "start": "17:00", "end": "08:00"},
        {"days": [1], "start": "09:00", "end": "09:00"},
        {"days": [0, 1], "start": "08:00", "end": "17:00"},
        {"days": [8], "start": "08:00", "end": "17:00"},
        {"days": [1, 1], "start": "08:00", "end": "17:00"},
        {"days": [], "start": "08:00", "end": "17:00"},
        {"days": [1], "start": "8:00", "end": "17:00"},
        {"days": [1], "start": "08:00", "end": "25:00"},
        {"days": [1], "start": "08:00", "end": "17:00", "lunch": "12:00"},
    ):
        response = await client.patch("/api/v1/tenant", headers=org.headers, json={"business_hours": bad})
        assert 400 <= response.status_code < 500, (bad, response.text)
        assert "business_hours" in response.text, response.text
    viewer = await add_user(client, org, "viewer")
    assert_problem(await client.patch("/api/v1/tenant", headers=viewer, json={"business_hours": hours}), 403)


async def test_the_setup_is_marked_complete_once_by_whoever_manages_the_organization(
    client: Any, org: Any, owner_db: Any
) -> None:
    tenant = await client.get("/api/v1/tenant", headers=org.headers)
    assert tenant.json()["setup_completed_at"] is None
    coordinator = await add_user(client, org, "coordinator")
    refused = await client.post("/api/v1/tenant/setup-complete", headers=coordinator)
    assert refused.status_code == 403
    first = await client.post("/api/v1/tenant/setup-complete", headers=org.headers)
    assert first.status_code == 200, first.text
    assert first.json()["setup_completed_at"] is not None
    again = await client.post("/api/v1/tenant/setup-complete", headers=org.headers)
    assert again.json()["setup_completed_at"] == first.json()["setup_completed_at"]
    events = await owner_db.fetchval(
        "select count(*) from audit_events where tenant_id = $1 and action = 'tenant.setup_completed'", org.tenant_id
    )
    assert events == 1
