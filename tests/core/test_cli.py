"""The ``carecoord`` command, run as a real process against the session's database.

Operators create tenants and users, suspend tenants and seed the demo from the
command line; what they create must work over HTTP straight away.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import subprocess
import sys
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient

from core.platform import DEMO_EMAIL, DEMO_PASSWORD, DEMO_SLUG
from tests.conftest import PASSWORD, login

Client = AsyncTestClient[Any]
PW = shlex.quote(PASSWORD)


def carecoord(command: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m core.cli COMMAND`` (shell-style words) with the session's environment."""
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *shlex.split(command)],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


def new_slug() -> str:
    return f"cli-{secrets.token_hex(5)}"


def create_tenant(slug: str) -> dict[str, Any]:
    out = ok(
        carecoord(
            f"tenant create --slug {slug} --name 'Clinic {slug}' --owner-email owner@{slug}.example "
            f"--owner-password {PW} --time-zone America/Chicago"
        )
    )
    return dict(json.loads(out))


def tenant_rows() -> dict[str, list[str]]:
    """``tenant list`` as {slug: [slug, status, plan, id, name]}."""
    rows = [line.split("\t") for line in ok(carecoord("tenant list")).splitlines() if line.strip()]
    return {row[0]: row for row in rows}


async def token_status(client: Client, slug: str, email: str, password: str = PASSWORD) -> int:
    response = await client.post("/api/v1/auth/token", json={"tenant": slug, "email": email, "password": password})
    return response.status_code


# -- tenants -------------------------------------------------------------------------------------------------


def test_tenant_create_prints_an_active_tenant_and_list_shows_it() -> None:
    slug = new_slug()
    created = create_tenant(slug)
    assert created["slug"] == slug
    assert created["status"] == "active"
    UUID(created["id"])

    row = tenant_rows()[slug]
    assert row == [slug, "active", "starter", created["id"], f"Clinic {slug}"]


async def test_the_owner_of_a_cli_tenant_can_log_in(client: Client) -> None:
    slug = new_slug()
    created = create_tenant(slug)
    tokens = await login(client, slug, f"owner@{slug}.example", PASSWORD)
    response = await client.get("/api/v1/tenant", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == created["id"]
    assert response.json()["time_zone"] == "America/Chicago"


def test_a_taken_slug_is_refused_cleanly() -> None:
    slug = new_slug()
    create_tenant(slug)
    result = carecoord(
        f"tenant create --slug {slug} --name Copycat --owner-email copy@cat.example --owner-password {PW}"
    )
    assert result.returncode == 2
    assert "taken" in result.stderr
    assert "Traceback" not in result.stderr
    assert tenant_rows()[slug][4] == f"Clinic {slug}"


async def test_set_status_suspends_and_reactivates_a_tenant(client: Client) -> None:
    slug = new_slug()
    create_tenant(slug)
    owner = f"owner@{slug}.example"
    tokens = await login(client, slug, owner, PASSWORD)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}

    assert ok(carecoord(f"tenant set-status {slug} suspended")).strip() == f"{slug}\tsuspended"
    assert tenant_rows()[slug][1] == "suspended"
    assert (await client.get("/api/v1/patients", headers=headers)).status_code == 401, "old tokens stop working"
    assert await token_status(client, slug, owner) == 403, "no new logins"

    assert ok(carecoord(f"tenant set-status {slug} active")).strip() == f"{slug}\tactive"
    assert (await client.get("/api/v1/patients", headers=headers)).status_code == 200
    assert await token_status(client, slug, owner) == 200


# -- users ---------------------------------------------------------------------------------------------------


async def test_a_user_created_on_the_cli_can_log_in_with_their_role(client: Client) -> None:
    slug = new_slug()
    create_tenant(slug)
    email = f"coordinator@{slug}.example"
    out = ok(
        carecoord(
            f"user create --tenant {slug} --email {email} --password {PW} --role coordinator --name 'Casey Coordinator'"
        )
    )
    user_id = UUID(out.strip())

    tokens = await login(client, slug, email, PASSWORD)
    me = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["id"] == str(user_id)
    assert me.json()["role"] == "coordinator"
    assert me.json()["full_name"] == "Casey Coordinator"
    assert await token_status(client, slug, email, "wrong password!") == 401


