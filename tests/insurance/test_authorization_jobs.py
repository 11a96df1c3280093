"""Prior authorizations on the workers: 278 submission through the demo payer, deadlines, expiry.

The jobs run exactly as a worker runs them (``run_job``: the tenant transaction, the effect key,
the module check), from the outbox rows the HTTP calls wrote.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
import pytest

from core.db.tenant import tenant_transaction
from core.jobs.context import JobContext
from core.jobs.runner import run_job
from core.payers.adapter import PayerUnavailableError
from plugins.insurance.authorizations.submission import MAX_RETRIES, build_request
from plugins.insurance.authorizations.summaries import authorization_summaries
from plugins.insurance.settings import InsuranceSettings
from tests.conftest import create_patient, enable_module
from tests.insurance.conftest import INSURANCE, NPI, new_coverage
from tests.insurance.test_authorization_api import (
    AUTHORIZATIONS,
    act,
    appointment,
    approval,
    body_for,
    history,
    new_authorization,
    read,
    soon,
)

SUBMIT = "insurance.submit_authorization"


async def _messages(tenant_id: UUID, actor: str, authorization_id: str | None) -> list[dict[str, Any]]:
    async with tenant_transaction(tenant_id) as tx:
        rows = await tx.fetch(
            "select id, actor_name, payload, effect_key, idempotency_key from outbox where actor_name = $1 "
            "and ($2::text is null or payload->>'authorization_id' = $2) order by created_at",
            actor,
            authorization_id,
        )
    return [{**dict(r), "payload": msgspec.json.decode(r["payload"])} for r in rows]


async def messages(app_loop: Any, org: Any, authorization_id: str) -> list[dict[str, Any]]:
    return list(await app_loop(_messages, org.tenant_id, SUBMIT, authorization_id))


async def deliver(app_loop: Any, org: Any, message: dict[str, Any], **overrides: Any) -> str:
    arguments = {
        "tenant_id": str(org.tenant_id),
        "payload": message["payload"],
        "message_id": str(message["id"]),
        "effect_key": message["effect_key"] or message["idempotency_key"],
        **overrides,
    }
    return str(await app_loop(run_job, message["actor_name"], **arguments))


async def submit_and_answer(app_loop: Any, client: Any, org: Any, authorization_id: str) -> dict[str, Any]:
    """Submit over HTTP and run the job the submission queued; the authorization afterwards."""
    response = await act(client, org, authorization_id, "submit")
    assert response.status_code == 200, response.text
    message = (await messages(app_loop, org, authorization_id))[-1]
    assert await deliver(app_loop, org, message) == "done"
    return await read(client, org, authorization_id)


async def check_deadlines(app_loop: Any, org: Any) -> str:
    return str(
        await app_loop(
            run_job, "insurance.check_deadlines", tenant_id=str(org.tenant_id), payload={}, message_id=uuid.uuid4().hex
        )
    )


async def tasks(owner_db: Any, authorization_id: str) -> list[str]:
    rows = await owner_db.fetch(
        "select title from tasks where focus_type = 'authorization' and focus_id = $1 order by created_at",
        uuid.UUID(authorization_id),
    )
    return [r["title"] for r in rows]


async def exchanges(client: Any, org: Any, authorization_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"{AUTHORIZATIONS}/{authorization_id}/exchanges", headers=org.headers)
    assert response.status_code == 200, response.text
    return list(response.json())


async def test_the_demo_payer_decides_each_line_end_to_end(
    client: Any, insured: Any, app_loop: Any, owner_db: Any
) -> None:
    created = await new_authorization(
        client,
        insured,
        lines=[
            {"code": "72148", "service_from": soon(7)},
            {"code": "97110", "units": 16},  # more than the demo payer certifies at once
            {"code": "0042T"},  # a Category III code the demo payer does not certify
        ],
    )
    aid = created["id"]
    decided = await submit_and_answer(app_loop, client, insured, aid)
    assert (decided["status"], decided["decision"], decided["approved"]) == ("decided", "partially_certified", True)
    assert [(ln["action_code"], ln["decision"], ln["approved_units"]) for ln in decided["lines"]] == [
        ("A1", "certified", 1),
        ("A2", "partially_certified", 12),
        ("A3", "not_certified", None),
    ]
    assert decided["authorization_number"] == f"DEMO{decided['trace_number'][-8:]}"
    assert decided["valid_from"] == soon(7)
    assert decided["valid_to"] == (date.fromisoformat(soon(7)) + timedelta(days=90)).isoformat()
    assert decided["decided_at"] is not None
    assert decided["last_error"] is None
    (exchange,) = await exchanges(client, insured, aid)
    assert (exchange["submission_round"], exchange["outcome"], exchange["trace_number"]) == (
        1,
        "answered",
        decided["trace_number"],
    )
    assert exchange["raw_request"].startswith(f"demo 278 {decided['trace_number']}")
    assert exchange["raw_response"] == "demo 278 HCR*A1 HCR*A2 HCR*A3"
    transitions = (await client.get(f"{AUTHORIZATIONS}/{aid}/transitions", headers=insured.headers)).json()
    assert [(t["to_status"], t["actor_type"]) for t in transitions] == [
        ("draft", "user"),
        ("submitted", "user"),
        ("decided", "system"),
    ]

    # a redelivery of the message, or another message for the same round, changes nothing
    (message,) = await messages(app_loop, insured, aid)
    assert await deliver(app_loop, insured, message) == "duplicate"
    assert await deliver(app_loop, insured, message, message_id=uuid.uuid4().hex, effect_key=None) == "done"
    assert len(await exchanges(client, insured, aid)) == 1
    assert await read(client, insured, aid) == decided
    assert await tasks(owner_db, aid) == []


async def test_the_278_request_carries_payer_provider_subscriber_diagnoses_and_lines() -> None:
    ctx = SimpleNamespace(settings=InsuranceSettings(provider_npi=NPI, provider_name="Riverside Clinic"))
    row = {
        "family_name": "Lovelace", "given_name": "Ada", "birth_date": date(2012, 12, 10), "sex": "female",
        "relationship": "child", "member_id": "W123", "group_number": "GRP-100",
        "subscriber_family_name": "Byron", "subscriber_given_name": "Anne", "subscriber_birth_date": date(1980, 1, 2),
        "diagnosis_codes": ["M54.50", "G89.29"], "urgency": "expedited", "trace_number": "PA0123",
        "service_type": "3",
    }  # fmt: skip
    lines = [
        {"line_number": 1, "code": "72148", "code_system": "CPT", "modifiers": ["26"], "units": 1,
         "service_from": date(2026, 12, 1), "service_to": date(2026, 12, 31)},
        {"line_number": 2, "code": "J3490", "code_system": "HCPCS", "modifiers": [], "units": 4,
         "service_from": None, "service_to": None},
    ]  # fmt: skip
    request = build_request(ctx, row, {"name": "Acme Health", "payer_code": "ACME1"}, lines)  # type: ignore[arg-type]
    assert (request.payer.name, request.payer.identifier) == ("Acme Health", "ACME1")
    assert (request.provider.name, request.provider.identifier) == ("Riverside Clinic", NPI)
    assert (request.subscriber.last_name, request.subscriber.member_id, request.subscriber.group_number) == (
        "Byron",
        "W123",
        "GRP-100",
    )
    assert request.patient is not None
    assert (request.patient.first_name, request.patient.gender, request.relationship) == ("Ada", "F", "19")
    assert request.diagnosis_codes == ("M54.50", "G89.29")
    assert (request.urgency, request.trace_number) == ("expedited", "PA0123")
    assert [(s.line, s.code, s.code_system, s.modifiers, s.units) for s in request.service_lines] == [
        (1, "72148", "CPT", ("26",), 1),
        (2, "J3490", "HCPCS", (), 4),
    ]
    own = build_request(ctx, {**row, "relationship": "self"}, {"name": "A", "payer_code": "B"}, lines)  # type: ignore[arg-type]
    assert (own.patient, own.relationship) == (None, None)
    assert (own.subscriber.first_name, own.subscriber.member_id, own.subscriber.gender) == ("Ada", "W123", "F")


async def test_a_coverage_the_payer_reported_inactive_cannot_carry_a_request(
    client: Any, insured: Any, app_loop: Any
) -> None:
    coverage = await new_coverage(client, insured, member_id="INACTIVE-7")
    (check,) = await app_loop(_messages, insured.tenant_id, "insurance.check_eligibility", None)
    assert await deliver(app_loop, insured, check) == "done"
    response = await client.post(AUTHORIZATIONS, headers=insured.headers, json=body_for(coverage))
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["key"] == "coverage_id"
    assert "inactive" in error["message"]


async def test_a_pended_answer_waits_and_a_decision_stops_the_clock(
    client: Any, insured: Any, app_loop: Any, owner_db: Any
) -> None:
    coverage = await new_coverage(client, insured, member_id="PEND-4711")
    created = await new_authorization(client, insured, coverage)
    aid = created["id"]
    pended = await submit_and_answer(app_loop, client, insured, aid)
    assert (pended["status"], pended["decision"], pended["approved"]) == ("pended", "pended", False)
    assert [ln["action_code"] for ln in pended["lines"]] == ["A4", "A4"]
    assert pended["decided_at"] is None
    # the payer keeps it past its deadline, then decides: no deadline task afterwards
    await owner_db.execute(
        "update prior_authorizations set submitted_at = now() - interval '8 days', "
        "decision_due_at = now() - interval '1 day' where id = $1",
        uuid.UUID(aid),
    )
    assert (await read(client, insured, aid))["overdue"] is True
    decided = await act(
        client,
        insured,
        aid,
        "decision",
        approval({"line": 1, "decision": "certified"}, {"line": 2, "decision": "modified", "approved_units": 10}),
    )
    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["decision"], decided.json()["overdue"]) == (
        "decided",
        "modified",
        False,
    )
    assert await check_deadlines(app_loop, insured) == "done"
    assert await tasks(owner_db, aid) == []
    assert await history(client, insured, aid) == [
        (None, "draft"),
        ("draft", "submitted"),
        ("submitted", "pended"),
        ("pended", "decided"),
    ]


async def test_a_rejected_request_comes_back_as_a_draft_and_is_resubmitted(
    client: Any, insured: Any, app_loop: Any, owner_db: Any
) -> None:
    coverage = await new_coverage(client, insured, member_id="NOTFOUND-1")
    created = await new_authorization(client, insured, coverage)
    aid = created["id"]
    returned = await submit_and_answer(app_loop, client, insured, aid)
    assert returned["status"] == "draft"
    assert returned["decision"] is None
    assert returned["decision_due_at"] is None
    assert "75: Subscriber/insured not found" in returned["last_error"]
    (exchange,) = await exchanges(client, insured, aid)
    assert exchange["outcome"] == "rejected"
    assert exchange["rejections"][0]["code"] == "75"
    assert exchange["raw_response"] == "demo 278 AAA*N**75*C"
    assert await tasks(owner_db, aid) == ["Prior authorization sent back by the payer"]

    fixed = await client.patch(
        f"{INSURANCE}/coverages/{coverage['id']}", headers=insured.headers, json={"member_id": "W55501"}
    )
    assert fixed.status_code == 200, fixed.text
    decided = await submit_and_answer(app_loop, client, insured, aid)
    assert (decided["status"], decided["decision"], decided["submission_round"]) == (
        "decided",
        "partially_certified",
        2,
    )
    assert decided["last_error"] is None
    assert [m["idempotency_key"] for m in await messages(app_loop, insured, aid)] == [
        f"authorization:{aid}:submit:1",
        f"authorization:{aid}:submit:2",
    ]
    assert [(e["submission_round"], e["outcome"]) for e in await exchanges(client, insured, aid)] == [
        (1, "rejected"),
        (2, "answered"),
    ]
    assert await history(client, insured, aid) == [
        (None, "draft"),
        ("draft", "submitted"),
        ("submitted", "draft"),
        ("draft", "submitted"),
        ("submitted", "decided"),
    ]
    # the first round's message, delivered late, finds its round over
    first = (await messages(app_loop, insured, aid))[0]
    assert await deliver(app_loop, insured, first, message_id=uuid.uuid4().hex, effect_key=None) == "done"
    assert len(await exchanges(client, insured, aid)) == 2


async def test_a_malformed_payer_answer_is_recorded_not_a_crash(
    client: Any, insured: Any, app_loop: Any, owner_db: Any
) -> None:
    coverage = await new_coverage(client, insured, member_id="GARBLED-9")
    created = await new_authorization(client, insured, coverage)
    aid = created["id"]
    after = await submit_and_answer(app_loop, client, insured, aid)
    assert after["status"] == "submitted"  # the payer may have it: its clock keeps running
    assert after["last_error"] == "demo payer: the answer is not an X12 interchange"
    (exchange,) = await exchanges(client, insured, aid)
    assert (exchange["outcome"], exchange["raw_response"], exchange["error"]) == (
        "failed",
        "<html>",
        after["last_error"],
    )
    assert exchange["raw_request"].startswith("demo 278")
    assert await tasks(owner_db, aid) == ["Payer's answer to a prior authorization could not be read"]
    (message,) = await messages(app_loop, insured, aid)
    assert await deliver(app_loop, insured, message, message_id=uuid.uuid4().hex, effect_key=None) == "done"
    assert len(await exchanges(client, insured, aid)) == 1
    assert len(await tasks(owner_db, aid)) == 1
    # the coordinator confirms by phone and records the decision
    decided = await act(client, insured, aid, "decision", approval({"line": 1, "decision": "certified"},
                                                                    {"line": 2, "decision": "certified"}))  # fmt: skip
    assert decided.status_code == 200, decided.text
    assert decided.json()["last_error"] is None


async def test_an_unreachable_payer_is_retried_then_the_request_comes_back(
    client: Any, insured: Any, app_loop: Any, owner_db: Any
) -> None:
    coverage = await new_coverage(client, insured, member_id="DOWN-1")
    created = await new_authorization(client, insured, coverage)
    aid = created["id"]
    assert (await act(client, insured, aid, "submit")).status_code == 200
    (message,) = await messages(app_loop, insured, aid)
    with pytest.raises(PayerUnavailableError):
        await deliver(app_loop, insured, message)
    assert (await read(client, insured, aid))["status"] == "submitted"
    assert await exchanges(client, insured, aid) == []  # the failed attempt left nothing behind
    assert await deliver(app_loop, insured, message, attempt=MAX_RETRIES) == "done"
    after = await read(client, insured, aid)
    assert after["status"] == "draft"
    assert after["last_error"].startswith(f"payer unavailable after {MAX_RETRIES + 1} attempts")
    assert [e["outcome"] for e in await exchanges(client, insured, aid)] == ["not_sent"]
    assert await tasks(owner_db, aid) == ["Prior authorization could not be sent to the payer"]


async def test_a_payer_no_longer_in_the_directory_leaves_the_request_unsent(
    client: Any, insured: Any, app_loop: Any
) -> None:
    coverage = await new_coverage(client, insured)
    created = await new_authorization(client, insured, coverage)
    assert (await act(client, insured, created["id"], "submit")).status_code == 200
    retired = await client.patch(
        f"{INSURANCE}/payers/{coverage['payer']['id']}", headers=insured.headers, json={"active": False}
    )
    assert retired.status_code == 200, retired.text
    (message,) = await messages(app_loop, insured, created["id"])
    assert await deliver(app_loop, insured, message) == "done"
    after = await read(client, insured, created["id"])
    assert after["status"] == "draft"
    assert "not in the directory" in after["last_error"]


async def backdate(owner_db: Any, authorization_id: str, submitted_hours_ago: float, window_hours: float) -> None:
    """Pretend the request was submitted ``submitted_hours_ago`` with a window of ``window_hours``."""
    await owner_db.execute(
        "update prior_authorizations set submitted_at = now() - make_interval(secs => $2), "
        "decision_due_at = now() - make_interval(secs => $2) + make_interval(secs => $3) where id = $1",
        uuid.UUID(authorization_id),
        submitted_hours_ago * 3600,
        window_hours * 3600,
    )


@pytest.mark.parametrize(("urgency", "window"), [("expedited", 72.0), ("standard", 168.0)])
async def test_at_risk_and_overdue_raise_one_task_each(
    client: Any, insured: Any, app_loop: Any, owner_db: Any, urgency: str, window: float
) -> None:
    created = await new_authorization(client, insured, urgency=urgency)
    aid = created["id"]
    submitted = (await act(client, insured, aid, "submit")).json()
    due = datetime.fromisoformat(submitted["decision_due_at"]) - datetime.fromisoformat(submitted["submitted_at"])
    assert due == timedelta(hours=window)

    await backdate(owner_db, aid, 0.74 * window, window)  # not yet at 75 %
    assert await check_deadlines(app_loop, insured) == "done"
    assert await tasks(owner_db, aid) == []
    await backdate(owner_db, aid, 0.76 * window, window)
    await check_deadlines(app_loop, insured)
    await check_deadlines(app_loop, insured)  # a second run raises nothing new
    assert await tasks(owner_db, aid) == ["Payer decision on a prior authorization is at risk"]
    await backdate(owner_db, aid, window + 0.1, window)
    await check_deadlines(app_loop, insured)
    await check_deadlines(app_loop, insured)
    assert await tasks(owner_db, aid) == [
        "Payer decision on a prior authorization is at risk",
        "Payer decision on a prior authorization is overdue",
    ]
    flags = await owner_db.fetch(
        "select flag from insurance_flags where subject_type = 'authorization' and subject_id = $1 order by created_at",
        uuid.UUID(aid),
    )
    assert [f["flag"] for f in flags] == ["decision_at_risk", "decision_overdue"]
    priorities = await owner_db.fetch(
        "select priority from tasks where focus_id = $1 order by created_at", uuid.UUID(aid)
    )
    assert priorities[-1]["priority"] == "urgent"


async def test_the_at_risk_share_of_the_window_is_the_tenants_setting(
    client: Any, insured: Any, app_loop: Any, owner_db: Any
) -> None:
    await enable_module(client, insured, "insurance", {"provider_npi": NPI, "deadline_at_risk_fraction": 0.5})
    created = await new_authorization(client, insured, urgency="expedited")
    await act(client, insured, created["id"], "submit")
    await backdate(owner_db, created["id"], 37, 72)
    await check_deadlines(app_loop, insured)
    assert await tasks(owner_db, created["id"]) == ["Payer decision on a prior authorization is at risk"]


async def test_an_overdue_request_gets_no_late_at_risk_task_and_cancelled_ones_none(
    client: Any, insured: Any, app_loop: Any, owner_db: Any
) -> None:
    late = await new_authorization(client, insured)
    withdrawn = await new_authorization(client, insured)
    for authorization in (late, withdrawn):
        await act(client, insured, authorization["id"], "submit")
        await backdate(owner_db, authorization["id"], 200, 168)
    await act(client, insured, withdrawn["id"], "cancel", {"reason": "surgery postponed"})
    await check_deadlines(app_loop, insured)
    assert await tasks(owner_db, late["id"]) == ["Payer decision on a prior authorization is overdue"]
    assert await tasks(owner_db, withdrawn["id"]) == []


def zone_on_another_day() -> str:
    """A time zone whose calendar day differs from UTC's right now (one of the two always does)."""
    now = datetime.now(UTC)
    for name in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        if now.astimezone(ZoneInfo(name)).date() != now.date():
            return name
    raise AssertionError("unreachable: UTC+14 and UTC-11 cannot both share UTC's date")


