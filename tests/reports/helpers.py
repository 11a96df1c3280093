"""Shared helpers of the reports tests: booking appointments through the API, building runs as a worker would."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import httpx
from litestar.testing import AsyncTestClient

from core.jobs.runner import run_job
from core.plugins.manager import PluginHost
from tests.conftest import Org

REPORTS = "/api/v1/reports"
RUNS = f"{REPORTS}/runs"
T = TypeVar("T")


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    return dict(body)


async def book(
    client: AsyncTestClient[Any], org: Org, patient_id: str, start: datetime, *then: str, reason: str | None = None
) -> dict[str, Any]:
    """Create a booked appointment, then move it through ``then`` statuses."""
    body: dict[str, Any] = {
        "patient_id": patient_id,
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=20)).isoformat(),
        "time_zone": "UTC",
    }
    if reason:
        body["reason"] = reason
    response = await client.post("/api/v1/appointments", headers=org.headers, json=body)
    assert response.status_code == 201, response.text
    appointment = dict(response.json())
    for status in then:
        moved = await client.post(
            f"/api/v1/appointments/{appointment['id']}/transition", headers=org.headers, json={"status": status}
        )
        assert moved.status_code == 200, moved.text
    return appointment


async def start_run(
    client: AsyncTestClient[Any], headers: dict[str, str], report: str, file_format: str = "csv", **params: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{REPORTS}/{report}/runs", headers=headers, json={"format": file_format, "params": params}
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


async def in_app_loop(client: AsyncTestClient[Any], function: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run ``function`` in the event loop serving the app: the connection pool belongs to that loop."""
    result: T = await asyncio.to_thread(client.blocking_portal.call, function, *args)
    return result


def build_job(
    org: Org, run: dict[str, Any], *, host: PluginHost | None = None, effect_key: str | None = None, attempt: int = 0
) -> Callable[[], Awaitable[str]]:
    """The delivery of ``run``'s ``reports.build`` message exactly as a worker runs it (the outbox's effect key)."""

    async def deliver() -> str:
        return await run_job(
            "reports.build",
            tenant_id=str(org.tenant_id),
            payload={"run_id": run["id"]},
            message_id=secrets.token_hex(8),
            effect_key=effect_key or f"reports.build:{run['id']}",
            attempt=attempt,
            host=host,
        )

    return deliver


async def build(
    client: AsyncTestClient[Any],
    org: Org,
    run: dict[str, Any],
    *,
    host: PluginHost | None = None,
    effect_key: str | None = None,
    attempt: int = 0,
) -> str:
    return await in_app_loop(client, build_job(org, run, host=host, effect_key=effect_key, attempt=attempt))


async def read_run(client: AsyncTestClient[Any], org: Org, run_id: str | UUID) -> dict[str, Any]:
    response = await client.get(f"{RUNS}/{run_id}", headers=org.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())
