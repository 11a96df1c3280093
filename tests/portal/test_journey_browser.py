"""The portal end to end in a real browser (Debian's Chromium through Playwright) against the app served over
real HTTP, with every e-mail taken from a real SMTP server (aiosmtpd):

a new organization signs up, confirms its e-mail, enrols MFA by scanning (reading) its QR secret, enables
referrals in the guided setup and invites a coordinator; the coordinator accepts, enrols MFA, creates a
patient, sends a referral and sees it on the referral board; after logging out, the back button shows no
patient data. No URL the browser requested carries the patient's name or MRN. Every step is screenshotted
(``.artifacts/screenshots/<test>/``) and each page is checked for labels, contrast and overflow at 1280 px
and 768 px.
"""

from __future__ import annotations

import re
import secrets
import time
from email.message import Message
from types import SimpleNamespace
from typing import Any

import httpx
import pyotp
from playwright.async_api import Browser, Page, expect

from core.testing.browser import LiveServer, Screenshot
from core.testing.fixtures import run_queued_jobs
from tests.notifications.conftest import SmtpServer
from tests.notifications.conftest import platform_smtp as platform_smtp  # the fixture, re-exported
from tests.notifications.conftest import smtp_server as smtp_server  # the fixture, re-exported
from tests.portal.accessibility import accessibility_problems
from tests.portal.steps import log_in

PASSWORD = "a long and careful passphrase"
SEND = "notifications.send"
RECEIVER = "Lakeside Cardiology"
PATIENT = {"given": "Marisol", "family": "Quintero-Vance", "mrn": "MRN-E2E-4471"}


def _text_of(mail: Message) -> str:
    if mail.is_multipart():
        return "\n".join(_text_of(part) for part in mail.get_payload() if isinstance(part, Message))
    payload = mail.get_payload(decode=True)
    return payload.decode() if isinstance(payload, bytes) else ""


def _link(smtp: SmtpServer, to: str, page: str) -> str:
    """The path of the newest ``/portal/{page}/...`` link mailed to ``to``."""
    for mail in reversed(smtp.received):
        if to in str(mail.message["To"]):
            found = re.search(rf"https?://[^/\s]+(/portal/{page}/\S+)", _text_of(mail.message))
            if found:
                return found.group(1)
    raise AssertionError(f"no /portal/{page}/ link was mailed to {to}")


async def _check(page: Page, screenshot: Screenshot, name: str) -> None:
    """Accessible at desktop and tablet widths; a screenshot at each."""
    for label, size in (("desktop", {"width": 1280, "height": 900}), ("tablet", {"width": 768, "height": 1024})):
        await page.set_viewport_size(size)
        assert await accessibility_problems(page) == {}, f"{name} ({label})"
        await screenshot(page, f"{name}-{label}")
    await page.set_viewport_size({"width": 1280, "height": 900})


async def _submit(page: Page, button: str) -> None:
    async with page.expect_navigation():
        await page.get_by_role("button", name=button).click()


async def _enrol_mfa(page: Page, screenshot: Screenshot, name: str) -> None:
    await expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor authentication")
    await _submit(page, "Show my QR code")
    await expect(page.locator(".qr svg")).to_be_visible()
    await _check(page, screenshot, f"{name}-mfa-qr")
    secret = (await page.locator("#mfa-secret").inner_text()).strip()
    await page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    await _submit(page, "Confirm")


async def test_an_organization_signs_up_and_its_coordinator_sends_a_referral(
    live_server: LiveServer,
    browser: Browser,
    page: Page,
    screenshot: Screenshot,
    platform_smtp: SmtpServer,
    owner_db: Any,
    app_loop: Any,
) -> None:
    slug = f"e2e-{secrets.token_hex(4)}"
    owner_email, coordinator_email = f"owner@{slug}.example", f"coordinator@{slug}.example"
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    # 1. sign up: a plan, then the organization and its owner
    await page.goto(f"{live_server.url}/portal/signup")
    await _check(page, screenshot, "01-plans")
    await page.get_by_role("radio", name=re.compile("Professional")).check()
    await _submit(page, "Continue")
    await page.get_by_label("Organization name").fill("Riverside Care Partners")
    await page.get_by_label("Short name").fill(slug)
    await page.get_by_label("Time zone").select_option("America/Chicago")
    await page.get_by_label("Your name").fill("Olivia Owner")
    await page.get_by_label("E-mail").fill(owner_email)
    await page.locator("#f-owner_password").fill(PASSWORD)
    await page.get_by_label("Password again").fill(PASSWORD)
    await _check(page, screenshot, "02-details")
    await _submit(page, "Create the organization")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    await screenshot(page, "03-check-email")

    # 2. the e-mailed link confirms the address
    tenant_id = await owner_db.fetchval("select id from tenants where slug = $1", slug)
    org = SimpleNamespace(tenant_id=tenant_id)
    assert await run_queued_jobs(app_loop, owner_db, org, SEND) == ["done"]
    await page.goto(live_server.url + _link(platform_smtp, owner_email, "verify-email"))
    await _submit(page, "Confirm my e-mail")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your e-mail address is confirmed")
    await screenshot(page, "04-confirmed")

    # 3. first login: MFA enrolment with the QR code, then the guided setup
    await log_in(page, live_server, slug, owner_email, PASSWORD)
    await _enrol_mfa(page, screenshot, "05-owner")
    await expect(page).to_have_url(re.compile(r"/portal/setup"))
    await _check(page, screenshot, "06-setup")
    while not (await page.get_by_role("heading", name="Modules").count()):
        await _submit(page, "Save and continue")
    await page.get_by_label("Referrals").check()
    await _check(page, screenshot, "07-setup-modules")
    await _submit(page, "Save and continue")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Invite your team")
    await page.get_by_label("E-mail").fill(coordinator_email)
    await page.get_by_label("Name").fill("Cora Coordinator")
    await page.get_by_label("Role").select_option("coordinator")
    await _submit(page, "Send the invitation")
    await expect(page.get_by_role("status")).to_contain_text("Invitation sent")
    await _check(page, screenshot, "08-setup-invited")
    await _submit(page, "Finish the setup")
    await screenshot(page, "09-owner-worklist")
    await _add_receiver(live_server, owner_db, slug, owner_email)
    await _submit(page, "Log out")

    # 4. the coordinator accepts the invitation in a browser of their own
    assert await run_queued_jobs(app_loop, owner_db, org, SEND) == ["done"]
    context = await browser.new_context()
    coordinator = await context.new_page()
    coordinator.on("request", lambda request: requested.append(request.url))
    try:
        await coordinator.goto(live_server.url + _link(platform_smtp, coordinator_email, "invitations"))
        await _check(coordinator, screenshot, "10-invitation")
        await coordinator.get_by_label("Choose a password").fill(PASSWORD)
        await coordinator.get_by_label("Password again").fill(PASSWORD)
        await _submit(coordinator, "Accept the invitation")
        await expect(coordinator.get_by_role("heading", level=1)).to_have_text("You can log in now")
        await log_in(coordinator, live_server, slug, coordinator_email, PASSWORD)
        await _enrol_mfa(coordinator, screenshot, "11-coordinator")
        await _coordinator_sends_a_referral(coordinator, live_server, screenshot)
    finally:
        await context.close()

    leaked = [url for url in requested if any(v.lower() in url.lower() for v in PATIENT.values())]
    assert leaked == [], leaked