async def test_approvals_expire_after_their_last_day_in_the_tenants_zone(
    client: Any, insured: Any, app_loop: Any, owner_db: Any
) -> None:
    zone = zone_on_another_day()
    changed = await client.patch("/api/v1/tenant", headers=insured.headers, json={"time_zone": zone})
    assert changed.status_code == 200, changed.text
    local_today = datetime.now(ZoneInfo(zone)).date()

    async def decided(decision: str, valid_to: date) -> str:
        created = await new_authorization(client, insured, lines=[{"code": "72148"}])
        await act(client, insured, created["id"], "submit")
        body = approval({"line": 1, "decision": decision}, valid_from=(valid_to - timedelta(days=30)).isoformat())
        body["valid_to"] = valid_to.isoformat()
        response = await act(client, insured, created["id"], "decision", body)
        assert response.status_code == 200, response.text
        return str(created["id"])

    ran_out = await decided("certified", local_today - timedelta(days=1))
    last_day = await decided("certified", local_today)
    denied = await decided("not_certified", local_today - timedelta(days=1))
    await check_deadlines(app_loop, insured)
    await check_deadlines(app_loop, insured)
    expired = await read(client, insured, ran_out)
    assert (expired["status"], expired["decision"], expired["approved"]) == ("expired", "certified", False)
    assert (await history(client, insured, ran_out))[-1] == ("decided", "expired")
    assert len(await history(client, insured, ran_out)) == 4  # logged once, though the check ran twice
    assert (await read(client, insured, last_day))["status"] == "decided"  # valid through the end of today there
    assert (await read(client, insured, denied))["status"] == "decided"  # a denial does not expire
    events = await owner_db.fetch(
        "select details from audit_events where tenant_id = $1 and resource_id = $2 "
        "and action = 'insurance.authorization_expired'",
        insured.tenant_id,
        uuid.UUID(ran_out),
    )
    assert len(events) == 1


