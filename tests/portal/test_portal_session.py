"""The portal's login session over HTTP: cookies, CSRF, headers, timeouts, tenant isolation."""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

import msgspec
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from core.app import create_app
from core.testing.fixtures import PASSWORD, Org, create_patient
from core.testing.portal import BASE_URL, csrf_of, portal_login, submit


async def test_login_sets_a_secure_httponly_session_cookie_and_lands_on_the_worklist(
    portal: AsyncTestClient[Any], org: Org
) -> None:
    answer = await portal_login(portal, org.slug, org.email, org.password)
    assert answer.status_code == 303, answer.text
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("__Host-carecoord_session="))
    assert "HttpOnly" in session
    assert "Secure" in session
    assert "samesite=lax" in session.lower()
    assert "Path=/" in session
    assert "access_token" not in session
    assert org.access_token not in answer.text
    assert answer.headers["location"] == "/portal/setup"  # an owner whose organization is not set up yet
    page = await portal.get("/portal/mfa")
    assert page.status_code == 200
    assert "Log out" in page.text


async def test_wrong_password_shows_one_message_and_no_session(portal: AsyncTestClient[Any], org: Org) -> None:
    answer = await portal_login(portal, org.slug, org.email, "not the password at all")
    assert answer.status_code == 401
    assert "is not right" in answer.text
    cookies = answer.headers.get_list("set-cookie")
    assert not any(c.startswith("__Host-carecoord_session=") and "Max-Age=0" not in c for c in cookies), cookies


async def test_post_without_or_with_a_forged_csrf_token_is_refused(portal: AsyncTestClient[Any], org: Org) -> None:
    page = await portal.get("/portal/login")
    token = csrf_of(page.text)
    fields = {"tenant": org.slug, "email": org.email, "password": org.password}
    missing = await portal.post("/portal/login", data=fields, follow_redirects=False)
    assert missing.status_code == 403
    assert "text/html" in missing.headers["content-type"]
    forged = await portal.post(
        "/portal/login", data={**fields, "_csrf_token": token[:-4] + "0000"}, follow_redirects=False
    )
    assert forged.status_code == 403
    good = await portal.post("/portal/login", data={**fields, "_csrf_token": token}, follow_redirects=False)
    assert good.status_code == 303


async def test_pages_carry_security_headers_and_no_store(portal: AsyncTestClient[Any]) -> None:
    page = await portal.get("/portal/login")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["strict-transport-security"].startswith("max-age=")
    assert "no-store" in page.headers["cache-control"]
    assert "<script>" not in page.text
    assert " style=" not in page.text