async def _add_receiver(server: LiveServer, owner_db: Any, slug: str, email: str) -> None:
    """The specialist the referral goes to, added to the directory through the API (the owner's MFA code)."""
    secret = await owner_db.fetchval(
        "select u.totp_secret from users u join tenants t on t.id = u.tenant_id where t.slug = $1 and u.email = $2",
        slug,
        email,
    )
    code = pyotp.TOTP(secret).at(time.time() + 30)  # the next step: this one was used at enrolment
    async with httpx.AsyncClient(base_url=server.url) as api:
        tokens = await api.post(
            "/api/v1/auth/token", json={"tenant": slug, "email": email, "password": PASSWORD, "totp": code}
        )
        assert tokens.status_code == 200, tokens.text
        headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        created = await api.post(
            "/api/v1/directory/organizations",
            headers=headers,
            json={"name": RECEIVER, "kind": "clinic", "specialty": "cardiology"},
        )
        assert created.status_code == 201, created.text


async def _coordinator_sends_a_referral(page: Page, server: LiveServer, screenshot: Screenshot) -> None:
    await expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    await _check(page, screenshot, "12-worklist")
    # a new patient
    await page.get_by_role("link", name="Patients", exact=True).click()
    await page.get_by_role("link", name="New patient").click()
    await page.get_by_label("Medical record number (MRN)").fill(PATIENT["mrn"])
    await page.get_by_label("Given name").fill(PATIENT["given"])
    await page.get_by_label("Family name").fill(PATIENT["family"])
    await page.get_by_label("Date of birth").fill("1961-04-09")
    await _check(page, screenshot, "13-new-patient")
    await _submit(page, "Register patient")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(PATIENT["family"])
    chart_url = page.url
    await _check(page, screenshot, "14-chart")
    # found again by name, through a search that never puts the name in the address
    await page.get_by_role("link", name="Patients", exact=True).click()
    await page.get_by_label("Find a patient").fill(PATIENT["family"])
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_role("link", name=re.compile(PATIENT["family"]))).to_be_visible()
    await _check(page, screenshot, "15-search")
    # the referral, from the chart's action
    await page.goto(chart_url)
    await _send_referral(page, screenshot)
    # logged out, the back button shows no patient data
    await _submit(page, "Log out")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    await page.go_back()
    await page.wait_for_load_state()
    content = await page.content()
    assert PATIENT["family"] not in content
    assert PATIENT["mrn"] not in content
    await expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    await screenshot(page, "99-back-after-logout")
    await page.goto(chart_url)
    assert "/portal/login" in page.url
    assert PATIENT["family"] not in await page.content()


async def _send_referral(page: Page, screenshot: Screenshot) -> None:
    async with page.expect_navigation():
        await page.get_by_role("link", name="Send a referral").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Send a referral")
    await page.get_by_label("Specialty").fill("cardiology")
    await page.get_by_label("Organization").select_option(label=RECEIVER)
    await page.get_by_label("Reason for the referral").fill("New atrial fibrillation, needs rhythm management")
    await page.get_by_label("ICD-10 diagnosis codes").fill("I48.91")
    await _check(page, screenshot, "16-send-referral")
    await _submit(page, "Create and send")
    await expect(page.get_by_role("status")).to_be_visible()
    await _check(page, screenshot, "17-referral")
    async with page.expect_navigation():
        await page.get_by_role("navigation", name="Main").get_by_role("link", name="Referral board").click()
    sent = page.locator("section.board-column[data-status=sent]")
    card = sent.locator("article.card").filter(has_text=PATIENT["family"])
    await expect(card).to_have_count(1)
    await expect(card).to_contain_text(RECEIVER)
    await expect(card).to_contain_text("SLA:")
    await _check(page, screenshot, "18-board")
