"""Pytest fixtures for carecoord and its plugins: real services, the app over HTTP, tenants.

Enable them in a ``conftest.py`` with ``pytest_plugins = ["core.testing.fixtures"]``. The session
starts embedded PostgreSQL and Redis unless ``DATABASE_URL`` / ``REDIS_URL`` are set, creates a
database of its own, migrates it (installed plugins included) and drops it at the end.
Real-browser fixtures (``live_server``, ``browser``, ``page``, ``screenshot``) come with it from
``core.testing.browser``.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from core.testing import services

pytest_plugins = ["core.testing.browser", "core.testing.portal"]  # real-browser fixtures; portal clients

_services: services.TestServices | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _services
    _services = services.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _services is not None:
        asyncio.run(services.drop_database(_services.admin_url, _services.database))
        _services.embedded.stop()


@pytest.fixture(scope="session")
def test_services() -> services.TestServices:
    assert _services is not None
    return _services


@pytest.fixture(scope="session")
def settings() -> Any:
    from core.settings import get_settings

    return get_settings()


@pytest.fixture(scope="session")
async def client(settings: Any) -> AsyncIterator[AsyncTestClient[Any]]:
    from core.app import create_app

    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def app_client(client: AsyncTestClient[Any]) -> Callable[[Litestar], AsyncTestClient[Any]]:
    """Make a test client for another app (e.g. ``create_app(settings, host=PluginHost(...))``).

    The new client runs on the session client's event loop and without a lifespan of its own:
    the connection pool and Redis client are per process and bound to that loop, and a second
    lifespan would close them under the session app.
    """

    def make(app: Litestar) -> AsyncTestClient[Any]:
        other: AsyncTestClient[Any] = AsyncTestClient(app=app)
        other.blocking_portal = client.blocking_portal
        return other

    return make


async def in_app_loop(client: AsyncTestClient[Any], function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Await ``function(*args, **kwargs)`` in the event loop that serves the app.

    The app's connection pool belongs to the test client's portal loop: code that uses
    ``tenant_transaction``, services or actors directly (not over HTTP) must run there.
    """

    async def call() -> Any:
        return await function(*args, **kwargs)

    return await asyncio.to_thread(client.blocking_portal.call, call)


