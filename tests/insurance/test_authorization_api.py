"""``/api/v1/insurance/prior-authorizations`` over HTTP: requests, lifecycle, decisions, isolation, audit."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import add_user, create_patient, enable_module
from tests.insurance.conftest import INSURANCE, new_coverage

AUTHORIZATIONS = f"{INSURANCE}/prior-authorizations"
TEXT = b"Clinical notes: lumbar pain for 8 weeks despite physical therapy.\n"


def soon(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def body_for(coverage: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "patient_id": coverage["patient_id"],
        "coverage_id": coverage["id"],
        "diagnosis_codes": ["m54.50", "G89.29"],
        "lines": [
            {"code": "72148", "service_from": soon(7), "service_to": soon(37)},
            {"code": "97110", "units": 16, "modifiers": ["gp"]},
        ],
        **overrides,
    }


async def new_authorization(
    client: Any, org: Any, coverage: dict[str, Any] | None = None, **overrides: Any
) -> dict[str, Any]:
    coverage = coverage or await new_coverage(client, org)
    response = await client.post(AUTHORIZATIONS, headers=org.headers, json=body_for(coverage, **overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def act(client: Any, org: Any, authorization_id: str, action: str, body: Any = None) -> Any:
    return await client.post(f"{AUTHORIZATIONS}/{authorization_id}/{action}", headers=org.headers, json=body)


async def read(client: Any, org: Any, authorization_id: str) -> dict[str, Any]:
    response = await client.get(f"{AUTHORIZATIONS}/{authorization_id}", headers=org.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def history(client: Any, org: Any, authorization_id: str) -> list[tuple[str | None, str]]:
    response = await client.get(f"{AUTHORIZATIONS}/{authorization_id}/transitions", headers=org.headers)
    assert response.status_code == 200, response.text
    return [(t["from_status"], t["to_status"]) for t in response.json()]


def approval(*lines: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"lines": list(lines), "authorization_number": "AUTH-778", "valid_to": soon(97), **extra}


async def appointment(client: Any, org: Any, patient_id: str) -> str:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5, minutes=secrets.randbelow(10_000))
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


async def test_a_request_is_kept_as_a_draft_with_normalized_codes(client: Any, insured: Any) -> None:
    coverage = await new_coverage(client, insured)
    created = await new_authorization(
        client,
        insured,
        coverage,
        urgency="expedited",
        lines=[
            {"code": "72148", "service_from": soon(7), "service_to": soon(37)},
            {"code": "j3490", "units": 4, "modifiers": ["jw"]},
            {"code": "0042t", "code_system": "CPT"},
        ],
    )
    assert created["status"] == "draft"
    assert (created["decision"], created["approved"], created["submission_round"]) == (None, False, 0)
    assert created["diagnosis_codes"] == ["M54.50", "G89.29"]
    assert created["coordinator_id"] == str(insured.owner_id)
    assert [(ln["line"], ln["code"], ln["code_system"], ln["units"], ln["modifiers"]) for ln in created["lines"]] == [
        (1, "72148", "CPT", 1, []),
        (2, "J3490", "HCPCS", 4, ["JW"]),
        (3, "0042T", "CPT", 1, []),
    ]
    assert created["decision_due_at"] is None
    assert created["overdue"] is False
    assert await read(client, insured, created["id"]) == created
    assert await history(client, insured, created["id"]) == [(None, "draft")]


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"lines": [{"code": "7214"}]}, "lines[0].code"),
        ({"lines": [{"code": "72148"}, {"code": "ABCDE"}]}, "lines[1].code"),
        ({"lines": [{"code": "J3490", "code_system": "CPT"}]}, "lines[0].code_system"),
        ({"lines": [{"code": "72148", "units": 0}]}, "lines[0].units"),
        ({"lines": [{"code": "72148", "units": -3}]}, "lines[0].units"),
        ({"lines": [{"code": "72148", "service_from": soon(9), "service_to": soon(8)}]}, "lines[0].service_to"),
        ({"diagnosis_codes": ["123"]}, "diagnosis_codes[0]"),
        ({"diagnosis_codes": ["I10", "U07.1"]}, "diagnosis_codes[1]"),
        ({"diagnosis_codes": ["I10", "i10"]}, "diagnosis_codes"),
        ({"patient_id": str(uuid.uuid4())}, "patient_id"),
        ({"coverage_id": str(uuid.uuid4())}, "coverage_id"),
        ({"appointment_id": str(uuid.uuid4())}, "appointment_id"),
        ({"referral_id": str(uuid.uuid4())}, "referral_id"),
        ({"coordinator_id": str(uuid.uuid4())}, "coordinator_id"),
    ],
)
async def test_invalid_requests_are_422_naming_the_field(
    client: Any, insured: Any, change: dict[str, Any], key: str
) -> None:
    coverage = await new_coverage(client, insured)
    response = await client.post(AUTHORIZATIONS, headers=insured.headers, json=body_for(coverage, **change))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert key in [e["key"] for e in response.json()["errors"]], response.text


@pytest.mark.parametrize(
    "change",
    [{"lines": []}, {"diagnosis_codes": []}, {"urgency": "urgent"}, {"service_type": "consult"}, {"surprise": 1}],
)
async def test_malformed_bodies_are_400(client: Any, insured: Any, change: dict[str, Any]) -> None:
    coverage = await new_coverage(client, insured)
    response = await client.post(AUTHORIZATIONS, headers=insured.headers, json=body_for(coverage, **change))
    assert response.status_code == 400, response.text


async def test_the_coverage_must_be_the_patients_and_in_effect(client: Any, insured: Any) -> None:
    coverage = await new_coverage(client, insured)
    someone_else = await new_coverage(client, insured)
    ended = await new_coverage(client, insured, effective_from="2025-01-01", effective_to="2025-12-31")
    retired = await new_coverage(client, insured)
    assert (await client.delete(f"{INSURANCE}/coverages/{retired['id']}", headers=insured.headers)).status_code in (
        200,
        204,
    )
    for other, message in [
        (someone_else, "another patient"),
        (ended, "not in effect"),
        (retired, "retired"),
    ]:
        body = body_for(coverage, coverage_id=other["id"], patient_id=other["patient_id"])
        if other is someone_else:
            body["patient_id"] = coverage["patient_id"]
        response = await client.post(AUTHORIZATIONS, headers=insured.headers, json=body)
        assert response.status_code == 422, response.text
        (error,) = response.json()["errors"]
        assert error["key"] == "coverage_id", error
        assert message in error["message"], error
    # an appointment must be the patient's too
    other_patient = await create_patient(client, insured)
    theirs = await appointment(client, insured, other_patient["id"])
    response = await client.post(
        AUTHORIZATIONS, headers=insured.headers, json=body_for(coverage, appointment_id=theirs)
    )
    assert response.json()["errors"] == [{"key": "appointment_id", "message": "the appointment is another patient's"}]


async def test_drafts_change_and_submitted_requests_do_not(client: Any, insured: Any) -> None:
    created = await new_authorization(client, insured)
    url = f"{AUTHORIZATIONS}/{created['id']}"
    changed = await client.patch(
        url, headers=insured.headers, json={"urgency": "expedited", "lines": [{"code": "99243"}], "notes": "call"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["urgency"] == "expedited"
    assert [ln["code"] for ln in changed.json()["lines"]] == ["99243"]
    assert changed.json()["diagnosis_codes"] == created["diagnosis_codes"]
    bad = await client.patch(url, headers=insured.headers, json={"lines": [{"code": "99243", "units": 0}]})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["key"] == "lines[0].units"
    assert (await act(client, insured, created["id"], "submit")).status_code == 200
    frozen = await client.patch(url, headers=insured.headers, json={"notes": "too late"})
    assert frozen.status_code == 409, frozen.text
    assert frozen.json()["current_status"] == "submitted"


@pytest.mark.parametrize(("urgency", "window"), [("standard", timedelta(days=7)), ("expedited", timedelta(hours=72))])
async def test_submitting_starts_the_payer_clock_and_queues_one_job_per_round(
    client: Any, insured: Any, owner_db: Any, urgency: str, window: timedelta
) -> None:
    created = await new_authorization(client, insured, urgency=urgency)
    submitted = await act(client, insured, created["id"], "submit")
    assert submitted.status_code == 200, submitted.text
    shown = submitted.json()
    assert (shown["status"], shown["submission_round"]) == ("submitted", 1)
    assert shown["trace_number"].startswith("PA")
    sent_at = datetime.fromisoformat(shown["submitted_at"])
    assert datetime.fromisoformat(shown["decision_due_at"]) - sent_at == window  # the tenant is on UTC
    assert abs(datetime.now(UTC) - sent_at) < timedelta(minutes=1)
    jobs = await owner_db.fetch(
        "select payload::text, idempotency_key from outbox where tenant_id = $1 and actor_name = $2 "
        "and payload->>'authorization_id' = $3",
        insured.tenant_id,
        "insurance.submit_authorization",
        created["id"],
    )
    assert [(j["payload"], j["idempotency_key"]) for j in jobs] == [
        (
            f'{{"authorization_id": "{created["id"]}", "submission_round": 1}}',
            f"authorization:{created['id']}:submit:1",
        )
    ]
    again = await act(client, insured, created["id"], "submit")
    assert again.status_code == 409, again.text
    assert (again.json()["current_status"], again.json()["requested_status"]) == ("submitted", "submitted")
    assert await history(client, insured, created["id"]) == [(None, "draft"), ("draft", "submitted")]


async def test_decisions_by_phone_pend_then_decide_per_line(client: Any, insured: Any) -> None:
    created = await new_authorization(client, insured)
    aid = created["id"]
    early = await act(client, insured, aid, "decision", approval({"line": 1, "decision": "certified"}))
    assert early.status_code == 409, early.text
    assert (early.json()["current_status"], early.json()["requested_status"]) == ("draft", "decided")
    await act(client, insured, aid, "submit")

    half = await act(client, insured, aid, "decision", approval({"line": 1, "decision": "certified"}))
    assert half.status_code == 422, half.text
    assert half.json()["errors"] == [{"key": "lines", "message": "no decision yet for line(s) 2"}]

    pended = await act(
        client, insured, aid, "decision",
        {"lines": [{"line": 1, "decision": "pended"}, {"line": 2, "decision": "pended"}], "channel": "portal",
         "payer_reference": "CASE-1"},
    )  # fmt: skip
    assert pended.status_code == 200, pended.text
    assert (pended.json()["status"], pended.json()["decision"], pended.json()["approved"]) == (
        "pended",
        "pended",
        False,
    )
    assert pended.json()["decided_at"] is None

    # the payer certifies line 1 in full and 12 of the 16 units of line 2
    decided = await act(
        client,
        insured,
        aid,
        "decision",
        approval(
            {"line": 1, "decision": "certified", "valid_from": soon(7)},
            {"line": 2, "decision": "partially_certified", "approved_units": 12, "reason_codes": ["n1"]},
            note="spoke with Dana at the payer",
        ),
    )
    assert decided.status_code == 200, decided.text
    shown = decided.json()
    assert (shown["status"], shown["decision"], shown["approved"]) == ("decided", "partially_certified", True)
    assert (shown["authorization_number"], shown["valid_from"], shown["valid_to"]) == ("AUTH-778", soon(7), soon(97))
    assert shown["payer_reference"] == "CASE-1"
    assert shown["decided_at"] is not None
    assert shown["overdue"] is False
    assert [
        (ln["decision"], ln["action_code"], ln["approved_units"], ln["authorization_number"], ln["reason_codes"])
        for ln in shown["lines"]
    ] == [("certified", "A1", 1, "AUTH-778", []), ("partially_certified", "A2", 12, "AUTH-778", ["N1"])]
    assert await history(client, insured, aid) == [
        (None, "draft"),
        ("draft", "submitted"),
        ("submitted", "pended"),
        ("pended", "decided"),
    ]
    transitions = (await client.get(f"{AUTHORIZATIONS}/{aid}/transitions", headers=insured.headers)).json()
    assert transitions[-1]["reason"] == "decision received by phone: spoke with Dana at the payer"

    # a coordinator cannot withdraw a decided authorization; the payer can (C)
    refused = await act(client, insured, aid, "cancel", {"reason": "not needed"})
    assert refused.status_code == 409
    assert (refused.json()["current_status"], refused.json()["requested_status"]) == ("decided", "cancelled")
    changed_mind = await act(client, insured, aid, "decision", {"lines": [{"line": 1, "decision": "not_certified"}]})
    assert changed_mind.status_code == 409
    withdrawn = await act(
        client, insured, aid, "decision",
        {"lines": [{"line": 1, "decision": "cancelled"}, {"line": 2, "decision": "cancelled"}]},
    )  # fmt: skip
    assert withdrawn.status_code == 200, withdrawn.text
    assert (withdrawn.json()["status"], withdrawn.json()["decision"]) == ("cancelled", "cancelled")
    assert withdrawn.json()["approved"] is False


@pytest.mark.parametrize(
    ("lines", "extra", "key"),
    [
        ([{"line": 3, "decision": "certified"}], {}, "lines[0].line"),
        ([{"line": 1, "decision": "certified"}, {"line": 1, "decision": "pended"}], {}, "lines[1].line"),
        ([{"line": 2, "decision": "partially_certified"}], {}, "lines[0].approved_units"),
        ([{"line": 2, "decision": "certified", "approved_units": 17}], {}, "lines[0].approved_units"),
        ([{"line": 1, "decision": "certified"}], {"authorization_number": None}, "lines[0].authorization_number"),
        ([{"line": 1, "decision": "certified"}], {"valid_to": None}, "lines[0].valid_to"),
        ([{"line": 1, "decision": "certified", "valid_from": soon(200)}], {}, "lines[0].valid_to"),
    ],
)
async def test_recorded_decisions_are_checked(
    client: Any, insured: Any, lines: list[dict[str, Any]], extra: dict[str, Any], key: str
) -> None:
    created = await new_authorization(client, insured)
    await act(client, insured, created["id"], "submit")
    body = {**approval(*lines), **extra}
    response = await act(client, insured, created["id"], "decision", body)
    assert response.status_code == 422, response.text
    assert key in [e["key"] for e in response.json()["errors"]], response.text
    assert (await read(client, insured, created["id"]))["status"] == "submitted"


async def test_a_denial_is_a_decision_not_an_approval(client: Any, insured: Any) -> None:
    created = await new_authorization(client, insured, lines=[{"code": "72148"}])
    await act(client, insured, created["id"], "submit")
    denied = await act(
        client, insured, created["id"], "decision", {"lines": [{"line": 1, "decision": "not_certified"}]}
    )
    assert denied.status_code == 200, denied.text
    shown = denied.json()
    assert (shown["status"], shown["decision"], shown["approved"]) == ("decided", "not_certified", False)
    assert shown["lines"][0]["approved_units"] == 0


async def test_cancelling_needs_a_reason_and_is_final(client: Any, insured: Any) -> None:
    created = await new_authorization(client, insured)
    aid = created["id"]
    assert (await act(client, insured, aid, "cancel", {})).status_code == 400
    await act(client, insured, aid, "submit")
    cancelled = await act(client, insured, aid, "cancel", {"reason": "patient chose another clinic"})
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["status_reason"]) == (
        "cancelled",
        "patient chose another clinic",
    )
    for action, body in [
        ("submit", None),
        ("cancel", {"reason": "again"}),
        ("decision", approval({"line": 1, "decision": "certified"})),
    ]:
        response = await act(client, insured, aid, action, body)
        assert response.status_code == 409, (action, response.text)
        assert response.json()["current_status"] == "cancelled"
    assert await history(client, insured, aid) == [(None, "draft"), ("draft", "submitted"), ("submitted", "cancelled")]


async def test_lists_filter_by_status_patient_appointment_and_overdue(client: Any, insured: Any, owner_db: Any) -> None:
    coverage = await new_coverage(client, insured)
    visit = await appointment(client, insured, coverage["patient_id"])
    first = await new_authorization(client, insured, coverage, appointment_id=visit)
    second = await new_authorization(client, insured, coverage)
    await act(client, insured, second["id"], "submit")

    async def ids(**params: Any) -> list[str]:
        response = await client.get(
            AUTHORIZATIONS, headers=insured.headers, params={"patient_id": coverage["patient_id"], **params}
        )
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()]

    assert await ids() == [second["id"], first["id"]]
    assert await ids(status="draft") == [first["id"]]
    assert await ids(status=["draft", "submitted"]) == [second["id"], first["id"]]
    assert await ids(appointment_id=visit) == [first["id"]]
    assert await ids(coverage_id=coverage["id"], status="submitted") == [second["id"]]
    assert await ids(overdue="true") == []
    await owner_db.execute(
        "update prior_authorizations set decision_due_at = now() - interval '1 minute' where id = $1",
        uuid.UUID(second["id"]),
    )
    assert await ids(overdue="true") == [second["id"]]
    assert (await read(client, insured, second["id"]))["overdue"] is True
    assert (await client.get(AUTHORIZATIONS, headers=insured.headers, params={"status": "approved"})).status_code == 400


async def test_documents_are_kept_with_the_authorization(client: Any, insured: Any) -> None:
    created = await new_authorization(client, insured)
    url = f"{AUTHORIZATIONS}/{created['id']}/documents"
    uploaded = await client.post(
        url, headers=insured.headers, params={"kind": "clinical"}, files={"data": ("notes.txt", TEXT, "text/plain")}
    )
    assert uploaded.status_code == 201, uploaded.text
    listed = (await client.get(url, headers=insured.headers)).json()
    assert [(d["filename"], d["kind"]) for d in listed] == [("notes.txt", "clinical")]
    assert (await client.get(f"{url}/{listed[0]['id']}", headers=insured.headers)).content == TEXT
    missing = await client.get(f"{AUTHORIZATIONS}/{uuid.uuid4()}/documents", headers=insured.headers)
    assert missing.status_code == 404


async def test_another_organization_sees_nothing(client: Any, insured: Any, other_org: Any) -> None:
    mine = await new_authorization(client, insured)
    await act(client, insured, mine["id"], "submit")
    aid = mine["id"]
    await enable_module(client, other_org, "insurance")
    probes: list[tuple[str, str, Any]] = [
        ("GET", f"/{aid}", None),
        ("PATCH", f"/{aid}", {"notes": "mine now"}),
        ("POST", f"/{aid}/submit", None),
        ("POST", f"/{aid}/decision", approval({"line": 1, "decision": "certified"})),
        ("POST", f"/{aid}/cancel", {"reason": "x"}),
        ("GET", f"/{aid}/transitions", None),
        ("GET", f"/{aid}/exchanges", None),
        ("GET", f"/{aid}/documents", None),
        ("GET", f"/{aid}/documents/{uuid.uuid4()}", None),
        ("GET", f"/{uuid.uuid4()}", None),
    ]
    for method, path, body in probes:
        response = await client.request(method, f"{AUTHORIZATIONS}{path}", headers=other_org.headers, json=body)
        assert response.status_code == 404, (method, path, response.text)
    upload = await client.post(
        f"{AUTHORIZATIONS}/{aid}/documents", headers=other_org.headers, files={"data": ("x.txt", TEXT, "text/plain")}
    )
    assert upload.status_code == 404
    theirs = (await client.get(AUTHORIZATIONS, headers=other_org.headers)).json()
    assert aid not in [a["id"] for a in theirs]
    # our patient and coverage cannot be named in their request either
    foreign = await client.post(
        AUTHORIZATIONS,
        headers=other_org.headers,
        json=body_for({"id": mine["coverage_id"], "patient_id": mine["patient_id"]}),
    )
    assert foreign.status_code == 422
    assert foreign.json()["errors"] == [{"key": "patient_id", "message": "unknown patient"}]
    assert (await read(client, insured, aid))["status"] == "submitted"


async def test_every_route_is_404_where_the_module_is_not_enabled(client: Any, insured: Any, other_org: Any) -> None:
    mine = await new_authorization(client, insured)
    for method, path in [
        ("GET", ""),
        ("POST", ""),
        ("GET", f"/{mine['id']}"),
        ("PATCH", f"/{mine['id']}"),
        ("POST", f"/{mine['id']}/submit"),
        ("POST", f"/{mine['id']}/decision"),
        ("POST", f"/{mine['id']}/cancel"),
        ("GET", f"/{mine['id']}/transitions"),
        ("GET", f"/{mine['id']}/exchanges"),
        ("GET", f"/{mine['id']}/documents"),
    ]:
        response = await client.request(method, f"{AUTHORIZATIONS}{path}", headers=other_org.headers, json={})
        assert response.status_code == 404, (method, path)


async def test_roles_and_audit(client: Any, insured: Any, owner_db: Any) -> None:
    viewer = await add_user(client, insured, "viewer")
    created = await new_authorization(client, insured)
    aid = created["id"]
    assert (await client.get(f"{AUTHORIZATIONS}/{aid}", headers=viewer)).status_code == 200
    for action in ("submit", "cancel"):
        response = await client.post(f"{AUTHORIZATIONS}/{aid}/{action}", headers=viewer, json={"reason": "x"})
        assert response.status_code == 403, response.text
    await act(client, insured, aid, "submit")
    await client.get(f"{AUTHORIZATIONS}/{aid}/transitions", headers=insured.headers)
    await client.get(f"{AUTHORIZATIONS}/{aid}/exchanges", headers=insured.headers)
    events = await owner_db.fetch(
        "select action, details from audit_events where tenant_id = $1 and resource_id = $2 order by occurred_at",
        insured.tenant_id,
        uuid.UUID(aid),
    )
    assert [e["action"] for e in events] == [
        "insurance.authorization_create",
        "insurance.authorization_read",
        "insurance.authorization_submit",
        "insurance.authorization_history",
        "insurance.authorization_exchanges",
    ]
    details = [e["details"] if isinstance(e["details"], dict) else json.loads(e["details"]) for e in events]
    assert {d["patient_id"] for d in details} == {created["patient_id"]}
