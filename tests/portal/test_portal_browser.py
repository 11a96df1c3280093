"""The portal's kernel in a real browser: the login form's accessibility at desktop and tablet widths,
keyboard order, the CSP enforced, and the automatic logoff after inactivity."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from core.testing.browser import LiveServer, Screenshot
from core.testing.fixtures import Org
from tests.portal.accessibility import accessibility_problems
from tests.portal.steps import log_in

WIDTHS = {"desktop": (1280, 800), "tablet": (768, 1024)}


async def test_the_login_page_is_accessible_at_desktop_and_tablet_widths(
    live_server: LiveServer, page: Page, screenshot: Screenshot
) -> None:
    for name, (width, height) in WIDTHS.items():
        await page.set_viewport_size({"width": width, "height": height})
        answer = await page.goto(f"{live_server.url}/portal/login")
        assert answer is not None
        assert answer.status == 200
        assert await accessibility_problems(page) == {}, name
        await screenshot(page, f"login-{name}")
    # keyboard: the first Tab reaches the skip link, which moves focus to the main content
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    await page.keyboard.press("Enter")
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Organization (its short name)")).to_be_focused()


async def test_the_browser_enforces_the_csp(live_server: LiveServer, page: Page) -> None:
    await page.goto(f"{live_server.url}/portal/login")
    ran = await page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.injected = true';"
        " document.body.appendChild(s); return window.injected === true; }"
    )
    assert ran is False
    assert await page.evaluate("() => typeof window.htmx") == "object"  # the site's own scripts do run


async def test_an_idle_page_logs_itself_off(
    live_server: LiveServer, page: Page, org: Org, settings: Any, screenshot: Screenshot
) -> None:
    await page.clock.install()
    await log_in(page, live_server, org.slug, org.email, org.password)
    await expect(page.get_by_role("button", name="Log out")).to_be_visible()
    idle = settings.portal_idle_timeout_seconds
    await page.clock.run_for((idle - 30) * 1000)
    await expect(page.locator("#idle-note")).to_contain_text("Logging off in")
    await screenshot(page, "idle-warning")
    async with page.expect_navigation(url="**/portal/login?ended=idle"):
        await page.clock.run_for(40 * 1000)
    await expect(page.get_by_text("logged off after a period of inactivity")).to_be_visible()
    await screenshot(page, "logged-off")
    # the server ended the session too: a page behind the login sends the browser back to the form
    await page.goto(f"{live_server.url}/portal/mfa")
    assert page.url.startswith(f"{live_server.url}/portal/login")


async def test_a_user_logs_in_and_moves_around_with_the_keyboard_only(
    live_server: LiveServer, page: Page, org: Org, owner_db: Any, screenshot: Screenshot
) -> None:
    await owner_db.execute("update tenants set setup_completed_at = now() where id = $1", org.tenant_id)
    await page.goto(f"{live_server.url}/portal/login")
    await page.keyboard.press("Tab")  # the skip link
    await page.keyboard.press("Tab")  # the brand link in the header
    for value in (org.slug, org.email, org.password):
        await page.keyboard.press("Tab")
        await page.keyboard.type(value)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")  # submits the form from the password field
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert page.url.rstrip("/").endswith("/portal")
    # Tab order: skip link, header links and the logout button, then the menu; Enter opens the link
    for _ in range(12):
        await page.keyboard.press("Tab")
        focused = await page.evaluate("() => document.activeElement.textContent.trim()")
        if focused == "Patients":
            break
    else:
        raise AssertionError("Tab never reached the Patients link of the menu")
    await screenshot(page, "menu-focus")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Patients")
    # the focus ring is the portal's own, thick and high-contrast (not the browser's thin default)
    await page.keyboard.press("Tab")
    ring = await page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement); return [s.outlineWidth, s.outlineColor]; }"
    )
    assert ring == ["3px", "rgb(27, 31, 36)"], ring