@pytest.fixture
def app_loop(client: AsyncTestClient[Any]) -> Callable[..., Any]:
    """``await app_loop(fn, *args, **kwargs)``: run a coroutine function where the app's pool lives."""

    async def run(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await in_app_loop(client, function, *args, **kwargs)

    return run


@pytest.fixture
async def owner_db(test_services: services.TestServices) -> AsyncIterator[asyncpg.Connection[Any]]:
    """A connection as the owner/superuser, for catalog checks and tampering."""
    conn = await asyncpg.connect(test_services.database_url)
    try:
        yield conn
    finally:
        await conn.close()


@dataclass
class Org:
    """A signed-up tenant with its owner logged in."""

    tenant_id: UUID
    slug: str
    owner_id: UUID
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


PASSWORD = "correct horse battery staple"


def create_organization_over_http(http: httpx.Client, slug_prefix: str, name: str) -> tuple[str, str]:
    """Sign an organization up through a live server's API (``http`` has its base URL); its slug and its
    owner's e-mail (the password is ``PASSWORD``). For tests that run ``carecoord serve`` as a process."""
    slug = f"{slug_prefix}-{secrets.token_hex(5)}"
    email = f"owner@{slug}.example"
    signup = {"organization_name": name, "slug": slug, "owner_email": email, "owner_password": PASSWORD}
    created = http.post("/api/v1/signup", json=signup)
    assert created.status_code == 201, created.text
    return slug, email


def log_in_over_http(http: httpx.Client, slug: str, email: str) -> dict[str, str]:
    """Log a user in through a live server's API; their headers."""
    token = http.post("/api/v1/auth/token", json={"tenant": slug, "email": email, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def sign_up_over_http(http: httpx.Client, slug_prefix: str, name: str) -> dict[str, str]:
    """:func:`create_organization_over_http` and log its owner in; the owner's headers."""
    return log_in_over_http(http, *create_organization_over_http(http, slug_prefix, name))


async def sign_up(client: AsyncTestClient[Any], slug: str | None = None) -> Org:
    slug = slug or f"org-{secrets.token_hex(5)}"
    email = f"owner@{slug}.example"
    response = await client.post(
        "/api/v1/signup",
        json={
            "organization_name": f"Clinic {slug}",
            "slug": slug,
            "owner_email": email,
            "owner_password": PASSWORD,
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    tokens = await login(client, slug, email, PASSWORD)
    return Org(
        UUID(body["tenant"]["id"]),
        slug,
        UUID(body["owner"]["id"]),
        email,
        PASSWORD,
        tokens["access_token"],
        tokens["refresh_token"],
    )


async def login(client: AsyncTestClient[Any], slug: str, email: str, password: str, **extra: Any) -> Any:
    response = await client.post(
        "/api/v1/auth/token", json={"tenant": slug, "email": email, "password": password, **extra}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def add_user(client: AsyncTestClient[Any], org: Org, role: str) -> dict[str, str]:
    """Create a user with ``role`` in ``org``; returns auth headers for them."""
    email = f"{role}-{secrets.token_hex(3)}@{org.slug}.example"
    response = await client.post(
        "/api/v1/users", headers=org.headers, json={"email": email, "password": PASSWORD, "role": role}
    )
    assert response.status_code == 201, response.text
    tokens = await login(client, org.slug, email, PASSWORD)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


@pytest.fixture
async def org(client: AsyncTestClient[Any]) -> Org:
    return await sign_up(client)


@pytest.fixture
async def other_org(client: AsyncTestClient[Any]) -> Org:
    return await sign_up(client)


_mrn_counter = iter(range(1, 10**9))


def patient_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "mrn": f"MRN-{next(_mrn_counter):06d}-{secrets.token_hex(2)}",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "birth_date": "1961-12-10",
        "phone": "+1 (555) 201-0101",
    }
    body.update(overrides)
    return body


async def create_patient(client: AsyncTestClient[Any], org: Org, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/patients", headers=org.headers, json=patient_body(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def enable_module(
    client: AsyncTestClient[Any], org: Org, name: str, settings: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Enable module ``name`` for ``org`` (optionally with settings) through the admin API."""
    body: dict[str, Any] = {"enabled": True}
    if settings is not None:
        body["settings"] = settings
    response = await client.put(f"/api/v1/admin/modules/{name}", headers=org.headers, json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def run_queued_jobs(
    app_loop: Callable[..., Any], owner_db: Any, org: Org, actor_name: str, *, attempt: int = 0
) -> list[str]:
    """Run, as a worker would, every message ``org`` queued for ``actor_name`` and not run yet here.

    Reads the tenant's outbox as the owner (tests only), marks each row published (what the relay
    does) so a second call runs only what was queued since, and runs them oldest first with their
    effect keys. Returns the outcomes.
    """
    import json
    import uuid

    from core.jobs.runner import run_job

    rows = await owner_db.fetch(
        "update outbox set published_at = now() where tenant_id = $1 and actor_name = $2 and published_at is null "
        "returning id, payload, idempotency_key, created_at",
        org.tenant_id,
        actor_name,
    )
    outcomes = []
    for row in sorted(rows, key=lambda r: r["created_at"]):
        payload = json.loads(row["payload"]) if isinstance(row["payload"], str) else dict(row["payload"])
        outcome = await app_loop(
            run_job,
            actor_name,
            tenant_id=str(org.tenant_id),
            payload=payload,
            message_id=uuid.uuid4().hex,
            effect_key=row["idempotency_key"],
            attempt=attempt,
        )
        outcomes.append(str(outcome))
    return outcomes


async def run_periodic_job(app_loop: Callable[..., Any], org: Org, actor_name: str) -> str:
    """Run a periodic job once for ``org``, as the scheduler would."""
    import uuid

    from core.jobs.runner import run_job

    outcome = await app_loop(run_job, actor_name, tenant_id=str(org.tenant_id), payload={}, message_id=uuid.uuid4().hex)
    return str(outcome)
