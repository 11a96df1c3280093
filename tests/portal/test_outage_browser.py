"""An outage met by an htmx request, in a real browser (``core/portal/static/portal.js``).

The referral board refreshes its cards every 30 s. Its refresh is answered 503 with ``Retry-After: 5``
(the portal's outage fragment, served by the browser's router so the outage begins and ends exactly
when the test says): the message is announced at the top of the page, the request is sent again 5 s
later (not at the next refresh, 30 s on), and once it succeeds the message goes away and the cards are
the server's. The server's side of an outage (the 503 page and fragment) is in ``test_portal_outage.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from litestar.testing import AsyncTestClient
from playwright.async_api import Page, Route, expect

from core.testing.browser import LiveServer, Screenshot
from core.testing.fixtures import Org, enable_module
from tests.portal.steps import log_in
from tests.workers.conftest import wait_for

OUTAGE_FRAGMENT = (
    '<div class="alert" role="alert"><strong>Service Unavailable.</strong> '
    "A service this page needs is briefly unavailable. The page tries again in a few seconds.</div>"
)


BOARD_CARDS = "**/portal/referrals/board/cards*"
"""The board's own refresh (every 30 s), which the tests answer through the browser's router."""


async def settles_at(probe: Callable[[], Any], expected: Any, seconds: float = 10) -> None:
    """Wait until ``probe()`` equals ``expected`` (the browser answers routes in real time)."""
    await wait_for(
        lambda: asyncio.sleep(0, probe()), lambda value: value == expected, seconds=seconds, what=repr(expected)
    )


async def open_board(
    page: Page, live_server: LiveServer, client: AsyncTestClient[Any], org: Org, refresh: Callable[[Route], Any]
) -> None:
    """The referral board on a clock the test runs, its refresh answered by ``refresh``."""
    await enable_module(client, org, "referrals")
    await page.clock.install()
    await log_in(page, live_server, org.slug, org.email, org.password)
    await page.route(BOARD_CARDS, refresh)
    await page.goto(f"{live_server.url}/portal/referrals/board")


async def test_a_refresh_met_by_an_outage_says_so_retries_after_the_pause_and_clears_the_message(
    live_server: LiveServer, page: Page, client: AsyncTestClient[Any], org: Org, screenshot: Screenshot
) -> None:
    refreshes: list[int] = []
    outage = {"on": True}

    async def board_cards(route: Route) -> None:
        if outage["on"]:
            refreshes.append(503)
            await route.fulfill(
                status=503,
                headers={"Retry-After": "5", "Content-Type": "text/html; charset=utf-8"},
                body=OUTAGE_FRAGMENT,
            )
        else:
            refreshes.append(200)
            await route.continue_()

    await open_board(page, live_server, client, org, board_cards)
    alert = page.locator("#request-error")
    await expect(alert).to_be_hidden()

    await page.clock.run_for(30_000)  # the board's own refresh, into the outage
    await expect(alert).to_be_visible()
    await expect(alert).to_contain_text("briefly unavailable")
    await screenshot(page, "board-outage")
    assert refreshes == [503]

    await page.clock.run_for(5_000)  # Retry-After: sent again, still down
    await settles_at(lambda: refreshes, [503, 503])
    await expect(alert).to_be_visible()

    outage["on"] = False
    await page.clock.run_for(5_000)  # sent again, and the service is back
    await settles_at(lambda: refreshes, [503, 503, 200])
    await expect(alert).to_be_hidden()
    await expect(page.locator("#board-live")).not_to_contain_text("briefly unavailable")
    await expect(page.get_by_role("heading", level=1)).to_be_visible()

    await page.clock.run_for(20_000)  # 30 s after the refresh that failed: the board's own refresh again
    await settles_at(lambda: len(refreshes), 4)


async def test_an_outage_that_lasts_is_retried_three_times_then_left_to_the_refresh(
    live_server: LiveServer, page: Page, client: AsyncTestClient[Any], org: Org
) -> None:
    refreshes: list[str] = []

    async def always_down(route: Route) -> None:
        refreshes.append(route.request.method)
        await route.fulfill(status=503, headers={"Retry-After": "5"}, body=OUTAGE_FRAGMENT)

    await open_board(page, live_server, client, org, always_down)
    await page.clock.run_for(30_000)
    for _ in range(5):
        await page.clock.run_for(5_000)
    # the refresh that failed and three retries; the next is the board's own refresh, 30 s after the first
    await settles_at(lambda: len(refreshes), 4)
    await page.clock.run_for(10_000)
    await settles_at(lambda: len(refreshes), 5)
    assert set(refreshes) == {"GET"}


async def test_a_refusal_stays_on_screen_when_a_later_refresh_succeeds(
    live_server: LiveServer, page: Page, client: AsyncTestClient[Any], org: Org
) -> None:
    """Only an outage's message goes away with the next success; a refusal (409, 403) is about what the
    user did, and a passive refresh coming back must not hide it."""
    refreshes: list[int] = []

    async def refused_once(route: Route) -> None:
        if not refreshes:
            refreshes.append(409)
            await route.fulfill(status=409, body="Someone else changed this in the meantime.")
        else:
            refreshes.append(200)
            await route.continue_()

    await open_board(page, live_server, client, org, refused_once)
    alert = page.locator("#request-error")
    # counted after portal.js has seen the same event (listeners run in the order they were added)
    await page.evaluate(
        "document.addEventListener('htmx:afterRequest', e => {"
        " if (e.detail.successful) { window.refreshedOk = (window.refreshedOk || 0) + 1; } })"
    )
    await page.clock.run_for(30_000)
    await expect(alert).to_contain_text("Someone else changed this")
    await page.clock.run_for(30_000)
    # polled from here: page.wait_for_function evaluates a string, which the CSP forbids
    await wait_for(
        lambda: page.evaluate("() => window.refreshedOk || 0"),
        lambda handled: handled >= 1,
        seconds=10,
        what="the successful refresh to be handled",
    )
    assert refreshes == [409, 200]
    await expect(alert).to_be_visible()
    await expect(alert).to_contain_text("Someone else changed this")
