"""The patient survey page in a real browser (Debian's Chromium through Playwright) against the app served
over real HTTP: the link comes from a real e-mail; the patient uses the keyboard only; the answer is stored
once; a reused or altered link gets its own page; the page runs no script (CSP without inline script).
Screenshots of every page go to the artifacts folder (see core.testing.browser)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from core.testing.browser import LiveServer, Screenshot
from core.testing.fixtures import Org, run_queued_jobs
from tests.metrics.test_surveys import LINK, SURVEYS, _enable, _fulfil, _mail_text, _patient, _surveys
from tests.notifications.conftest import SmtpServer
from tests.notifications.conftest import smtp_server as smtp_server  # the fixture, re-exported for pytest
from tests.notifications.helpers import configure_email

SCORE = "Overall, how satisfied are you with your care?"
CLARITY = "How clearly did we communicate with you?"
COMMENT = "Anything else you would like to tell us? (optional)"
SUBMIT = "Send my answers"
PNG = b"\x89PNG\r\n\x1a\n"


async def _focused(page: Page) -> tuple[str, str, str]:
    """(tag, name, type) of the element that has the keyboard focus."""
    found = await page.evaluate(
        "() => { const e = document.activeElement;"
        " return [e.tagName, e.getAttribute('name') || '', e.getAttribute('type') || '']; }"
    )
    return (str(found[0]), str(found[1]), str(found[2]))


async def _tab(page: Page) -> tuple[str, str, str]:
    await page.keyboard.press("Tab")
    return await _focused(page)


async def _emailed_link(client: Any, org: Org, owner_db: Any, app_loop: Any, smtp_server: SmtpServer) -> str:
    """A fulfilled appointment's survey, sent through the real pipeline to aiosmtpd; the link's path."""
    await _enable(client, org)
    await configure_email(client, org, smtp_server)
    patient = await _patient(client, org)
    await _fulfil(client, org, patient["id"])
    assert await run_queued_jobs(app_loop, owner_db, org, "notifications.send") == ["done"]
    [mail] = smtp_server.received
    found = LINK.search(_mail_text(mail.message))
    assert found is not None
    return found.group(1)


def _is_png(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG


async def test_a_patient_answers_the_survey_with_the_keyboard_in_a_real_browser(
    client: Any,
    org: Org,
    owner_db: Any,
    app_loop: Any,
    smtp_server: SmtpServer,
    live_server: LiveServer,
    page: Page,
    screenshot: Screenshot,
) -> None:
    path = await _emailed_link(client, org, owner_db, app_loop, smtp_server)
    url = f"{live_server.url}{path}"  # the e-mail names PUBLIC_BASE_URL's host; the page is this server's
    shots: list[Path] = []

    opened = await page.goto(url)
    assert opened is not None
    assert opened.status == 200
    csp = opened.headers.get("content-security-policy", "")
    assert csp, "the survey page sends no Content-Security-Policy"
    assert "'unsafe-inline'" not in csp, csp
    # the page's own style block is allowed by its hash: the submit button is styled
    background = await page.locator("button[type=submit]").evaluate("b => getComputedStyle(b).backgroundColor")
    assert background == "rgb(31, 95, 191)", background
    assert await page.locator("script").count() == 0
    assert "<script" not in (await page.content()).lower()
    # the browser enforces it: a script element added to the page does not run
    ran = await page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.inlineRan = true';"
        " document.body.appendChild(s); return window.inlineRan === true; }"
    )
    assert ran is False

    await expect(page.get_by_text(f"Clinic {org.slug}", exact=True)).to_be_visible()
    await expect(page.get_by_role("heading", level=1)).to_have_text("How did we do?")
    score = page.get_by_role("group", name=SCORE)
    clarity = page.get_by_role("group", name=CLARITY)
    for group in (score, clarity):
        await expect(group).to_be_visible()
        await expect(group.get_by_role("radio")).to_have_count(5)
        for value in range(1, 6):  # every choice has a label (its accessible name)
            await expect(group.get_by_role("radio", name=str(value), exact=True)).to_have_count(1)
    comment = page.get_by_label(COMMENT)
    await expect(comment).to_be_visible()
    submit = page.get_by_role("button", name=SUBMIT)
    await expect(submit).to_be_visible()
    shots.append(await screenshot(page, "form"))

    # keyboard only: Tab reaches each field in order; Space and the arrow keys choose within a group
    order = [await _tab(page)]
    await page.keyboard.press("Space")
    for _ in range(3):
        await page.keyboard.press("ArrowRight")
    order.append(await _tab(page))
    await page.keyboard.press("Space")
    for _ in range(2):
        await page.keyboard.press("ArrowRight")
    order.append(await _tab(page))
    await page.keyboard.type("Kind and clear")
    order.append(await _tab(page))
    assert order == [
        ("INPUT", "score", "radio"),
        ("INPUT", "clarity", "radio"),
        ("TEXTAREA", "comment", ""),
        ("BUTTON", "", "submit"),
    ]
    await expect(score.get_by_role("radio", name="4", exact=True)).to_be_checked()
    await expect(clarity.get_by_role("radio", name="3", exact=True)).to_be_checked()
    await expect(comment).to_have_value("Kind and clear")
    await expect(submit).to_be_focused()
    shots.append(await screenshot(page, "form-filled"))

    async with page.expect_navigation() as navigation:
        await page.keyboard.press("Enter")
    answered = await navigation.value
    assert answered is not None
    assert answered.status == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    await expect(page.get_by_text("Your answers have been recorded.")).to_be_visible()
    await expect(page.get_by_text(f"Clinic {org.slug}", exact=True)).to_be_visible()
    shots.append(await screenshot(page, "thank-you"))

    [survey] = await _surveys(owner_db, org)
    stored = await client.get(f"{SURVEYS}/{survey['id']}", headers=org.headers)
    assert stored.status_code == 200, stored.text
    assert {k: stored.json()[k] for k in ("status", "score", "clarity", "comment")} == {
        "status": "answered",
        "score": 4,
        "clarity": 3,
        "comment": "Kind and clear",
    }

    reopened = await page.goto(url)
    assert reopened is not None
    assert reopened.status == 409
    await expect(page.get_by_role("heading", level=1)).to_have_text("Already answered")
    await expect(page.get_by_text("already been answered")).to_be_visible()
    await expect(page.locator("form")).to_have_count(0)
    shots.append(await screenshot(page, "already-answered"))

    token = path.rsplit("/", 1)[1]
    tampered_token = token[:-1] + ("A" if token[-1] != "A" else "B")
    tampered = await page.goto(f"{live_server.url}{path[: -len(token)]}{tampered_token}")
    assert tampered is not None
    assert tampered.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text("Survey not found")
    await expect(page.locator("form")).to_have_count(0)
    assert f"Clinic {org.slug}" not in await page.content()  # an altered link names no organization
    shots.append(await screenshot(page, "not-found"))

    assert all(_is_png(shot) for shot in shots), shots
    [after] = await _surveys(owner_db, org)
    assert (after["score"], after["clarity"]) == (4, 3)
