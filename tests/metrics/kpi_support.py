"""Helpers of the KPI tests (test_kpi_*.py): run a metric's facts query as the engine would, ask the API.

Fixtures are made through the HTTP API and then dated by SQL as the owner (event times in the past
cannot be produced any other way); every expected figure is worked out by hand in the test.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID

from core.db.tenant import tenant_transaction
from core.metrics.periods import local_midnight
from core.testing.fixtures import Org

CHICAGO = "America/Chicago"
METRICS = "/api/v1/metrics"


def utc(text: str) -> datetime:
    """``"2026-03-10T15:00"`` -> that instant in UTC."""
    return datetime.fromisoformat(text + "+00:00")


def local_window(first: date, after_last: date, time_zone: str = CHICAGO) -> tuple[datetime, datetime]:
    """``[local midnight of first, local midnight of after_last)`` as UTC instants."""
    return local_midnight(first, time_zone), local_midnight(after_last, time_zone)


async def run_facts(
    app_loop: Callable[..., Any], org: Org, sql: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The facts query's rows in ``org``'s transaction (row-level security on), oldest first."""

    async def run() -> list[dict[str, Any]]:
        async with tenant_transaction(org.tenant_id) as tx:
            rows = await tx.fetch(f"select * from ({sql}) f order by at, value", start, end)
            return [dict(r) for r in rows]

    found: list[dict[str, Any]] = await app_loop(run)
    return found


async def metric(client: Any, org: Org, name: str, **params: Any) -> Any:
    """``GET /api/v1/metrics/{name}`` (``first``/``last`` become ``from``/``to``); the response."""
    query = {{"first": "from", "last": "to"}.get(k, k): v for k, v in params.items() if v is not None}
    return await client.get(f"{METRICS}/{name}", headers=org.headers, params=query)


async def series_of(client: Any, org: Org, name: str, **params: Any) -> dict[str, Any]:
    response = await metric(client, org, name, **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def points(body: dict[str, Any], dimension: str | None = None) -> dict[str, tuple[float | None, int]]:
    """period -> (value rounded to 2 places, count) of the series of ``dimension`` (its id; None: ungrouped)."""
    for series in body["series"]:
        found = None if series["dimension"] is None else series["dimension"]["id"]
        if found == dimension:
            return {
                p["period"]: (None if p["value"] is None else round(p["value"], 2), p["count"])
                for p in series["points"]
            }
    raise AssertionError(f"no series {dimension!r} in {body['series']!r}")


async def user_id(client: Any, headers: dict[str, str]) -> UUID:
    response = await client.get("/api/v1/users/me", headers=headers)
    assert response.status_code == 200, response.text
    return UUID(response.json()["id"])


async def practitioner(client: Any, org: Org, family_name: str = "House") -> str:
    response = await client.post(
        "/api/v1/directory/practitioners",
        headers=org.headers,
        json={"given_name": "Gregory", "family_name": family_name, "specialty": "nephrology"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def primary_coordinator(client: Any, org: Org, patient_id: str, user: UUID) -> None:
    response = await client.post(
        f"/api/v1/patients/{patient_id}/care-team",
        headers=org.headers,
        json={
            "user_id": str(user),
            "role": "care_coordinator",
            "is_primary_coordinator": True,
            "period_start": "2025-01-01",
        },
    )
    assert response.status_code == 201, response.text
