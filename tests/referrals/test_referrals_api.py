"""``/api/v1/referrals`` over HTTP: records, lifecycle, re-route, history, isolation, audit."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import add_user, create_patient, enable_module

REFERRALS = "/api/v1/referrals"


async def practitioner(client: Any, org: Any, specialty: str = "cardiology") -> str:
    response = await client.post(
        "/api/v1/directory/practitioners",
        headers=org.headers,
        json={"given_name": "Ana", "family_name": f"Cruz{secrets.token_hex(2)}", "specialty": specialty},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def appointment(client: Any, org: Any, patient_id: str) -> str:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3, minutes=secrets.randbelow(10_000))
    response = await client.post(
        "/api/v1/appointments",
        headers=org.headers,
        json={
            "patient_id": patient_id,
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=30)).isoformat(),
            "time_zone": "UTC",
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def new_referral(client: Any, org: Any, **overrides: Any) -> dict[str, Any]:
    patient = overrides.pop("patient", None) or await create_patient(client, org)
    body = {
        "patient_id": patient["id"],
        "target_practitioner_id": await practitioner(client, org),
        "specialty": "cardiology",
        "reason": "Exertional chest pain",
        "diagnosis_codes": ["I20.9", "e11.9"],
        "priority": "urgent",
        **overrides,
    }
    response = await client.post(REFERRALS, headers=org.headers, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def move(client: Any, org: Any, referral_id: str, to: str, **extra: Any) -> Any:
    return await client.post(f"{REFERRALS}/{referral_id}/transitions", headers=org.headers, json={"to": to, **extra})


@pytest.fixture
async def clinic(client: Any, org: Any) -> Any:
    await enable_module(client, org, "referrals")
    return org


async def test_a_referral_lives_from_draft_to_closed_loop(client: Any, clinic: Any) -> None:
    referral = await new_referral(client, clinic)
    assert referral["status"] == "draft"
    assert referral["diagnosis_codes"] == ["I20.9", "E11.9"]
    assert referral["sla"]["state"] == "not_started"
    rid = referral["id"]

    for step, extra in [
        ("sent", {}),
        ("received", {}),
        ("accepted", {}),
        ("scheduled", {"appointment_id": await appointment(client, clinic, referral["patient_id"])}),
        ("seen", {}),
        ("closed", {"consult_report": "Stress test normal; no follow-up needed."}),
    ]:
        response = await move(client, clinic, rid, step, **extra)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == step
    closed = (await client.get(f"{REFERRALS}/{rid}", headers=clinic.headers)).json()
    assert closed["consult_report"].startswith("Stress test normal")
    assert closed["closed_at"] is not None
    assert closed["sent_at"] is not None
    assert closed["sla"]["state"] in {"met", "missed"}

    history = (await client.get(f"{REFERRALS}/{rid}/transitions", headers=clinic.headers)).json()
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "draft"),
        ("draft", "sent"),
        ("sent", "received"),
        ("received", "accepted"),
        ("accepted", "scheduled"),
        ("scheduled", "seen"),
        ("seen", "closed"),
    ]
    assert {h["actor_type"] for h in history} == {"user"}
    assert all(h["actor_id"] == str(clinic.owner_id) for h in history)


@pytest.mark.parametrize(
    ("path", "to"),
    [
        ([], "received"),
        ([], "closed"),
        (["sent"], "scheduled"),
        (["sent", "received"], "seen"),
        (["cancelled"], "sent"),
    ],
)
async def test_illegal_moves_are_409_naming_both_statuses_and_change_nothing(
    client: Any, clinic: Any, path: list[str], to: str
) -> None:
    referral = await new_referral(client, clinic)
    for step in path:
        assert (await move(client, clinic, referral["id"], step, reason="because")).status_code == 200
    current = path[-1] if path else "draft"
    refused = await move(client, clinic, referral["id"], to, reason="x")
    assert refused.status_code == 409
    body = refused.json()
    assert (body["current_status"], body["requested_status"]) == (current, to)
    assert refused.headers["content-type"].startswith("application/problem+json")
    history = (await client.get(f"{REFERRALS}/{referral['id']}/transitions", headers=clinic.headers)).json()
    assert len(history) == 1 + len(path)


async def test_hold_needs_a_reason_and_resumes_where_it_was(client: Any, clinic: Any) -> None:
    referral = await new_referral(client, clinic)
    rid = referral["id"]
    await move(client, clinic, rid, "sent")
    await move(client, clinic, rid, "received")
    no_reason = await move(client, clinic, rid, "on_hold")
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["key"] == "reason"
    held = await move(client, clinic, rid, "on_hold", reason="waiting on the patient's records")
    assert held.json()["held_from"] == "received"
    assert held.json()["sla"]["state"] == "paused"
    assert (await move(client, clinic, rid, "accepted")).status_code == 409
    resumed = await move(client, clinic, rid, "received")
    assert resumed.status_code == 200
    assert resumed.json()["held_from"] is None


async def test_scheduling_needs_an_appointment_and_closing_needs_the_consult_report(client: Any, clinic: Any) -> None:
    referral = await new_referral(client, clinic)
    rid = referral["id"]
    for step in ("sent", "received", "accepted"):
        await move(client, clinic, rid, step)
    assert (await move(client, clinic, rid, "scheduled")).json()["errors"][0]["key"] == "appointment_id"
    unknown = await move(client, clinic, rid, "scheduled", appointment_id=str(uuid.uuid4()))
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == [{"key": "appointment_id", "message": "unknown appointment"}]
    await move(
        client, clinic, rid, "scheduled", appointment_id=await appointment(client, clinic, referral["patient_id"])
    )
    await move(client, clinic, rid, "seen")
    assert (await move(client, clinic, rid, "closed")).json()["errors"][0]["key"] == "consult_report"


async def test_rerouting_replaces_the_referral_and_keeps_both_histories(client: Any, clinic: Any) -> None:
    referral = await new_referral(client, clinic)
    rid = referral["id"]
    await move(client, clinic, rid, "sent")
    await move(client, clinic, rid, "received")
    await move(client, clinic, rid, "rejected", reason="not taking new patients")
    other = await practitioner(client, clinic)
    rerouted = await client.post(
        f"{REFERRALS}/{rid}/reroute",
        headers=clinic.headers,
        json={"target_practitioner_id": other, "reason": "first cardiologist declined"},
    )
    assert rerouted.status_code == 200, rerouted.text
    old, new = rerouted.json()["replaced"], rerouted.json()["referral"]
    assert (old["status"], old["replaced_by_id"]) == ("replaced", new["id"])
    assert (new["status"], new["replaces_id"], new["target_practitioner_id"]) == ("draft", rid, other)
    assert new["diagnosis_codes"] == old["diagnosis_codes"]
    old_history = (await client.get(f"{REFERRALS}/{rid}/transitions", headers=clinic.headers)).json()
    assert [h["to_status"] for h in old_history] == ["draft", "sent", "received", "rejected", "replaced"]
    assert old_history[-1]["reason"] == "first cardiologist declined"
    new_history = (await client.get(f"{REFERRALS}/{new['id']}/transitions", headers=clinic.headers)).json()
    assert [(h["from_status"], h["to_status"]) for h in new_history] == [(None, "draft")]
    again = await client.post(
        f"{REFERRALS}/{rid}/reroute", headers=clinic.headers, json={"target_practitioner_id": other, "reason": "x"}
    )
    assert again.status_code == 409


async def test_lists_filter_by_status_priority_patient_specialist_and_coordinator(client: Any, clinic: Any) -> None:
    patient = await create_patient(client, clinic)
    urgent = await new_referral(client, clinic, patient=patient)
    routine = await new_referral(client, clinic, patient=patient, priority="routine", specialty="dermatology")
    await move(client, clinic, urgent["id"], "sent")

    async def ids(**params: Any) -> list[str]:
        response = await client.get(REFERRALS, headers=clinic.headers, params={"patient_id": patient["id"], **params})
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()]

    assert await ids() == [routine["id"], urgent["id"]]
    assert await ids(status="sent") == [urgent["id"]]
    assert await ids(status=["sent", "draft"]) == [routine["id"], urgent["id"]]
    assert await ids(priority="routine") == [routine["id"]]
    assert await ids(specialty="Dermatology") == [routine["id"]]
    assert await ids(practitioner_id=urgent["target_practitioner_id"]) == [urgent["id"]]
    assert await ids(coordinator_id=str(clinic.owner_id)) == [routine["id"], urgent["id"]]
    assert await ids(overdue="true") == []
    assert (await client.get(REFERRALS, headers=clinic.headers, params={"status": "lost"})).status_code == 400


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"diagnosis_codes": ["123"]}, "diagnosis_codes"),
        ({"diagnosis_codes": ["U07.1"]}, "diagnosis_codes"),
        ({"priority": "whenever"}, "priority"),
        ({"reason": ""}, "reason"),
        ({"target_practitioner_id": None}, None),
        ({"surprise": 1}, None),
    ],
)
async def test_invalid_referrals_are_400_problems(
    client: Any, clinic: Any, change: dict[str, Any], key: str | None
) -> None:
    patient = await create_patient(client, clinic)
    body = {
        "patient_id": patient["id"],
        "target_practitioner_id": await practitioner(client, clinic),
        "specialty": "cardiology",
        "reason": "r",
        **change,
    }
    response = await client.post(REFERRALS, headers=clinic.headers, json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if key:
        assert key in response.text


async def test_another_organizations_records_are_unknown_here(client: Any, clinic: Any, other_org: Any) -> None:
    await enable_module(client, other_org, "referrals")
    theirs = await new_referral(client, other_org)
    for method, path, body in [
        ("GET", f"{REFERRALS}/{theirs['id']}", None),
        ("GET", f"{REFERRALS}/{theirs['id']}/transitions", None),
        ("POST", f"{REFERRALS}/{theirs['id']}/transitions", {"to": "sent"}),
        ("POST", f"{REFERRALS}/{theirs['id']}/reroute", {"target_practitioner_id": str(uuid.uuid4()), "reason": "x"}),
        ("GET", f"{REFERRALS}/{uuid.uuid4()}", None),
    ]:
        response = await client.request(method, path, headers=clinic.headers, json=body)
        assert response.status_code == 404, (method, path, response.text)
    assert theirs["id"] not in [r["id"] for r in (await client.get(REFERRALS, headers=clinic.headers)).json()]
    # their patient and practitioner cannot be named in our referral either
    foreign_patient = await client.post(
        REFERRALS,
        headers=clinic.headers,
        json={
            "patient_id": theirs["patient_id"],
            "target_practitioner_id": await practitioner(client, clinic),
            "specialty": "cardiology",
            "reason": "r",
        },
    )
    assert foreign_patient.status_code == 422
    assert foreign_patient.json()["errors"] == [{"key": "patient_id", "message": "unknown patient"}]


async def test_every_route_is_404_where_the_module_is_not_enabled(client: Any, org: Any, other_org: Any) -> None:
    await enable_module(client, org, "referrals")
    mine = await new_referral(client, org)
    for method, path in [
        ("GET", REFERRALS),
        ("POST", REFERRALS),
        ("GET", f"{REFERRALS}/{mine['id']}"),
        ("POST", f"{REFERRALS}/{mine['id']}/transitions"),
        ("POST", f"{REFERRALS}/{mine['id']}/reroute"),
        ("GET", f"{REFERRALS}/{mine['id']}/transitions"),
    ]:
        response = await client.request(method, path, headers=other_org.headers, json={})
        assert response.status_code == 404, (method, path)


async def test_roles_reads_writes_and_audit(client: Any, clinic: Any, owner_db: Any) -> None:
    viewer = await add_user(client, clinic, "viewer")
    referral = await new_referral(client, clinic)
    assert (await client.get(f"{REFERRALS}/{referral['id']}", headers=viewer)).status_code == 200
    assert (
        await client.post(f"{REFERRALS}/{referral['id']}/transitions", headers=viewer, json={"to": "sent"})
    ).status_code == 403
    await move(client, clinic, referral["id"], "sent")
    actions = await owner_db.fetch(
        "select action from audit_events where tenant_id = $1 and resource_id = $2 order by occurred_at",
        clinic.tenant_id,
        uuid.UUID(referral["id"]),
    )
    assert [a["action"] for a in actions] == ["referral.create", "referral.read", "referral.sent"]