def test_a_duplicate_user_is_refused_cleanly() -> None:
    slug = new_slug()
    create_tenant(slug)
    result = carecoord(f"user create --tenant {slug} --email owner@{slug}.example --password {PW} --role viewer")
    assert result.returncode == 2
    assert "already" in result.stderr
    assert "Traceback" not in result.stderr


# -- demo and migrate ----------------------------------------------------------------------------------------


async def test_demo_is_idempotent_and_its_login_works(client: Client) -> None:
    first = ok(carecoord("demo"))
    assert f"tenant={DEMO_SLUG} email={DEMO_EMAIL} password={DEMO_PASSWORD}" in first
    second = ok(carecoord("demo"))
    assert "already present" in second

    tokens = await login(client, DEMO_SLUG, DEMO_EMAIL, DEMO_PASSWORD)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    response = await client.get("/api/v1/patients?limit=200", headers=headers)
    assert response.status_code == 200, response.text
    demo_mrns = sorted(p["mrn"] for p in response.json()["items"] if p["mrn"].startswith("DEMO-"))
    assert demo_mrns == ["DEMO-0001", "DEMO-0002", "DEMO-0003"], "a second run adds nothing"
    listed = [line for line in ok(carecoord("tenant list")).splitlines() if line.startswith(f"{DEMO_SLUG}\t")]
    assert len(listed) == 1
    if "demo tenant created" in first:  # on a database where an earlier run made it, it is as that run left it
        modules = (await client.get("/api/v1/admin/modules", headers=headers)).json()
        assert {m["name"] for m in modules if m["enabled"]} >= {"insurance", "referrals"}
        patient_id = response.json()["items"][0]["id"]
        coverages = await client.get("/api/v1/insurance/coverages", headers=headers, params={"patient_id": patient_id})
        assert coverages.status_code == 200, coverages.text
        assert [c["payer"]["name"] for c in coverages.json()] == ["Demo Health Plan"]


async def test_migrate_is_idempotent_and_the_app_keeps_working(client: Client) -> None:
    out = ok(carecoord("migrate"))
    assert "migrations applied" in out
    assert "migrations applied" in ok(carecoord("migrate"))
    ready = await client.get("/ready")
    assert ready.status_code == 200, ready.text


# -- misuse --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        pytest.param("", id="no-command"),
        pytest.param("frobnicate", id="unknown-command"),
        pytest.param("tenant", id="no-action"),
        pytest.param("tenant create --slug half-done", id="missing-options"),
        pytest.param("tenant set-status demo deleted", id="unknown-status"),
        pytest.param(f"user create --tenant demo --email a@b.example --password {PW} --role god", id="unknown-role"),
        pytest.param("serve --port eighty", id="non-numeric-port"),
    ],
)
def test_bad_arguments_exit_2_with_usage(command: str) -> None:
    result = carecoord(command)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "usage:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("command", "message"),
    [
        pytest.param("tenant set-status no-such-tenant active", "no tenant", id="unknown-tenant"),
        pytest.param(
            f"user create --tenant no-such-tenant --email a@b.example --password {PW} --role viewer",
            "no tenant",
            id="user-for-unknown-tenant",
        ),
        pytest.param(
            f"tenant create --slug 'Not A Slug' --name X --owner-email o@x.example --owner-password {PW}",
            "slug",
            id="invalid-slug",
        ),
        pytest.param(
            "tenant create --slug weak-pass --name X --owner-email o@x.example --owner-password short",
            "owner_password",
            id="weak-password",
        ),
        pytest.param(
            f"user create --tenant demo --email not-an-email --password {PW} --role viewer",
            "email",
            id="invalid-email",
        ),
    ],
)
def test_bad_values_exit_2_with_a_plain_error(command: str, message: str) -> None:
    result = carecoord(command)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: "), result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
