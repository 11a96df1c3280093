"""HTTP-level portal test helpers: a cookie-keeping client over HTTPS, CSRF tokens read from the page.

``portal`` (a fixture) is a new test client on the session app, so each test's cookies are its own.
``await portal_login(portal, org)`` logs the org's owner in through the login form.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from core.testing.fixtures import PASSWORD

_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
BASE_URL = "https://testserver.local"
"""HTTPS: the portal's cookies are Secure, and a cookie jar keeps them off plain HTTP."""


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "the page has no CSRF token"
    return html.unescape(found.group(1))


def new_portal_client(client: AsyncTestClient[Any]) -> AsyncTestClient[Any]:
    """A client of the session's app with its own cookie jar (no lifespan of its own)."""
    other: AsyncTestClient[Any] = AsyncTestClient(app=client.app, base_url=BASE_URL)
    other.blocking_portal = client.blocking_portal
    return other


@pytest.fixture
def portal(client: AsyncTestClient[Any]) -> AsyncTestClient[Any]:
    return new_portal_client(client)


@pytest.fixture
def make_portal(client: AsyncTestClient[Any]) -> Callable[[], AsyncTestClient[Any]]:
    """More portal clients in one test (two users, two organizations)."""
    return lambda: new_portal_client(client)


async def submit(
    portal: AsyncTestClient[Any], page_url: str, action: str, fields: dict[str, Any], **kwargs: Any
) -> Any:
    """Open ``page_url``, then post ``fields`` to ``action`` with the page's CSRF token, as a browser would."""
    page = await portal.get(page_url)
    assert page.status_code == 200, page.text
    return await portal.post(action, data={**fields, "_csrf_token": csrf_of(page.text)}, **kwargs)


async def portal_login(portal: AsyncTestClient[Any], slug: str, email: str, password: str, code: str = "") -> Any:
    """Log in through the form; returns the answer (303 to the landing page when it worked)."""
    return await submit(
        portal,
        "/portal/login",
        "/portal/login",
        {"tenant": slug, "email": email, "password": password, "code": code},
        follow_redirects=False,
    )


def portal_login_over_http(http: httpx.Client, slug: str, email: str) -> None:
    """Log a user in through a live server's login form; ``http`` keeps the session cookie (the server runs
    with ``PORTAL_COOKIE_SECURE=false``: the cookie jar keeps Secure cookies off plain HTTP)."""
    form = http.get("/portal/login")
    fields = {"tenant": slug, "email": email, "password": PASSWORD, "code": "", "_csrf_token": csrf_of(form.text)}
    logged_in = http.post("/portal/login", data=fields)
    assert logged_in.status_code == 303, logged_in.text
