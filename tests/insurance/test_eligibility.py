"""Eligibility on the workers: answers stored with the raw exchange, failures recorded, stale answers re-asked,
and appointments whose coverage is missing or unverified put on the worklist (once)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.payers.adapter import PayerUnavailableError
from core.testing.fixtures import create_patient, enable_module
from tests.insurance.conftest import INSURANCE, NPI, new_coverage, run_periodic, run_queued, tasks_about

CHECK = "insurance.check_eligibility"


async def latest_check(client: Any, org: Any, coverage_id: str) -> dict[str, Any]:
    checks = (await client.get(f"{INSURANCE}/coverages/{coverage_id}/eligibility-checks", headers=org.headers)).json()
    return dict(checks[0])


async def book(client: Any, org: Any, patient_id: str, days: float = 2, **extra: Any) -> dict[str, Any]:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days, minutes=uuid.uuid4().int % 5000)
    response = await client.post(
        "/api/v1/appointments",
        headers=org.headers,
        json={
            "patient_id": patient_id,
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=30)).isoformat(),
            "time_zone": "America/Chicago",
            **extra,
        },
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_an_active_answer_is_stored_with_its_benefits_and_raw_exchange(
    client: Any, insured: Any, owner_db: Any, app_loop: Any
) -> None:
    coverage = await new_coverage(client, insured)
    assert await run_queued(app_loop, owner_db, insured, CHECK) == ["done"]
    check = await latest_check(client, insured, coverage["id"])
    assert check["status"] == "active"
    assert check["stale"] is False
    assert check["reason"] == "coverage"
    assert (check["plan_name"], check["copay"], check["deductible_remaining"]) == ("Gold PPO", "25.00", "900.00")
    assert {b["kind"] for b in check["benefits"]} == {"copay", "deductible", "out_of_pocket"}
    raw = (await client.get(f"{INSURANCE}/eligibility-checks/{check['id']}/raw", headers=insured.headers)).json()
    assert check["trace_number"] in raw["request"]
    assert raw["response"]
    read = (await client.get(f"{INSURANCE}/coverages/{coverage['id']}", headers=insured.headers)).json()
    assert read["eligibility"] == {
        "status": "active", "check_id": check["id"], "checked_at": check["checked_at"], "stale": False
    }  # fmt: skip
    assert await run_queued(app_loop, owner_db, insured, CHECK) == []  # nothing left
    actions = await owner_db.fetch(
        "select action, actor_type from audit_events where tenant_id = $1 and resource_id = $2 order by occurred_at",
        insured.tenant_id,
        uuid.UUID(check["id"]),
    )
    assert [a["action"] for a in actions][:2] == ["insurance.eligibility_request", "insurance.eligibility_answer"]
    assert actions[1]["actor_type"] == "system"


@pytest.mark.parametrize(
    ("member_id", "status", "error_part"),
    [
        ("INACTIVE1", "inactive", None),
        ("NOTFOUND1", "unknown", None),
        ("GARBLED1", "failed", "not an X12 interchange"),
    ],
)
async def test_each_kind_of_answer_is_recorded_never_a_crash(
    client: Any, insured: Any, owner_db: Any, app_loop: Any, member_id: str, status: str, error_part: str | None
) -> None:
    coverage = await new_coverage(client, insured, member_id=member_id)
    assert await run_queued(app_loop, owner_db, insured, CHECK) == ["done"]
    check = await latest_check(client, insured, coverage["id"])
    assert check["status"] == status
    if status == "unknown":
        assert check["rejections"][0]["code"] == "75"
    if error_part:
        assert error_part in check["error"]
        raw = (await client.get(f"{INSURANCE}/eligibility-checks/{check['id']}/raw", headers=insured.headers)).json()
        assert raw["response"] == "<html>"


async def test_an_unreachable_payer_is_retried_then_recorded_failed(
    client: Any, insured: Any, owner_db: Any, app_loop: Any
) -> None:
    coverage = await new_coverage(client, insured, member_id="DOWN42")
    with pytest.raises(PayerUnavailableError):
        await run_queued(app_loop, owner_db, insured, CHECK)
    assert (await latest_check(client, insured, coverage["id"]))["status"] == "queued"
    await owner_db.execute("update outbox set published_at = null where tenant_id = $1", insured.tenant_id)
    assert await run_queued(app_loop, owner_db, insured, CHECK, attempt=4) == ["done"]
    check = await latest_check(client, insured, coverage["id"])
    assert check["status"] == "failed"
    assert "unavailable after 5 attempts" in check["error"]


async def test_a_payer_no_longer_in_the_directory_fails_the_check_with_the_reason(
    client: Any, insured: Any, owner_db: Any, app_loop: Any
) -> None:
    coverage = await new_coverage(client, insured)
    await client.patch(f"{INSURANCE}/payers/{coverage['payer']['id']}", headers=insured.headers, json={"active": False})
    await run_queued(app_loop, owner_db, insured, CHECK)
    check = await latest_check(client, insured, coverage["id"])
    assert check["status"] == "failed"
    assert "no longer active" in check["error"]


async def test_manual_check_and_a_burst_asks_once(client: Any, insured: Any, owner_db: Any, app_loop: Any) -> None:
    coverage = await new_coverage(client, insured)
    url = f"{INSURANCE}/coverages/{coverage['id']}/eligibility-checks"
    first = await client.post(url, headers=insured.headers, json={"as_of": "2026-12-01"})
    second = await client.post(url, headers=insured.headers, json={"as_of": "2026-12-01"})
    assert first.status_code == second.status_code == 202, first.text
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["status"] == "queued"
    assert sorted(await run_queued(app_loop, owner_db, insured, CHECK)) == ["done", "done"]
    assert (await client.get(f"{INSURANCE}/eligibility-checks/{first.json()['id']}",
                             headers=insured.headers)).json()["status"] == "active"  # fmt: skip


async def test_booking_without_coverage_raises_one_task_and_the_batch_does_not_repeat_it(
    client: Any, insured: Any, app_loop: Any
) -> None:
    patient = await create_patient(client, insured)
    appointment = await book(client, insured, patient["id"])
    assert await run_periodic(app_loop, insured, "insurance.reverify_upcoming") == "done"
    assert await run_periodic(app_loop, insured, "insurance.reverify_upcoming") == "done"
    (task,) = await tasks_about(client, insured, appointment["id"])
    assert task["title"] == "No insurance coverage on file for an upcoming appointment"
    assert task["patient_id"] == patient["id"]


async def test_stale_coverage_is_reverified_before_the_appointment_and_inactive_raises_a_task(
    client: Any, insured: Any, owner_db: Any, app_loop: Any
) -> None:
    coverage = await new_coverage(client, insured, member_id="INACTIVE7")
    await run_queued(app_loop, owner_db, insured, CHECK)
    await owner_db.execute(
        "update eligibility_checks set checked_at = now() - interval '40 days' where coverage_id = $1",
        uuid.UUID(coverage["id"]),
    )
    stale = (await client.get(f"{INSURANCE}/coverages/{coverage['id']}", headers=insured.headers)).json()
    assert stale["eligibility"]["stale"] is True
    appointment = await book(client, insured, coverage["patient_id"], days=1)
    check = await latest_check(client, insured, coverage["id"])
    assert (check["status"], check["reason"], check["appointment_id"]) == ("queued", "appointment", appointment["id"])
    assert await run_queued(app_loop, owner_db, insured, CHECK) == ["done"]
    await run_periodic(app_loop, insured, "insurance.reverify_upcoming")  # fresh now: nothing more to ask
    assert await run_queued(app_loop, owner_db, insured, CHECK) == []
    (task,) = await tasks_about(client, insured, appointment["id"])
    assert task["title"] == "Coverage not verified for an upcoming appointment"
    assert "inactive" in task["description"]


async def test_appointments_with_specialists_that_need_authorization_raise_a_task(
    client: Any, org: Any, app_loop: Any
) -> None:
    await enable_module(client, org, "insurance", {"provider_npi": NPI, "authorization_required_specialties": ["MRI"]})
    coverage = await new_coverage(client, org)
    practitioner = await client.post(
        "/api/v1/directory/practitioners",
        headers=org.headers,
        json={"given_name": "Rad", "family_name": "Iology", "specialty": "mri"},
    )
    appointment = await book(client, org, coverage["patient_id"], practitioner_id=practitioner.json()["id"])
    await run_periodic(app_loop, org, "insurance.reverify_upcoming")
    titles = [t["title"] for t in await tasks_about(client, org, appointment["id"])]
    assert titles == ["Prior authorization missing for an upcoming appointment"]
    other = await book(client, org, coverage["patient_id"], days=9)  # no specialist: no authorization needed
    assert await tasks_about(client, org, other["id"]) == []


async def test_settings_are_validated(client: Any, org: Any) -> None:
    bad = await client.put(
        "/api/v1/admin/modules/insurance",
        headers=org.headers,
        json={"enabled": True, "settings": {"provider_npi": "1234567890"}},
    )
    assert bad.status_code in (400, 422), bad.text
    assert "NPI" in bad.text
