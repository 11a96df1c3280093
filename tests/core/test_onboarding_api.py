"""Account onboarding over HTTP: sign-up with e-mail verification and invitations, each link taken from the
e-mail a real SMTP server (aiosmtpd) received from the ``notifications.send`` actor.

A new organization has no e-mail channel of its own, so its verification e-mail goes through the platform's
sender (``PLATFORM_SMTP_URL``, pointed here at the test SMTP server); invitations go through the
organization's own channel once it is configured.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from email.message import Message
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from core.app import create_app
from core.auth import login as login_flow
from core.auth.schemas import TokenRequest
from core.testing.fixtures import run_queued_jobs
from tests.conftest import PASSWORD, Org, add_user, login, sign_up
from tests.notifications.conftest import SmtpServer
from tests.notifications.conftest import platform_smtp as platform_smtp  # fixtures, re-exported for pytest
from tests.notifications.conftest import smtp_server as smtp_server
from tests.notifications.helpers import configure_email

Client = AsyncTestClient[Any]
SEND = "notifications.send"
VERIFY = "/api/v1/signup/verify-email"
RESEND = "/api/v1/signup/resend-verification"
INVITE = "/api/v1/users/invitations"
INSPECT = "/api/v1/invitations/inspect"
ACCEPT = "/api/v1/invitations/accept"
NOT_VALID = "This link is not valid"


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def link_in(mail: Message, page: str) -> str:
    found = re.search(rf"(\S+/portal/{page}/)(\S+)", body_of(mail))
    assert found is not None, body_of(mail)
    return found.group(2)


async def pending_signup(client: Client) -> Org:
    """A sign-up with ``verify_email``: an :class:`Org` whose tokens are empty (the owner cannot log in yet)."""
    slug = f"vrf-{secrets.token_hex(5)}"
    email = f"owner@{slug}.example"
    response = await client.post(
        "/api/v1/signup",
        json={
            "organization_name": f"Clinic {slug}",
            "slug": slug,
            "owner_email": email,
            "owner_password": PASSWORD,
            "owner_name": "Olive Owner",
            "verify_email": True,
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["tenant"]["mfa_required"] is True
    return Org(uuid.UUID(body["tenant"]["id"]), slug, uuid.UUID(body["owner"]["id"]), email, PASSWORD, "", "")


async def mails_to(
    app_loop: Callable[..., Any], owner_db: asyncpg.Connection, org: Org, smtp: SmtpServer, address: str
) -> list[Message]:
    outcomes = await run_queued_jobs(app_loop, owner_db, org, SEND)
    assert all("error" not in outcome.lower() for outcome in outcomes), outcomes
    return [m.message for m in smtp.received if address in m.rcpt_tos]


def token_response(client: Client, slug: str, email: str, password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/token", json={"tenant": slug, "email": email, "password": password})


# --- sign-up with e-mail verification ---------------------------------------------------------------------------


async def test_signup_with_verification_activates_the_owner_through_the_emailed_link(
    client: Client, owner_db: asyncpg.Connection, app_loop: Callable[..., Any], platform_smtp: SmtpServer, settings: Any
) -> None:
    org = await pending_signup(client)
    assert_problem(await token_response(client, org.slug, org.email), 401)
    with pytest.raises(login_flow.LoginError) as refused:  # the portal tells "confirm your address first"
        await app_loop(
            login_flow.login,
            settings,
            TokenRequest(tenant=org.slug, email=org.email, password=PASSWORD),
            ip=None,
            request_id=None,
        )
    assert refused.value.pending is True
    with pytest.raises(login_flow.LoginError) as wrong:  # a wrong password tells nothing about the account
        await app_loop(
            login_flow.login,
            settings,
            TokenRequest(tenant=org.slug, email=org.email, password="not the password"),
            ip=None,
            request_id=None,
        )
    assert wrong.value.pending is False

    [mail] = await mails_to(app_loop, owner_db, org, platform_smtp, org.email)
    assert mail["From"] == "carecoord <no-reply@carecoord.test>"
    assert f"Clinic {org.slug}" in mail["Subject"]
    assert "Olive Owner" in body_of(mail)
    token = link_in(mail, "verify-email")
    assert f"/portal/verify-email/{token}" in body_of(mail)
    stored = await owner_db.fetchval(
        "select context::text from notifications where tenant_id = $1 and template = 'account.verify_email'",
        org.tenant_id,
    )
    assert token not in stored  # the link is sealed in the stored context
    assert "verify-email" not in stored
    assert await owner_db.fetchval("select count(*) from user_tokens where tenant_id = $1", org.tenant_id) == 1
    assert token.split("_")[-1] not in str(await owner_db.fetch("select * from user_tokens"))  # digest only

    verified = await client.post(VERIFY, json={"token": token})
    assert verified.status_code == 200, verified.text
    assert verified.json() == {"tenant_slug": org.slug, "email": org.email}
    assert_problem(await client.post(VERIFY, json={"token": token}), 409)

    tokens = await login(client, org.slug, org.email, PASSWORD)
    assert tokens["mfa_enrolment_required"] is True  # the organization requires MFA from the start
    user = await owner_db.fetchrow("select status, email_verified_at from users where id = $1", org.owner_id)
    assert user["status"] == "active"
    assert user["email_verified_at"] is not None
    event = await owner_db.fetchrow(
        "select actor_type, actor_id from audit_events where tenant_id = $1 and action = 'user.email_verified'",
        org.tenant_id,
    )
    assert (event["actor_type"], event["actor_id"]) == ("user", org.owner_id)


async def test_a_signup_without_verification_is_unchanged(client: Client, owner_db: asyncpg.Connection) -> None:
    org = await sign_up(client)  # logs in at once
    tenant = (await client.get("/api/v1/tenant", headers=org.headers)).json()
    assert tenant["mfa_required"] is False
    assert await owner_db.fetchval("select count(*) from notifications where tenant_id = $1", org.tenant_id) == 0
    me = (await client.get("/api/v1/users/me", headers=org.headers)).json()
    assert (me["status"], me["email_verified_at"]) == ("active", None)


async def test_altered_unknown_and_foreign_tokens_are_404_alike(
    client: Client, owner_db: asyncpg.Connection, app_loop: Callable[..., Any], platform_smtp: SmtpServer
) -> None:
    org = await pending_signup(client)
    [mail] = await mails_to(app_loop, owner_db, org, platform_smtp, org.email)
    token = link_in(mail, "verify-email")
    prefix, tenant, row, secret = token.split("_", 3)
    other = await sign_up(client)
    variants = [
        f"{prefix}_{tenant}_{row}_{secret[:-2]}xx",  # altered secret
        f"{prefix}_{tenant}_{uuid.uuid4().hex}_{secret}",  # unknown row
        f"{prefix}_{other.tenant_id.hex}_{row}_{secret}",  # the row looked up in another tenant
        f"{prefix}_{uuid.uuid4().hex}_{row}_{secret}",  # a tenant that does not exist
        f"cci_{tenant}_{row}_{secret}",  # an invitation prefix on a verification route
        "not-a-token",
    ]
    bodies = [assert_problem(await client.post(VERIFY, json={"token": t}), 404) for t in variants]
    assert {b["detail"] for b in bodies} == {NOT_VALID}
    assert_problem(await client.post(INSPECT, json={"token": token}), 404)  # a verification link is no invitation
    assert (await client.post(VERIFY, json={"token": token})).status_code == 200  # the real one still works


async def test_an_expired_verification_link_is_410(
    client: Client, owner_db: asyncpg.Connection, app_loop: Callable[..., Any], platform_smtp: SmtpServer
) -> None:
    org = await pending_signup(client)
    [mail] = await mails_to(app_loop, owner_db, org, platform_smtp, org.email)
    await owner_db.execute(
        "update user_tokens set expires_at = now() - interval '1 minute' where tenant_id = $1", org.tenant_id
    )
    assert_problem(await client.post(VERIFY, json={"token": link_in(mail, "verify-email")}), 410)
    assert_problem(await token_response(client, org.slug, org.email), 401)


async def test_resend_verification_answers_202_and_sends_only_to_a_pending_owner(
    client: Client, owner_db: asyncpg.Connection, app_loop: Callable[..., Any], platform_smtp: SmtpServer
) -> None:
    org = await pending_signup(client)
    [first] = await mails_to(app_loop, owner_db, org, platform_smtp, org.email)
    for body in (
        {"tenant": "no-such-org-" + secrets.token_hex(3), "email": org.email},
        {"tenant": org.slug, "email": f"nobody@{org.slug}.example"},
        {"tenant": org.slug, "email": org.email},  # too soon after the first link: nothing new
    ):
        response = await client.post(RESEND, json=body)
        assert response.status_code == 202, response.text
    assert await mails_to(app_loop, owner_db, org, platform_smtp, org.email) == [first]

    await owner_db.execute(
        "update user_tokens set created_at = created_at - interval '2 minutes' where tenant_id = $1", org.tenant_id
    )
    assert (await client.post(RESEND, json={"tenant": org.slug.upper(), "email": org.email.upper()})).status_code == 202
    mails = await mails_to(app_loop, owner_db, org, platform_smtp, org.email)
    assert len(mails) == 2
    assert_problem(await client.post(VERIFY, json={"token": link_in(first, "verify-email")}), 410)  # replaced
    assert (await client.post(VERIFY, json={"token": link_in(mails[1], "verify-email")})).status_code == 200

    # Active now: asking again sends nothing.
    await owner_db.execute(
        "update user_tokens set created_at = created_at - interval '2 minutes' where tenant_id = $1", org.tenant_id
    )
    assert (await client.post(RESEND, json={"tenant": org.slug, "email": org.email})).status_code == 202
    assert len(await mails_to(app_loop, owner_db, org, platform_smtp, org.email)) == 2


async def test_without_any_sender_the_verification_email_is_skipped_not_failed(
    client: Client, owner_db: asyncpg.Connection, app_loop: Callable[..., Any]
) -> None:
    org = await pending_signup(client)
    await run_queued_jobs(app_loop, owner_db, org, SEND)
    status = await owner_db.fetchval("select status from notifications where tenant_id = $1", org.tenant_id)
    assert status == "skipped"


# --- invitations -----------------------------------------------------------------------------------------------


async def invite(client: Client, org: Org, headers: dict[str, str] | None = None, **body: Any) -> httpx.Response:
    body = {"email": f"new-{secrets.token_hex(3)}@{org.slug}.example", "role": "coordinator", **body}
    return await client.post(INVITE, headers=headers or org.headers, json=body)


async def test_an_invitation_is_emailed_inspected_accepted_and_the_user_logs_in(
    client: Client, org: Org, owner_db: asyncpg.Connection, app_loop: Callable[..., Any], smtp_server: SmtpServer
) -> None:
    await configure_email(client, org, smtp_server)
    await client.patch("/api/v1/users/" + str(org.owner_id), headers=org.headers, json={"full_name": "Dr Ada Boss"})
    email = f"casey-{secrets.token_hex(3)}@{org.slug}.example"
    response = await invite(client, org, email=email, full_name="Casey Coordinator")
    assert response.status_code == 201, response.text
    user = response.json()
    assert (user["status"], user["role"], user["email"]) == ("pending", "coordinator", email)
    assert_problem(await token_response(client, org.slug, email), 401)

    [mail] = await mails_to(app_loop, owner_db, org, smtp_server, email)
    text = body_of(mail)
    assert f"Clinic {org.slug}" in mail["Subject"]
    for expected in (f"Clinic {org.slug}", "Dr Ada Boss", "as coordinator", "Casey Coordinator"):
        assert expected in text
    token = link_in(mail, "invitations")

    inspected = await client.post(INSPECT, json={"token": token})
    assert inspected.status_code == 200, inspected.text
    offer = inspected.json()
    assert offer["organization_name"] == f"Clinic {org.slug}"
    assert (offer["email"], offer["full_name"], offer["role"]) == (email, "Casey Coordinator", "coordinator")
    assert offer["expires_at"]

    assert_problem(await client.post(ACCEPT, json={"token": token, "password": "short"}), 400)
    accepted = await client.post(ACCEPT, json={"token": token, "password": PASSWORD, "full_name": "Casey C."})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"tenant_slug": org.slug, "email": email}
    assert_problem(await client.post(ACCEPT, json={"token": token, "password": PASSWORD}), 409)
    assert_problem(await client.post(INSPECT, json={"token": token}), 409)

    tokens = await login(client, org.slug, email, PASSWORD)
    me = (await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})).json()
    assert (me["status"], me["full_name"]) == ("active", "Casey C.")
    assert me["email_verified_at"] is not None
    actions = await owner_db.fetch(
        "select action, actor_id from audit_events where tenant_id = $1 and resource_id = $2 order by seq",
        org.tenant_id,
        uuid.UUID(user["id"]),
    )
    assert [a["action"] for a in actions if a["action"].startswith("user.")] == [
        "user.invite",
        "user.invitation_accepted",
    ]


async def test_invitation_rules(client: Client, org: Org, owner_db: asyncpg.Connection) -> None:
    admin = await add_user(client, org, "admin")
    taken = await invite(client, org, email=org.email.upper())
    assert assert_problem(taken, 409)["errors"][0]["field"] == "email"
    assert_problem(await invite(client, org, admin, role="owner"), 403)
    assert (await invite(client, org, role="owner")).status_code == 201  # an owner may
    assert_problem(await invite(client, org, team_id=str(uuid.uuid4())), 422)
    viewer = await add_user(client, org, "viewer")
    assert_problem(await invite(client, org, viewer), 403)

    pending = (await invite(client, org, admin)).json()
    me = (await client.get("/api/v1/users/me", headers=admin)).json()
    again = await client.post(f"/api/v1/users/{pending['id']}/invitation", headers=admin)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "pending"
    assert_problem(await client.post(f"/api/v1/users/{me['id']}/invitation", headers=admin), 409)  # active
    assert_problem(await client.post(f"/api/v1/users/{uuid.uuid4()}/invitation", headers=admin), 404)
    # A pending user becomes active only through the link.
    refused = await client.patch(f"/api/v1/users/{pending['id']}", headers=admin, json={"status": "active"})
    assert_problem(refused, 409)


async def test_a_new_invitation_replaces_the_old_link_and_expired_links_are_410(
    client: Client, org: Org, owner_db: asyncpg.Connection, app_loop: Callable[..., Any], smtp_server: SmtpServer
) -> None:
    await configure_email(client, org, smtp_server)
    user = (await invite(client, org)).json()
    [first] = await mails_to(app_loop, owner_db, org, smtp_server, user["email"])
    assert (await client.post(f"/api/v1/users/{user['id']}/invitation", headers=org.headers)).status_code == 200
    [_, second] = await mails_to(app_loop, owner_db, org, smtp_server, user["email"])
    old, new = link_in(first, "invitations"), link_in(second, "invitations")
    assert old != new
    assert_problem(await client.post(INSPECT, json={"token": old}), 410)
    assert (await client.post(INSPECT, json={"token": new})).status_code == 200

    await owner_db.execute(
        "update user_tokens set expires_at = now() - interval '1 second' where user_id = $1", uuid.UUID(user["id"])
    )
    assert_problem(await client.post(INSPECT, json={"token": new}), 410)
    assert_problem(await client.post(ACCEPT, json={"token": new, "password": PASSWORD}), 410)
    assert_problem(await token_response(client, org.slug, user["email"]), 401)


async def test_another_organization_cannot_reinvite_or_reset_mfa(client: Client, org: Org, other_org: Org) -> None:
    user = (await invite(client, org)).json()
    other_admin = await add_user(client, other_org, "admin")
    for headers in (other_org.headers, other_admin):
        assert_problem(await client.post(f"/api/v1/users/{user['id']}/invitation", headers=headers), 404)
        assert_problem(await client.post(f"/api/v1/users/{user['id']}/mfa/reset", headers=headers), 404)
        assert_problem(await client.post(f"/api/v1/users/{org.owner_id}/mfa/reset", headers=headers), 404)
    listed = (await client.get("/api/v1/users", headers=other_org.headers)).json()
    assert user["id"] not in {u["id"] for u in listed}


async def test_the_account_links_are_rate_limited(settings: Any, client: Client) -> None:
    strict = msgspec.structs.replace(
        settings,
        login_rate_limit_per_minute=2,
        rate_limit_namespace=f"carecoord-rate-limit-test-{secrets.token_hex(6)}",
    )
    limited: Client = AsyncTestClient(app=create_app(strict))
    limited.blocking_portal = client.blocking_portal
    for _ in range(2):  # the four routes share the login limit with log-in itself
        assert_problem(await limited.post(VERIFY, json={"token": "x"}), 404)
    assert_problem(await limited.post(INSPECT, json={"token": "x"}), 429)
    assert_problem(await limited.post(ACCEPT, json={"token": "x", "password": PASSWORD}), 429)
    assert_problem(await limited.post(RESEND, json={"tenant": "abc", "email": "a@b.example"}), 429)
    assert (await client.post(INSPECT, json={"token": "x"})).status_code == 404  # the roomy app is unaffected


def test_a_malformed_platform_smtp_url_stops_start_up() -> None:
    from core.settings import SettingsError, load_settings

    base = {"SECRET_KEY": "k" * 40}
    for url in ("http://mail.example.org", "smtp://mail.example.org:587", "smtp://:25?from=not-an-address"):
        with pytest.raises(SettingsError, match="PLATFORM_SMTP_URL"):
            load_settings({**base, "PLATFORM_SMTP_URL": url})
    ok = load_settings({**base, "PLATFORM_SMTP_URL": "smtps://u:p%40ss@mail.example.org?from=no-reply@example.org"})
    assert ok.platform_smtp_url.startswith("smtps://")


def test_platform_smtp_url_becomes_email_options() -> None:
    from core.notifications.account_mail import platform_email_options

    options, secrets_ = platform_email_options(
        "smtps://mailer:p%40ss@mail.example.org?from=no-reply@example.org&from_name=Care%20Coord"
    )
    assert (options["smtp_host"], options["smtp_port"]) == ("mail.example.org", 465)
    assert (options["security"], options["username"], options["from_name"]) == ("tls", "mailer", "Care Coord")
    assert secrets_ == {"smtp_password": "p@ss"}
