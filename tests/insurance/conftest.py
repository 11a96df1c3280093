"""Fixtures of the insurance module's tests: an organization with the module on, payers, coverage."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

import pytest

from core.testing.fixtures import create_patient, enable_module, run_periodic_job, run_queued_jobs

INSURANCE = "/api/v1/insurance"
NPI = "1234567893"


@pytest.fixture
async def insured(client: Any, org: Any) -> Any:
    """``org`` with the insurance module enabled (demo payer adapter available, provider NPI set)."""
    await enable_module(client, org, "insurance", {"provider_npi": NPI, "provider_name": "Riverside Clinic"})
    return org


async def new_payer(client: Any, org: Any, **overrides: Any) -> dict[str, Any]:
    body = {
        "name": f"Acme Health {secrets.token_hex(2)}",
        "payer_code": f"ACME{secrets.token_hex(3).upper()}",
        "adapter": "demo",
        **overrides,
    }
    response = await client.post(f"{INSURANCE}/payers", headers=org.headers, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def new_coverage(client: Any, org: Any, patient_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A primary, self-subscribed coverage with a new demo payer (unless ``payer_id`` is given)."""
    if patient_id is None:
        patient_id = str((await create_patient(client, org))["id"])
    payer_id = overrides.pop("payer_id", None) or (await new_payer(client, org))["id"]
    body = {
        "patient_id": patient_id,
        "payer_id": payer_id,
        "member_id": f"W{secrets.randbelow(10**9):09d}",
        "group_number": "GRP-100",
        "plan_name": "Gold PPO",
        "order": "primary",
        "relationship": "self",
        "effective_from": date(2026, 1, 1).isoformat(),
        **overrides,
    }
    response = await client.post(f"{INSURANCE}/coverages", headers=org.headers, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


run_queued = run_queued_jobs
run_periodic = run_periodic_job


async def tasks_about(client: Any, org: Any, subject_id: str) -> list[dict[str, Any]]:
    """Worklist tasks (any owner) whose focus is ``subject_id``."""
    response = await client.get("/api/v1/worklist", headers=org.headers, params={"limit": 500})
    assert response.status_code == 200, response.text
    return [t for t in response.json()["items"] if t["focus_id"] == subject_id]
