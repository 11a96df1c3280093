"""Sign-up and onboarding pages over HTTP: the sign-up form, the e-mailed confirmation link (taken from the
mail a real SMTP server received), the first login with MFA enrolment, the guided setup, and invitations.

What the pages changed is checked through the JSON API (as the logged-in owner) and the database.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import uuid
from collections.abc import Callable
from email.message import Message
from typing import Any

import asyncpg
import pyotp
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from core.testing.fixtures import run_queued_jobs
from core.testing.portal import csrf_of, portal_login, submit
from tests.conftest import PASSWORD, Org, sign_up
from tests.notifications.conftest import SmtpServer
from tests.notifications.conftest import platform_smtp as platform_smtp  # fixtures, re-exported for pytest
from tests.notifications.conftest import smtp_server as smtp_server

Client = AsyncTestClient[Any]
SEND = "notifications.send"


def _text(mail: Message) -> str:
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


async def delivered(
    app_loop: Callable[..., Any], owner_db: asyncpg.Connection, org: Org, smtp: SmtpServer, address: str
) -> list[Message]:
    """Run the organization's queued sends (as the worker would) and return what ``address`` received."""
    outcomes = await run_queued_jobs(app_loop, owner_db, org, SEND)
    assert all("error" not in outcome.lower() for outcome in outcomes), outcomes
    return [received.message for received in smtp.received if address in received.rcpt_tos]


def link_token(mail: Message, page: str) -> str:
    found = re.search(rf"/portal/{page}/(\S+)", _text(mail))
    assert found is not None, _text(mail)
    return found.group(1)


async def session_headers(portal: Client, settings: Any) -> dict[str, str]:
    """The API bearer token the portal session holds (tests only: it never reaches the browser)."""
    redis = Redis.from_url(settings.redis_url)
    try:
        stored = json.loads(
            await redis.get(f"carecoord-portal-session:{portal.cookies.get('__Host-carecoord_session')}")
        )
    finally:
        await redis.aclose()
    return {"Authorization": f"Bearer {stored['access_token']}"}


def field_error(page: str, name: str) -> str:
    """The error shown next to field ``name`` (tied to it with aria-describedby); fails if there is none."""
    control = re.search(rf'<(?:input|select)[^>]*id="f-{name}"[^>]*>', page, re.S)
    assert control is not None, f"no field {name}"
    assert f"e-{name}" in control.group(0), control.group(0)
    assert 'aria-invalid="true"' in control.group(0), control.group(0)
    found = re.search(rf'<p class="error" id="e-{name}">([^<]*)</p>', page)
    assert found is not None, f"no error for {name}"
    return html.unescape(found.group(1))


def assert_csp_clean(*pages: Any) -> None:
    """No inline script or style: the portal's CSP would block them."""
    for page in pages:
        assert " style=" not in page.text
        assert "<script>" not in page.text