async def _summaries(tenant_id: UUID, subject_type: str, ids: list[UUID]) -> dict[UUID, Any]:
    async with tenant_transaction(tenant_id) as tx:
        ctx = JobContext(module="insurance", tx=tx, tenant_id=tenant_id, settings=None, actor_name="t", message_id="t")
        return await authorization_summaries(ctx, subject_type, ids)


async def test_summaries_give_the_latest_authorization_of_each_referral_or_appointment(
    client: Any, insured: Any, app_loop: Any
) -> None:
    await enable_module(client, insured, "referrals")
    coverage = await new_coverage(client, insured)
    patient_id = coverage["patient_id"]
    visit = await appointment(client, insured, patient_id)
    doctor = await client.post(
        "/api/v1/directory/practitioners",
        headers=insured.headers,
        json={"given_name": "Ana", "family_name": "Cruz", "specialty": "orthopedics"},
    )
    referral = await client.post(
        "/api/v1/referrals",
        headers=insured.headers,
        json={"patient_id": patient_id, "target_practitioner_id": doctor.json()["id"], "specialty": "orthopedics",
              "reason": "Lumbar pain"},
    )  # fmt: skip
    assert referral.status_code == 201, referral.text
    referral_id = referral.json()["id"]
    older = await new_authorization(client, insured, coverage, appointment_id=visit, referral_id=referral_id)
    await act(client, insured, older["id"], "cancel", {"reason": "wrong code"})
    newer = await new_authorization(client, insured, coverage, appointment_id=visit)
    await act(client, insured, newer["id"], "submit")

    by_visit = await app_loop(_summaries, insured.tenant_id, "appointment", [UUID(visit), uuid.uuid4()])
    assert list(by_visit) == [UUID(visit)]
    summary = by_visit[UUID(visit)]
    assert (str(summary.authorization_id), summary.status, summary.decision) == (newer["id"], "submitted", None)
    assert summary.decision_due_at is not None
    by_referral = await app_loop(_summaries, insured.tenant_id, "referral", [UUID(referral_id)])
    assert (str(by_referral[UUID(referral_id)].authorization_id), by_referral[UUID(referral_id)].status) == (
        older["id"],
        "cancelled",
    )
    assert await app_loop(_summaries, insured.tenant_id, "claim", [UUID(visit)]) == {}
    listed = await client.get(AUTHORIZATIONS, headers=insured.headers, params={"referral_id": referral_id})
    assert [a["id"] for a in listed.json()] == [older["id"]]
    # a referral of another patient cannot be linked
    other = await create_patient(client, insured)
    response = await client.post(
        AUTHORIZATIONS,
        headers=insured.headers,
        json={"patient_id": other["id"], "coverage_id": coverage["id"], "diagnosis_codes": ["I10"],
              "lines": [{"code": "99213"}], "referral_id": referral_id},
    )  # fmt: skip
    assert response.status_code == 422
    keys = {e["key"] for e in response.json()["errors"]}
    assert keys == {"coverage_id", "referral_id"}