async def test_pages_need_a_session_and_logout_ends_it(portal: AsyncTestClient[Any], org: Org) -> None:
    anonymous = await portal.get("/portal/mfa", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/portal/login")
    await portal_login(portal, org.slug, org.email, org.password)
    assert (await portal.get("/portal/mfa")).status_code == 200
    page = await portal.get("/portal/mfa")
    out = await portal.post(
        "/portal/logout", data={"_csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert out.status_code == 303
    assert "ended=logged_out" in out.headers["location"]
    after = await portal.get("/portal/mfa", follow_redirects=False)
    assert after.status_code == 303


async def _session_key(portal: AsyncTestClient[Any]) -> str:
    session_id = portal.cookies.get("__Host-carecoord_session")
    assert session_id
    return f"carecoord-portal-session:{session_id}"


async def _age_session(portal: AsyncTestClient[Any], settings: Any, field: str, seconds: float) -> None:
    """Move the stored session's ``field`` clock back by ``seconds`` (as if that much time had passed)."""
    redis = Redis.from_url(settings.redis_url)
    try:
        key = await _session_key(portal)
        stored = json.loads(await redis.get(key))
        stored[field] -= seconds
        await redis.set(key, json.dumps(stored), keepttl=True)
    finally:
        await redis.aclose()


async def test_an_idle_session_is_logged_off(portal: AsyncTestClient[Any], org: Org, settings: Any) -> None:
    await portal_login(portal, org.slug, org.email, org.password)
    assert (await portal.get("/portal/mfa")).status_code == 200
    await _age_session(portal, settings, "seen_at", settings.portal_idle_timeout_seconds + 5)
    answer = await portal.get("/portal/mfa", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/portal/login?ended=idle"
    login_page = await portal.get(answer.headers["location"])
    assert "inactivity" in login_page.text


async def test_a_session_ends_at_the_absolute_limit_even_when_active(
    portal: AsyncTestClient[Any], org: Org, settings: Any
) -> None:
    await portal_login(portal, org.slug, org.email, org.password)
    await _age_session(portal, settings, "login_at", settings.portal_absolute_timeout_seconds + 5)
    answer = await portal.get("/portal/mfa", follow_redirects=False)
    assert answer.headers["location"] == "/portal/login?ended=expired"


async def test_the_session_store_expires_with_the_idle_timeout(
    portal: AsyncTestClient[Any], org: Org, settings: Any
) -> None:
    await portal_login(portal, org.slug, org.email, org.password)
    redis = Redis.from_url(settings.redis_url)
    try:
        ttl = await redis.ttl(await _session_key(portal))
    finally:
        await redis.aclose()
    assert 0 < ttl <= settings.portal_idle_timeout_seconds


async def test_login_takes_a_new_session_id(portal: AsyncTestClient[Any], org: Org) -> None:
    planted = "a" * 64
    portal.cookies.set("__Host-carecoord_session", planted, domain="testserver.local")
    await portal_login(portal, org.slug, org.email, org.password)
    assert portal.cookies.get("__Host-carecoord_session") not in (None, planted)


async def test_an_htmx_request_without_a_session_is_told_where_to_go(portal: AsyncTestClient[Any]) -> None:
    answer = await portal.get("/portal/mfa", headers={"HX-Request": "true"}, follow_redirects=False)
    assert answer.status_code == 204
    assert answer.headers["hx-redirect"] == "/portal/login?ended=required"


async def test_the_api_does_not_accept_the_portal_cookie(portal: AsyncTestClient[Any], org: Org) -> None:
    await portal_login(portal, org.slug, org.email, org.password)
    answer = await portal.get("/api/v1/users/me")
    assert answer.status_code == 401


async def test_logout_revokes_the_sessions_api_tokens(portal: AsyncTestClient[Any], org: Org, settings: Any) -> None:
    await portal_login(portal, org.slug, org.email, org.password)
    redis = Redis.from_url(settings.redis_url)
    try:
        stored = json.loads(await redis.get(await _session_key(portal)))
    finally:
        await redis.aclose()
    bearer = {"Authorization": f"Bearer {stored['access_token']}"}
    assert (await portal.get("/api/v1/users/me", headers=bearer)).status_code == 200
    page = await portal.get("/portal/mfa")
    await portal.post("/portal/logout", data={"_csrf_token": csrf_of(page.text)})
    assert (await portal.get("/api/v1/users/me", headers=bearer)).status_code == 401


async def test_an_unknown_portal_address_is_the_portals_404_page(portal: AsyncTestClient[Any]) -> None:
    answer = await portal.get("/portal/no/such/page")
    assert answer.status_code == 404
    assert "text/html" in answer.headers["content-type"]
    assert "Not Found" in answer.text


async def test_a_pending_owner_is_told_to_confirm_the_email_and_offered_a_new_link(
    portal: AsyncTestClient[Any], client: AsyncTestClient[Any]
) -> None:
    slug = f"pnd-{secrets.token_hex(4)}"
    body = {
        "organization_name": "Pending Clinic",
        "slug": slug,
        "owner_email": f"owner@{slug}.example",
        "owner_password": PASSWORD,
        "verify_email": True,
    }
    assert (await client.post("/api/v1/signup", json=body)).status_code == 201
    wrong = await portal_login(portal, slug, body["owner_email"], "not the right password")
    assert wrong.status_code == 401
    assert "Confirm your e-mail" not in wrong.text
    right = await portal_login(portal, slug, body["owner_email"], PASSWORD)
    assert right.status_code == 401
    assert "Confirm your e-mail address first" in right.text
    assert f"/portal/signup/sent?org={slug}" in right.text


async def test_portal_logins_share_the_login_rate_limit_and_get_a_page_saying_so(
    settings: Any, client: AsyncTestClient[Any], org: Org
) -> None:
    strict = msgspec.structs.replace(
        settings, login_rate_limit_per_minute=2, rate_limit_namespace=f"carecoord-rate-limit-{secrets.token_hex(6)}"
    )
    limited: AsyncTestClient[Any] = AsyncTestClient(app=create_app(strict), base_url=BASE_URL)
    limited.blocking_portal = client.blocking_portal
    for _ in range(2):
        assert (await portal_login(limited, org.slug, org.email, "wrong password, again")).status_code == 401
    refused = await portal_login(limited, org.slug, org.email, org.password)
    assert refused.status_code == 429
    assert "text/html" in refused.headers["content-type"]
    assert "Too many attempts" in refused.text


async def test_a_patient_search_leaves_the_name_out_of_every_log(
    portal: AsyncTestClient[Any], client: AsyncTestClient[Any], org: Org, capfd: Any, caplog: Any
) -> None:
    """The portal's in-process API call carries the search in its query string: httpx must not log it."""
    caplog.set_level(logging.DEBUG)
    await create_patient(client, org, family_name="Quillfeather")
    await portal_login(portal, org.slug, org.email, org.password)
    found = await submit(portal, "/portal/patients", "/portal/patients/search", {"q": "Quillfeather"})
    assert found.status_code == 200
    assert "Quillfeather" in found.text
    out, err = capfd.readouterr()
    assert "Quillfeather" not in out + err + caplog.text
