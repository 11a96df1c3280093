"""Steps the real-browser portal tests share."""

from __future__ import annotations

from playwright.async_api import Page

from core.testing.browser import LiveServer


async def log_in(page: Page, server: LiveServer, slug: str, email: str, password: str) -> None:
    """Fill in the login form and submit it; waits for the page the login leads to."""
    await page.goto(f"{server.url}/portal/login")
    await page.get_by_label("Organization (its short name)").fill(slug)
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(password)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Log in").click()
