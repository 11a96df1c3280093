"""Fixtures of the reminders tests: an organization with the module on, bookings, jobs run like a worker."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from core.testing.fixtures import create_patient, enable_module, run_periodic_job, run_queued_jobs
from tests.notifications.conftest import provider_server, smtp_server  # noqa: F401 - fixtures used here

REMINDERS = "/api/v1/reminders"
NO_QUIET_HOURS = {"quiet_hours_start": None, "quiet_hours_end": None}


@pytest.fixture
async def reminding(client: Any, org: Any) -> Any:
    """``org`` with the reminders module on and no default quiet hours (tests do not depend on the hour)."""
    await enable_module(client, org, "reminders", NO_QUIET_HOURS)
    return org


async def new_patient(client: Any, org: Any, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"phone": "+1 (555) 201-0101", "email": "ada@example.net", **overrides}
    return await create_patient(client, org, **body)


async def grant(client: Any, org: Any, patient_id: str, channel: str) -> None:
    response = await client.post(
        f"/api/v1/patients/{patient_id}/consents", headers=org.headers, json={"kind": "channel", "channel": channel}
    )
    assert response.status_code == 201, response.text


async def book(
    client: Any, org: Any, patient_id: str, start: datetime, *, time_zone: str = "UTC", **extra: Any
) -> dict[str, Any]:
    body = {
        "patient_id": patient_id,
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=30)).isoformat(),
        "time_zone": time_zone,
        "location": "Riverside Clinic, 12 Main St",
        **extra,
    }
    response = await client.post("/api/v1/appointments", headers=org.headers, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def touches(client: Any, org: Any, appointment_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"{REMINDERS}/appointments/{appointment_id}/touches", headers=org.headers)
    assert response.status_code == 200, response.text
    return list(response.json())


run_queued = run_queued_jobs


async def run_periodic(app_loop: Any, org: Any, actor_name: str = "reminders.sweep") -> str:
    """Run a periodic job once for ``org``, as the scheduler would (the sweep by default)."""
    return await run_periodic_job(app_loop, org, actor_name)


async def run_twice_at_once(app_loop: Any, org: Any, actor_name: str = "reminders.sweep") -> list[str]:
    """Two schedulers firing the same job at the same moment (two connections, interleaved)."""
    return list(await asyncio.gather(run_periodic(app_loop, org, actor_name), run_periodic(app_loop, org, actor_name)))


async def tasks_about(client: Any, org: Any, subject_id: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/worklist", headers=org.headers, params={"limit": 500})
    assert response.status_code == 200, response.text
    return [t for t in response.json()["items"] if t["focus_id"] == subject_id]


async def reminder_notifications(owner_db: Any, org: Any) -> list[dict[str, Any]]:
    rows = await owner_db.fetch(
        "select id, patient_id, channel, template, language, context, status, idempotency_key from notifications "
        "where tenant_id = $1 and requested_by_module = 'reminders' order by created_at",
        org.tenant_id,
    )
    return [{**dict(r), "context": _decoded(r["context"])} for r in rows]


def _decoded(value: Any) -> dict[str, Any]:
    return dict(json.loads(value) if isinstance(value, str) else value)


async def plugin_failures(owner_db: Any, org: Any) -> list[str]:
    rows = await owner_db.fetch(
        "select hook, last_error from plugin_failures where tenant_id = $1 and module = 'reminders'", org.tenant_id
    )
    return [f"{r['hook']}: {r['last_error']}" for r in rows]