def signup_fields(slug: str, /, **overrides: str) -> dict[str, str]:
    fields = {
        "plan": "professional",
        "organization_name": f"Riverside {slug}",
        "slug": slug,
        "time_zone": "America/New_York",
        "owner_name": "Olive Owner",
        "owner_email": f"olive@{slug}.example",
        "owner_password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    return {**fields, **overrides}


async def sign_up_through_the_form(portal: Client, slug: str) -> Any:
    return await submit(
        portal,
        "/portal/signup/details?plan=professional",
        "/portal/signup/details",
        signup_fields(slug),
        follow_redirects=False,
    )


async def org_of(owner_db: asyncpg.Connection, slug: str, email: str) -> Org:
    row = await owner_db.fetchrow(
        "select t.id, u.id as owner_id from tenants t join users u on u.tenant_id = t.id where t.slug = $1", slug
    )
    return Org(row["id"], slug, row["owner_id"], email, PASSWORD, "", "")


async def post_page_form(portal: Client, page_url: str, action: str, fields: dict[str, Any]) -> Any:
    return await submit(portal, page_url, action, fields, follow_redirects=False)


# --- the whole journey --------------------------------------------------------------------------------------------


async def test_sign_up_confirm_enrol_mfa_set_up_and_invite_through_the_pages(
    portal: Client,
    make_portal: Callable[[], Client],
    owner_db: asyncpg.Connection,
    app_loop: Callable[..., Any],
    platform_smtp: SmtpServer,
    settings: Any,
) -> None:
    # Step 1: a plan, from the catalogue, as radio cards in a fieldset.
    plans = await portal.get("/portal/signup")
    assert plans.status_code == 200
    assert "<legend>Plan</legend>" in plans.text
    for plan in ("starter", "professional", "enterprise"):
        assert f'type="radio" id="plan-{plan}" name="plan" value="{plan}"' in plans.text
    assert "$399 per month" in plans.text
    assert "Up to 50 users, up to 25,000 patients" in plans.text
    details = await portal.get("/portal/signup/details?plan=professional")
    assert details.status_code == 200
    assert "Professional" in details.text
    assert "up to 50 users" in details.text
    assert '<optgroup label="All time zones">' in details.text
    assert (await portal.get("/portal/signup/details?plan=gold", follow_redirects=False)).status_code == 303

    # Step 2: the organization and its owner.
    slug = f"river-{secrets.token_hex(4)}"
    email = f"olive@{slug}.example"
    answer = await sign_up_through_the_form(portal, slug)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/portal/signup/sent?org={slug}"
    sent = await portal.get(answer.headers["location"])
    assert "Check your e-mail" in sent.text
    assert f'value="{slug}"' in sent.text
    tenant = await owner_db.fetchrow("select plan, time_zone, mfa_required from tenants where slug = $1", slug)
    assert (tenant["plan"], tenant["time_zone"], tenant["mfa_required"]) == ("professional", "America/New_York", True)
    refused = await portal_login(portal, slug, email, PASSWORD)
    assert refused.status_code == 401  # not before the address is confirmed

    # The e-mailed link opens a page with a button; only the button's POST uses the token.
    org = await org_of(owner_db, slug, email)
    [mail] = await delivered(app_loop, owner_db, org, platform_smtp, email)
    token = link_token(mail, "verify-email")
    confirm_page = await portal.get(f"/portal/verify-email/{token}")
    assert confirm_page.status_code == 200
    assert "Confirm my e-mail" in confirm_page.text
    assert await owner_db.fetchval("select status from users where id = $1", org.owner_id) == "pending"
    confirmed = await portal.post(f"/portal/verify-email/{token}", data={"_csrf_token": csrf_of(confirm_page.text)})
    assert confirmed.status_code == 200, confirmed.text
    assert f'href="/portal/login?org={slug}"' in confirmed.text
    assert await owner_db.fetchval("select status from users where id = $1", org.owner_id) == "active"
    again = await portal.post(f"/portal/verify-email/{token}", data={"_csrf_token": csrf_of(confirm_page.text)})
    assert again.status_code == 409
    assert "already used" in again.text

    # First login: the organization requires MFA, so enrolment comes first (the code computed from the key shown).
    login = await portal_login(portal, slug, email, PASSWORD)
    assert login.status_code == 303
    assert login.headers["location"] == "/portal/mfa"
    assert (await portal.get("/portal/setup", follow_redirects=False)).headers["location"] == "/portal/mfa"
    scan = await post_page_form(portal, "/portal/mfa", "/portal/mfa/start", {})
    secret = re.search(r'id="mfa-secret">([A-Z2-7]+)<', scan.text)
    assert secret is not None, scan.text
    enrolled = await portal.post(
        "/portal/mfa/verify",
        data={"secret": secret.group(1), "code": pyotp.TOTP(secret.group(1)).now(), "_csrf_token": csrf_of(scan.text)},
        follow_redirects=False,
    )
    assert enrolled.status_code == 303
    assert enrolled.headers["location"] == "/portal/setup"
    start = await portal.get("/portal/setup")
    assert start.status_code == 200
    assert f"A few choices and Riverside {slug} is ready" in start.text
    assert "Step 1 of 4" in start.text

    # (a) time zone
    step = await portal.get("/portal/setup/timezone")
    assert "Step 1 of 4" in step.text
    assert 'aria-current="page">1. Time zone' in step.text
    assert '<option value="America/New_York" selected>' in step.text
    saved = await post_page_form(
        portal, "/portal/setup/timezone", "/portal/setup/timezone", {"time_zone": "America/Chicago"}
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/portal/setup/hours"

    # (b) business hours
    step = await portal.get("/portal/setup/hours")
    assert "Step 2 of 4" in step.text
    assert "<legend>Working days</legend>" in step.text
    assert 'value="08:00"' in step.text
    assert 'id="f-days-5" name="days" type="checkbox" value="5" checked' in step.text
    saved = await post_page_form(
        portal,
        "/portal/setup/hours",
        "/portal/setup/hours",
        {"days": ["1", "2", "3", "4"], "start": "07:30", "end": "16:00"},
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/portal/setup/modules"

    # (c) modules, from the catalogue with descriptions
    step = await portal.get("/portal/setup/modules")
    assert "Step 3 of 4" in step.text
    assert "<legend>Modules to enable</legend>" in step.text
    assert 'name="modules" type="checkbox" value="referrals"' in step.text
    saved = await post_page_form(
        portal, "/portal/setup/modules", "/portal/setup/modules", {"modules": ["referrals", "reminders"]}
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/portal/setup/invite"

    assert_csp_clean(plans, details, sent, confirm_page, confirmed, scan, start, step)

    # (d) invitations: one after the other, with the invited people listed
    step = await portal.get("/portal/setup/invite")
    assert "Step 4 of 4" in step.text
    assert "Nobody yet" in step.text
    casey = f"casey@{slug}.example"
    sent = await post_page_form(
        portal,
        "/portal/setup/invite",
        "/portal/setup/invite",
        {"email": casey, "full_name": "Casey Coordinator", "role": "coordinator"},
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == "/portal/setup/invite?sent=true"
    listed = await portal.get(sent.headers["location"])
    assert "Invitation sent." in listed.text
    assert casey in listed.text
    assert "Casey Coordinator" in listed.text
    taken = await post_page_form(
        portal, "/portal/setup/invite", "/portal/setup/invite", {"email": casey, "role": "viewer"}
    )
    assert taken.status_code == 422
    assert "already belongs" in field_error(taken.text, "email")
    bad = await post_page_form(
        portal, "/portal/setup/invite", "/portal/setup/invite", {"email": "not-an-address", "role": "viewer"}
    )
    assert bad.status_code == 422
    assert field_error(bad.text, "email")
    assert 'value="not-an-address"' in bad.text  # what was typed is kept

    # What the pages changed, read back through the API as the owner.
    api = await session_headers(portal, settings)
    tenant_now = (await portal.get("/api/v1/tenant", headers=api)).json()
    assert tenant_now["time_zone"] == "America/Chicago"
    assert tenant_now["business_hours"] == {"days": [1, 2, 3, 4], "start": "07:30", "end": "16:00"}
    modules = {m["name"]: m["enabled"] for m in (await portal.get("/api/v1/admin/modules", headers=api)).json()}
    assert modules["referrals"] is True
    assert modules["reminders"] is True
    users = (await portal.get("/api/v1/users", headers=api)).json()
    assert [(u["email"], u["role"], u["status"]) for u in users if u["email"] == casey] == [
        (casey, "coordinator", "pending")
    ]

    # Finish: recorded once, audited; the next login goes to the worklist.
    finished = await post_page_form(portal, "/portal/setup/invite", "/portal/setup/finish", {})
    assert finished.status_code == 303
    assert finished.headers["location"] == "/portal/"
    assert await owner_db.fetchval("select setup_completed_at from tenants where id = $1", org.tenant_id) is not None
    event = await owner_db.fetchrow(
        "select actor_type, actor_id, resource_id from audit_events where tenant_id = $1 "
        "and action = 'tenant.setup_completed'",
        org.tenant_id,
    )
    assert (event["actor_type"], event["actor_id"], event["resource_id"]) == ("user", org.owner_id, org.tenant_id)

    # The invitation, accepted through its pages.
    [invitation] = await delivered(app_loop, owner_db, org, platform_smtp, casey)
    invite_token = link_token(invitation, "invitations")
    invitee = make_portal()
    offer = await invitee.get(f"/portal/invitations/{invite_token}")
    assert offer.status_code == 200
    assert f"Join Riverside {slug}" in offer.text
    assert "<strong>coordinator</strong>" in offer.text
    assert f'value="{casey}" readonly' in offer.text
    assert 'value="Casey Coordinator"' in offer.text
    action = f"/portal/invitations/{invite_token}"
    differ = await invitee.post(
        action,
        data={
            "full_name": "Casey C.",
            "password": PASSWORD,
            "password_confirm": PASSWORD + "!",
            "_csrf_token": csrf_of(offer.text),
        },
    )
    assert differ.status_code == 422
    assert "not the same" in field_error(differ.text, "password_confirm")
    short = await invitee.post(
        action,
        data={
            "full_name": "Casey C.",
            "password": "short",
            "password_confirm": "short",
            "_csrf_token": csrf_of(offer.text),
        },
    )
    assert short.status_code == 422
    assert "12" in field_error(short.text, "password")
    accepted = await invitee.post(
        action,
        data={
            "full_name": "Casey C.",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "_csrf_token": csrf_of(offer.text),
        },
    )
    assert accepted.status_code == 200, accepted.text
    assert "You can log in now" in accepted.text
    assert f'href="/portal/login?org={slug}"' in accepted.text
    assert (await invitee.get(f"/portal/invitations/{invite_token}")).status_code == 409
    assert_csp_clean(listed, taken, offer, differ, accepted)
    casey_login = await portal_login(invitee, slug, casey, PASSWORD)
    assert casey_login.status_code == 303
    assert casey_login.headers["location"] == "/portal/mfa"
    name = await owner_db.fetchval(
        "select full_name from users where tenant_id = $1 and email = $2", org.tenant_id, casey
    )
    assert name == "Casey C."


# --- sign-up form errors ----------------------------------------------------------------------------------------


async def test_sign_up_errors_are_shown_next_to_their_fields(
    portal: Client, client: Client, owner_db: asyncpg.Connection
) -> None:
    slug = f"errs-{secrets.token_hex(4)}"
    cases = [
        ({"owner_password": "too-short", "password_confirm": "too-short"}, "owner_password", "at least 12"),
        ({"owner_email": "olive-at-nowhere"}, "owner_email", "format"),
        ({"password_confirm": PASSWORD + "x"}, "password_confirm", "not the same"),
        ({"slug": "X"}, "slug", "format"),
    ]
    for overrides, name, words in cases:
        answer = await submit(
            portal, "/portal/signup/details?plan=starter", "/portal/signup/details", signup_fields(slug, **overrides)
        )
        assert answer.status_code == 422, (name, answer.text)
        assert words in field_error(answer.text, name), name
        assert 'name="owner_password" type="password" value=""' in answer.text  # passwords are never echoed
        assert f'value="Riverside {slug}"' in answer.text  # the rest is kept
    taken = await sign_up(client)
    answer = await submit(
        portal, "/portal/signup/details?plan=starter", "/portal/signup/details", signup_fields(taken.slug)
    )
    assert answer.status_code == 422
    assert "already taken" in field_error(answer.text, "slug")
    bad_zone = await submit(
        portal,
        "/portal/signup/details?plan=starter",
        "/portal/signup/details",
        signup_fields(slug, time_zone="Mars/Olympus"),
    )
    assert bad_zone.status_code == 422, bad_zone.text
    assert field_error(bad_zone.text, "time_zone") == "Choose a time zone from the list."
    assert await owner_db.fetchval("select count(*) from tenants where slug = $1", slug) == 0


async def test_asking_for_a_new_link_answers_the_same_whoever_asks(portal: Client) -> None:
    for tenant in ("no-such-org", "demo"):
        answer = await submit(
            portal, "/portal/signup/sent?org=x", "/portal/signup/resend", {"tenant": tenant, "email": "a@b.example"}
        )
        assert answer.status_code == 200
        assert "a new link is on its way" in answer.text
    empty = await submit(portal, "/portal/signup/sent", "/portal/signup/resend", {"tenant": "", "email": ""})
    assert empty.status_code == 422


# --- links that cannot be used ----------------------------------------------------------------------------------


async def test_used_expired_and_tampered_links_get_clear_pages(
    portal: Client, owner_db: asyncpg.Connection, app_loop: Callable[..., Any], platform_smtp: SmtpServer
) -> None:
    slug = f"links-{secrets.token_hex(4)}"
    assert (await sign_up_through_the_form(portal, slug)).status_code == 303
    org = await org_of(owner_db, slug, f"olive@{slug}.example")
    [mail] = await delivered(app_loop, owner_db, org, platform_smtp, org.email)
    token = link_token(mail, "verify-email")
    page = await portal.get(f"/portal/verify-email/{token}")
    csrf = {"_csrf_token": csrf_of(page.text)}

    tampered = await portal.post(f"/portal/verify-email/{token[:-3]}xyz", data=csrf)
    assert tampered.status_code == 404
    assert "text/html" in tampered.headers["content-type"]
    assert "This link is not valid" in tampered.text
    garbage = await portal.post("/portal/verify-email/" + "x" * 400, data=csrf)
    assert garbage.status_code == 404

    await owner_db.execute(
        "update user_tokens set expires_at = now() - interval '1 minute' where tenant_id = $1", org.tenant_id
    )
    expired = await portal.post(f"/portal/verify-email/{token}", data=csrf)
    assert expired.status_code == 410
    assert "has expired" in expired.text
    assert 'href="/portal/signup/sent"' in expired.text

    await owner_db.execute(
        "update user_tokens set expires_at = now() + interval '1 hour' where tenant_id = $1", org.tenant_id
    )
    assert (await portal.post(f"/portal/verify-email/{token}", data=csrf)).status_code == 200
    used = await portal.post(f"/portal/verify-email/{token}", data=csrf)
    assert used.status_code == 409
    assert "already used" in used.text

    invitation_pages = [
        await portal.get(f"/portal/invitations/cci_{uuid.uuid4().hex}_{uuid.uuid4().hex}_nope"),
        await portal.get(f"/portal/invitations/{token}"),  # a confirmation link is no invitation
    ]
    assert [p.status_code for p in invitation_pages] == [404, 404]
    assert all("This link is not valid" in p.text for p in invitation_pages)


async def test_expired_and_used_invitations(
    portal: Client,
    org: Org,
    client: Client,
    owner_db: asyncpg.Connection,
    app_loop: Callable[..., Any],
    platform_smtp: SmtpServer,
) -> None:
    email = f"dana-{secrets.token_hex(3)}@{org.slug}.example"
    response = await client.post(
        "/api/v1/users/invitations", headers=org.headers, json={"email": email, "role": "viewer"}
    )
    assert response.status_code == 201, response.text
    [mail] = await delivered(app_loop, owner_db, org, platform_smtp, email)
    token = link_token(mail, "invitations")
    page = await portal.get(f"/portal/invitations/{token}")
    assert page.status_code == 200
    await owner_db.execute(
        "update user_tokens set expires_at = now() - interval '1 second' where tenant_id = $1", org.tenant_id
    )
    expired = await portal.get(f"/portal/invitations/{token}")
    assert expired.status_code == 410
    assert "Ask the person who invited you" in expired.text
    late = await portal.post(
        f"/portal/invitations/{token}",
        data={"password": PASSWORD, "password_confirm": PASSWORD, "_csrf_token": csrf_of(page.text)},
    )
    assert late.status_code == 410
    await owner_db.execute(
        "update user_tokens set expires_at = now() + interval '1 hour' where tenant_id = $1", org.tenant_id
    )
    ok = await portal.post(
        f"/portal/invitations/{token}",
        data={"password": PASSWORD, "password_confirm": PASSWORD, "_csrf_token": csrf_of(page.text)},
    )
    assert ok.status_code == 200
    used = await portal.post(
        f"/portal/invitations/{token}",
        data={"password": PASSWORD, "password_confirm": PASSWORD, "_csrf_token": csrf_of(page.text)},
    )
    assert used.status_code == 409
    assert "already used" in used.text


# --- the setup's rules --------------------------------------------------------------------------------------------


async def test_only_those_who_manage_the_organization_get_the_setup(portal: Client, client: Client, org: Org) -> None:
    email = f"cora-{secrets.token_hex(3)}@{org.slug}.example"
    created = await client.post(
        "/api/v1/users", headers=org.headers, json={"email": email, "password": PASSWORD, "role": "coordinator"}
    )
    assert created.status_code == 201, created.text
    login = await portal_login(portal, org.slug, email, PASSWORD)
    assert login.status_code == 303
    assert login.headers["location"] == "/portal/"
    for path in (
        "/portal/setup",
        "/portal/setup/timezone",
        "/portal/setup/hours",
        "/portal/setup/modules",
        "/portal/setup/invite",
    ):
        page = await portal.get(path)
        assert page.status_code == 403, path
        assert "text/html" in page.headers["content-type"]
    token = csrf_of((await portal.get("/portal/login?ended=x")).text)
    finish = await portal.post("/portal/setup/finish", data={"_csrf_token": token}, follow_redirects=False)
    assert finish.status_code == 403
    change = await portal.post("/portal/setup/timezone", data={"time_zone": "UTC", "_csrf_token": token})
    assert change.status_code == 403
    assert (await client.get("/api/v1/tenant", headers=org.headers)).json()["time_zone"] == "UTC"


async def test_setup_steps_show_the_apis_refusals_and_can_be_skipped(
    portal: Client, client: Client, org: Org, owner_db: asyncpg.Connection
) -> None:
    assert (await portal_login(portal, org.slug, org.email, PASSWORD)).headers["location"] == "/portal/setup"
    no_days = await submit(portal, "/portal/setup/hours", "/portal/setup/hours", {"start": "08:00", "end": "17:00"})
    assert no_days.status_code == 422
    assert "at least one working day" in no_days.text
    assert 'aria-describedby="e-days"' in no_days.text
    backwards = await submit(
        portal, "/portal/setup/hours", "/portal/setup/hours", {"days": "1", "start": "18:00", "end": "09:00"}
    )
    assert backwards.status_code == 422
    assert "after the opening time" in field_error(backwards.text, "end")
    assert 'value="18:00"' in backwards.text
    nonsense = await submit(
        portal, "/portal/setup/hours", "/portal/setup/hours", {"days": "1", "start": "25:00", "end": "09:00"}
    )
    assert nonsense.status_code == 422
    assert field_error(nonsense.text, "start")
    zone = await submit(portal, "/portal/setup/timezone", "/portal/setup/timezone", {"time_zone": "Mars/Olympus"})
    assert zone.status_code == 422
    assert field_error(zone.text, "time_zone")
    tenant = (await client.get("/api/v1/tenant", headers=org.headers)).json()
    assert tenant["time_zone"] == "UTC"
    assert tenant["business_hours"] == {"days": [1, 2, 3, 4, 5], "start": "08:00", "end": "17:00"}

    # Each step links to the next one; the last one finishes.
    for path, following in (
        ("/portal/setup/timezone", "/portal/setup/hours"),
        ("/portal/setup/hours", "/portal/setup/modules"),
        ("/portal/setup/modules", "/portal/setup/invite"),
    ):
        assert f'<a href="{following}">Skip this step</a>' in (await portal.get(path)).text
    assert await owner_db.fetchval("select setup_completed_at from tenants where id = $1", org.tenant_id) is None
    finished = await submit(portal, "/portal/setup", "/portal/setup/finish", {}, follow_redirects=False)
    assert finished.status_code == 303
    again = await submit(portal, "/portal/setup", "/portal/setup/finish", {}, follow_redirects=False)
    assert again.status_code == 303
    assert (
        await owner_db.fetchval(
            "select count(*) from audit_events where tenant_id = $1 and action = 'tenant.setup_completed'",
            org.tenant_id,
        )
        == 1
    )
    out = await submit(portal, "/portal/setup", "/portal/logout", {}, follow_redirects=False)
    assert out.status_code == 303
    assert (await portal_login(portal, org.slug, org.email, PASSWORD)).headers["location"] == "/portal/"
