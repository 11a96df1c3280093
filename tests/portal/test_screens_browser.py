"""Every screen of the portal in a real browser, for an organization with all four modules on: each page of
the menu opens, passes the accessibility checks at 1280 px and 768 px and is screenshotted; a module's
settings form shows the server's message next to the field; a report's progress page follows the build
(htmx polling) to its download."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page, expect

from core.testing.browser import LiveServer, Screenshot
from core.testing.fixtures import Org, create_patient, enable_module, run_queued_jobs
from tests.portal.accessibility import accessibility_problems
from tests.portal.steps import log_in

MODULES = ("referrals", "insurance", "reminders", "metrics")


async def _ready(client: Any, org: Org, owner_db: Any) -> None:
    for module in MODULES:
        await enable_module(client, org, module)
    await create_patient(client, org)
    await owner_db.execute("update tenants set setup_completed_at = now() where id = $1", org.tenant_id)


async def test_every_menu_page_opens_and_is_accessible(
    client: Any, org: Org, owner_db: Any, live_server: LiveServer, page: Page, screenshot: Screenshot
) -> None:
    await _ready(client, org, owner_db)
    await log_in(page, live_server, org.slug, org.email, org.password)
    links = page.get_by_role("navigation", name="Main").get_by_role("link")
    targets = [str(await link.get_attribute("href")) for link in await links.all()]
    expected = {"/portal/", "/portal/patients", "/portal/referrals/board", "/portal/insurance/prior-auths"}
    expected |= {"/portal/metrics/dashboard", "/portal/reminders/day", "/portal/admin/modules", "/portal/admin/audit"}
    assert expected <= set(targets), targets
    for number, target in enumerate(targets, start=1):
        answer = await page.goto(f"{live_server.url}{target}")
        assert answer is not None
        assert answer.status == 200, target
        name = f"{number:02d}{target.replace('/', '-').rstrip('-')}"
        for label, size in (("desktop", {"width": 1280, "height": 900}), ("tablet", {"width": 768, "height": 1024})):
            await page.set_viewport_size(size)
            assert await accessibility_problems(page) == {}, f"{target} ({label})"
            await screenshot(page, f"{name}-{label}")
        await page.set_viewport_size({"width": 1280, "height": 900})
    # the dashboard draws its trends as SVG with a text alternative
    await page.goto(f"{live_server.url}/portal/metrics/dashboard")
    charts = page.locator("article.card svg.chart")
    assert await charts.count() >= 1  # metrics with data in the last 8 weeks (the patient registered today)
    for chart in await charts.all():
        assert await chart.get_attribute("role") == "img"
        assert (await chart.locator("title").text_content() or "").strip()


async def test_a_settings_form_shows_the_servers_message_next_to_the_field(
    client: Any, org: Org, owner_db: Any, live_server: LiveServer, page: Page, screenshot: Screenshot
) -> None:
    await _ready(client, org, owner_db)
    await log_in(page, live_server, org.slug, org.email, org.password)
    await page.goto(f"{live_server.url}/portal/admin/modules/referrals")
    calendar = page.locator("#f-calendar")
    await calendar.fill('{"mon": ["18:00-09:00"]}')
    async with page.expect_navigation():
        await page.locator("main form button[type=submit]").last.click()
    await expect(page.locator("#e-calendar")).to_contain_text("must end after it starts")
    await expect(calendar).to_have_attribute("aria-invalid", "true")
    assert "e-calendar" in str(await calendar.get_attribute("aria-describedby"))
    await screenshot(page, "settings-error")
    saved = await client.get("/api/v1/admin/modules", headers=org.headers)
    [referrals] = [m for m in saved.json() if m["name"] == "referrals"]
    assert "18:00-09:00" not in str(referrals["settings"])


async def test_a_report_page_follows_the_build_to_the_download(
    client: Any,
    org: Org,
    owner_db: Any,
    app_loop: Any,
    live_server: LiveServer,
    page: Page,
    screenshot: Screenshot,
) -> None:
    await _ready(client, org, owner_db)
    await log_in(page, live_server, org.slug, org.email, org.password)
    await page.goto(f"{live_server.url}/portal/metrics/reports/appointments_by_status_per_day")
    await page.get_by_label("File format").select_option("csv")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Build the report").click()
    await expect(page.get_by_role("status")).to_contain_text("Queued")
    await expect(page.locator("#run-bar")).to_be_visible()
    await screenshot(page, "queued")
    assert await run_queued_jobs(app_loop, owner_db, org, "reports.build") == ["done"]
    await expect(page.get_by_role("status")).to_contain_text("Built", timeout=10_000)  # the page polls every second
    await screenshot(page, "built")
    async with page.expect_download() as waiting:
        await page.get_by_role("link", name=re.compile("Download the CSV file")).click()
    download = await waiting.value
    assert download.suggested_filename.endswith(".csv")
