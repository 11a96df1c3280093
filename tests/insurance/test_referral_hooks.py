"""The insurance module and the referrals module meet only through core hooks: a referral that needs an
authorization raises a task when sent without one, and its packet prints the patient's coverage."""

from __future__ import annotations

from typing import Any

from plugins.referrals.packet import coverage_lines, load_packet
from tests.conftest import enable_module
from tests.insurance.conftest import new_coverage, run_queued, tasks_about
from tests.referrals.test_referrals_api import move, new_referral


async def test_a_referral_sent_without_authorization_raises_one_task(client: Any, insured: Any) -> None:
    await enable_module(client, insured, "referrals")
    coverage = await new_coverage(client, insured)
    patient = {"id": coverage["patient_id"]}
    needs = await new_referral(client, insured, patient=patient, prior_auth_required=True)
    plain = await new_referral(client, insured, patient=patient)
    for referral in (needs, plain):
        assert (await move(client, insured, referral["id"], "sent")).status_code == 200
    await move(client, insured, needs["id"], "on_hold", reason="waiting on the patient")
    await move(client, insured, needs["id"], "sent")  # resumed: sent again, no second task
    (task,) = await tasks_about(client, insured, needs["id"])
    assert task["title"] == "Referral needs a prior authorization"
    assert await tasks_about(client, insured, plain["id"]) == []
    read = (await client.get(f"/api/v1/referrals/{needs['id']}", headers=insured.headers)).json()
    assert read["prior_authorization"] is None


async def test_the_packet_prints_the_primary_coverage_and_its_eligibility(
    client: Any, insured: Any, owner_db: Any, app_loop: Any
) -> None:
    await enable_module(client, insured, "referrals")
    coverage = await new_coverage(client, insured)
    await run_queued(app_loop, owner_db, insured, "insurance.check_eligibility")
    referral = await new_referral(client, insured, patient={"id": coverage["patient_id"]}, prior_auth_required=True)
    packet = await client.get(f"/api/v1/referrals/{referral['id']}/packet", headers=insured.headers)
    assert packet.status_code == 200, packet.text
    lines = await app_loop(packet_coverage, insured, referral["id"])
    assert lines[0] == f"Payer: {coverage['payer']['name']}; plan: Gold PPO"
    assert lines[1] == f"Member id: {coverage['member_id']}; group: GRP-100"
    assert lines[2].startswith("Eligibility: active, checked ")
    assert lines[3] == "Prior authorization: not requested yet"


async def packet_coverage(org: Any, referral_id: str) -> list[str]:
    """The packet's coverage section, loaded as the packet route does (through the query hooks)."""
    import uuid

    from core.db.tenant import tenant_transaction
    from core.jobs.context import JobContext
    from core.plugins.manager import get_host

    async with tenant_transaction(org.tenant_id) as tx:
        ctx = JobContext(
            module="referrals", tx=tx, tenant_id=org.tenant_id, settings=None, actor_name="test",
            message_id="test", plugins=get_host(),
        )  # fmt: skip
        data = await load_packet(ctx, uuid.UUID(referral_id), purpose="test")
        assert data is not None
        return coverage_lines(data)


async def test_a_referral_shows_its_authorization_and_the_packet_prints_it(
    client: Any, insured: Any, owner_db: Any, app_loop: Any
) -> None:
    from tests.insurance.test_authorization_api import act, new_authorization

    await enable_module(client, insured, "referrals")
    coverage = await new_coverage(client, insured)
    referral = await new_referral(client, insured, patient={"id": coverage["patient_id"]}, prior_auth_required=True)
    lines = [{"code": "93015", "units": 1}, {"code": "93306", "units": 1}]  # stress test, echo: all within limits
    authorization = await new_authorization(client, insured, coverage, referral_id=referral["id"], lines=lines)
    assert (await act(client, insured, authorization["id"], "submit")).status_code == 200
    assert await run_queued(app_loop, owner_db, insured, "insurance.submit_authorization") == ["done"]
    await move(client, insured, referral["id"], "sent")
    assert await tasks_about(client, insured, referral["id"]) == []  # it has one: nothing to chase
    read = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=insured.headers)).json()
    shown = read["prior_authorization"]
    assert shown["authorization_id"] == authorization["id"]
    assert (shown["status"], shown["decision"]) == ("decided", "certified")
    assert shown["authorization_number"].startswith("DEMO")
    listed = (await client.get("/api/v1/referrals", headers=insured.headers)).json()
    assert next(r for r in listed if r["id"] == referral["id"])["prior_authorization"] == shown
    printed = await app_loop(packet_coverage, insured, referral["id"])
    assert printed[-1] == (
        f"Prior authorization: decided (certified), number {shown['authorization_number']}, "
        f"valid {shown['valid_from']} to {shown['valid_to']}"
    )


async def test_booking_the_visit_of_a_referral_that_needs_authorization_raises_a_task(
    client: Any, insured: Any, owner_db: Any, app_loop: Any
) -> None:
    from tests.insurance.test_eligibility import book

    await enable_module(client, insured, "referrals")
    coverage = await new_coverage(client, insured)
    await run_queued(app_loop, owner_db, insured, "insurance.check_eligibility")
    referral = await new_referral(client, insured, patient={"id": coverage["patient_id"]}, prior_auth_required=True)
    visit = await book(client, insured, coverage["patient_id"], referral_id=referral["id"])
    (task,) = await tasks_about(client, insured, visit["id"])
    assert task["title"] == "Prior authorization missing for an upcoming appointment"
    moved = await client.post(
        f"/api/v1/appointments/{visit['id']}/reschedule",
        headers=insured.headers,
        json={"start": "2031-05-06T15:00:00+00:00", "end": "2031-05-06T15:30:00+00:00"},
    )
    assert moved.status_code == 200, moved.text
    assert len(await tasks_about(client, insured, visit["id"])) == 1  # checked again; the same task stands
