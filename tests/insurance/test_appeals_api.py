"""``/api/v1/insurance/appeals`` over HTTP: lifecycle, deadlines, reopening claims, levels, isolation."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from core.testing.fixtures import enable_module
from plugins.insurance.appeals.deadlines import add_months
from tests.insurance.conftest import new_coverage
from tests.insurance.test_claims_api import (
    APPEALS,
    CLAIMS,
    PDF,
    PNG,
    authorization,
    denied_claim,
    move,
    new_claim,
)


async def new_appeal(client: Any, org: Any, **body: Any) -> dict[str, Any]:
    response = await client.post(APPEALS, headers=org.headers, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def step(client: Any, org: Any, appeal_id: str, to: str, **extra: Any) -> Any:
    return await client.post(f"{APPEALS}/{appeal_id}/transitions", headers=org.headers, json={"to": to, **extra})


async def decided(client: Any, org: Any, appeal_id: str, outcome: str, **extra: Any) -> dict[str, Any]:
    await step(client, org, appeal_id, "submitted", arguments="The service was medically necessary")
    response = await step(client, org, appeal_id, "decided", outcome=outcome, **extra)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_denied_claim_is_appealed_overturned_and_then_paid(client: Any, insured: Any) -> None:
    claim = await denied_claim(client, insured, remittance_date="2026-03-02")
    assert (await move(client, insured, claim["id"], "paid", allowed_amount="1", paid_amount="1")).status_code == 409
    appeal = await new_appeal(client, insured, claim_id=claim["id"], amount_requested="250.00")
    assert (appeal["status"], appeal["level"], appeal["level_name"]) == ("draft", 1, "first-level internal appeal")
    assert appeal["patient_id"] == claim["patient_id"]
    assert appeal["filing_deadline"] == "2026-08-29"  # 180 days after the remittance
    assert appeal["decision_due_at"] is None
    aid = appeal["id"]

    no_arguments = await step(client, insured, aid, "submitted")
    assert no_arguments.status_code == 422
    assert [e["key"] for e in no_arguments.json()["errors"]] == ["arguments"]
    submitted = await step(client, insured, aid, "submitted", arguments="Records attached", payer_reference="APL-9")
    assert submitted.status_code == 200, submitted.text
    body = submitted.json()
    filed = datetime.fromisoformat(body["submitted_at"])
    assert datetime.fromisoformat(body["decision_due_at"]) - filed == timedelta(days=60)  # post-service, standard
    assert (body["arguments"], body["payer_reference"]) == ("Records attached", "APL-9")
    assert (await step(client, insured, aid, "in_review")).status_code == 200
    won = await step(
        client, insured, aid, "decided", outcome="overturned", amount_recovered="200.00", decision_notes="Paid"
    )
    assert won.status_code == 200, won.text
    assert (won.json()["outcome"], won.json()["amount_recovered"]) == ("overturned", "200.00")
    assert won.json()["decided_at"] is not None

    paid = await move(client, insured, claim["id"], "paid", allowed_amount="220.00", paid_amount="200.00")
    assert paid.status_code == 200, paid.text
    history = (await client.get(f"{CLAIMS}/{claim['id']}/transitions", headers=insured.headers)).json()
    assert (history[-1]["from_status"], history[-1]["to_status"], history[-1]["appeal_id"]) == ("denied", "paid", aid)
    appeal_history = (await client.get(f"{APPEALS}/{aid}/transitions", headers=insured.headers)).json()
    assert [(h["from_status"], h["to_status"], h["outcome"]) for h in appeal_history] == [
        (None, "draft", None),
        ("draft", "submitted", None),
        ("submitted", "in_review", None),
        ("in_review", "decided", "overturned"),
    ]
    assert appeal_history[-1]["amount_recovered"] == "200.00"
    # the overturn was used by the payment: reprocessing the paid claim again needs a new appeal
    again = await move(client, insured, claim["id"], "accepted")
    assert again.status_code == 409
    assert "appeal" in again.json()["detail"]


async def test_an_upheld_appeal_goes_up_level_by_level_until_four(client: Any, insured: Any) -> None:
    claim = await denied_claim(client, insured)
    appeal = await new_appeal(client, insured, claim_id=claim["id"], arguments="Necessary", urgency="expedited")
    assert (
        await client.post(f"{APPEALS}/{appeal['id']}/escalate", headers=insured.headers, json={})
    ).status_code == 409
    names = []
    for level in (1, 2, 3, 4):
        assert appeal["level"] == level
        names.append(appeal["level_name"])
        lost = await decided(client, insured, appeal["id"], "upheld")
        due = datetime.fromisoformat(lost["decision_due_at"]) - datetime.fromisoformat(lost["submitted_at"])
        assert due == timedelta(hours=72)  # expedited at every level
        up = await client.post(
            f"{APPEALS}/{appeal['id']}/escalate", headers=insured.headers, json={"arguments": f"level {level + 1}"}
        )
        if level == 4:
            assert up.status_code == 409, up.text
            assert "last level" in up.json()["detail"]
            break
        assert up.status_code == 201, up.text
        escalated = up.json()
        assert (escalated["status"], escalated["previous_appeal_id"], escalated["urgency"]) == (
            "draft",
            appeal["id"],
            "expedited",
        )
        decided_on = datetime.fromisoformat(lost["decided_at"]).astimezone(UTC).date()
        expected = {
            2: decided_on + timedelta(days=180),
            3: add_months(decided_on, 4),
            4: decided_on + timedelta(days=60),
        }[level + 1]
        assert date.fromisoformat(escalated["filing_deadline"]) == expected
        again = await client.post(f"{APPEALS}/{appeal['id']}/escalate", headers=insured.headers, json={})
        assert again.status_code == 409
        assert again.json()["escalated_appeal_id"] == escalated["id"]
        appeal = escalated
    assert names == [
        "first-level internal appeal",
        "second-level internal appeal",
        "external review",
        "further or administrative appeal",
    ]
    first = await client.get(APPEALS, headers=insured.headers, params={"claim_id": claim["id"]})
    assert sorted(a["level"] for a in first.json()) == [1, 2, 3, 4]
    history = (await client.get(f"{APPEALS}/{appeal['id']}/transitions", headers=insured.headers)).json()
    assert history[0]["reason"].startswith("escalated from the external review")


async def test_an_overturned_appeal_is_not_escalated_and_a_partial_one_is(client: Any, insured: Any) -> None:
    won = await denied_claim(client, insured)
    appeal = await new_appeal(client, insured, claim_id=won["id"], arguments="x")
    await decided(client, insured, appeal["id"], "overturned")
    refused = await client.post(f"{APPEALS}/{appeal['id']}/escalate", headers=insured.headers, json={})
    assert refused.status_code == 409
    assert (refused.json()["current_status"], refused.json()["outcome"]) == ("decided", "overturned")
    partly = await denied_claim(client, insured)
    appeal = await new_appeal(client, insured, claim_id=partly["id"], arguments="x")
    await decided(client, insured, appeal["id"], "partially_overturned")
    assert (await client.post(f"{APPEALS}/{appeal['id']}/escalate", headers=insured.headers)).status_code == 201


async def test_an_authorization_appeal_is_pre_service(client: Any, insured: Any, owner_db: Any) -> None:
    coverage = await new_coverage(client, insured)
    denied = await authorization(owner_db, insured, coverage)
    appeal = await new_appeal(client, insured, authorization_id=denied, arguments="Conservative care failed")
    assert (appeal["authorization_id"], appeal["claim_id"]) == (denied, None)
    assert appeal["filing_deadline"] == "2026-08-29"  # 180 days after the decision of 2026-03-02
    filed = (await step(client, insured, appeal["id"], "submitted")).json()
    assert datetime.fromisoformat(filed["decision_due_at"]) - datetime.fromisoformat(filed["submitted_at"]) == (
        timedelta(days=30)
    )
    recovered = await step(client, insured, appeal["id"], "decided", outcome="upheld", amount_recovered="5.00")
    assert [e["key"] for e in recovered.json()["errors"]] == ["amount_recovered"]
    certified = await authorization(owner_db, insured, coverage, decision="certified")
    refused = await client.post(APPEALS, headers=insured.headers, json={"authorization_id": certified})
    assert refused.status_code == 409
    assert refused.json()["authorization_status"] == "decided"
    assert (await client.get(APPEALS, headers=insured.headers, params={"authorization_id": denied})).json()[0][
        "id"
    ] == appeal["id"]


async def test_a_claim_paid_less_than_billed_can_be_appealed_and_one_paid_in_full_cannot(
    client: Any, insured: Any
) -> None:
    for paid, status in [("150.00", 201), ("250.00", 409)]:
        claim = await new_claim(client, insured)
        await move(client, insured, claim["id"], "accepted")
        await move(client, insured, claim["id"], "paid", allowed_amount="250.00", paid_amount=paid)
        response = await client.post(APPEALS, headers=insured.headers, json={"claim_id": claim["id"]})
        assert response.status_code == status, response.text
    assert response.json()["claim_status"] == "paid"


async def test_bad_appeals_are_refused(client: Any, insured: Any) -> None:
    claim = await denied_claim(client, insured)
    open_claim = await new_claim(client, insured)
    for body, status, key in [
        ({}, 422, "claim_id"),
        ({"claim_id": claim["id"], "authorization_id": str(uuid.uuid4())}, 422, "claim_id"),
        ({"claim_id": str(uuid.uuid4())}, 422, "claim_id"),
        ({"authorization_id": str(uuid.uuid4())}, 422, "authorization_id"),
        ({"claim_id": claim["id"], "amount_requested": "999.00"}, 422, "amount_requested"),
        ({"claim_id": claim["id"], "amount_requested": "-1"}, 422, "amount_requested"),
        ({"claim_id": open_claim["id"]}, 409, None),
        ({"claim_id": claim["id"], "level": 5}, 400, None),
        ({"claim_id": claim["id"], "urgency": "whenever"}, 400, None),
    ]:
        response = await client.post(APPEALS, headers=insured.headers, json=body)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        if key:
            assert [e["key"] for e in response.json()["errors"]] == [key], body
    first = await new_appeal(client, insured, claim_id=claim["id"])
    second = await client.post(APPEALS, headers=insured.headers, json={"claim_id": claim["id"]})
    assert second.status_code == 409
    assert second.json()["open_appeal_id"] == first["id"]
    assert (await step(client, insured, first["id"], "withdrawn", reason="Paid on resubmission")).status_code == 200
    assert (await client.post(APPEALS, headers=insured.headers, json={"claim_id": claim["id"]})).status_code == 201


@pytest.mark.parametrize(
    ("path", "to", "extra", "status", "keys"),
    [
        ([], "decided", {"outcome": "upheld"}, 409, None),
        ([], "in_review", {}, 409, None),
        (["submitted"], "submitted", {}, 409, None),
        (["submitted", "decided"], "withdrawn", {"reason": "x"}, 409, None),
        (["withdrawn"], "submitted", {}, 409, None),
        ([], "withdrawn", {}, 422, ["reason"]),
        (["submitted"], "decided", {}, 422, ["outcome"]),
        (
            ["submitted"],
            "in_review",
            {"outcome": "upheld", "amount_recovered": "1"},
            422,
            ["outcome", "amount_recovered"],
        ),
        ([], "submitted", {"submitted_at": "2999-01-01T00:00:00Z"}, 422, ["submitted_at"]),
        ([], "submitted", {"decision_due_at": "2020-01-01T00:00:00Z"}, 422, ["decision_due_at"]),
        (["submitted"], "decided", {"outcome": "overturned", "amount_recovered": "0.001"}, 422, ["amount_recovered"]),
    ],
)
async def test_appeal_moves_409_or_422(
    client: Any, insured: Any, path: list[str], to: str, extra: dict[str, Any], status: int, keys: list[str] | None
) -> None:
    claim = await denied_claim(client, insured)
    appeal = await new_appeal(client, insured, claim_id=claim["id"], arguments="Necessary")
    for move_to in path:
        extras = {"decided": {"outcome": "upheld"}, "withdrawn": {"reason": "x"}}.get(move_to, {})
        assert (await step(client, insured, appeal["id"], move_to, **extras)).status_code == 200
    refused = await step(client, insured, appeal["id"], to, **extra)
    assert refused.status_code == status, refused.text
    body = refused.json()
    if status == 409:
        assert (body["current_status"], body["requested_status"]) == (path[-1] if path else "draft", to)
    else:
        assert [e["key"] for e in body["errors"]] == keys
    history = (await client.get(f"{APPEALS}/{appeal['id']}/transitions", headers=insured.headers)).json()
    assert len(history) == 1 + len(path)


async def test_overdue_appeals_and_the_given_deadlines(client: Any, insured: Any) -> None:
    late = await new_appeal(
        client, insured, claim_id=(await denied_claim(client, insured))["id"], filing_deadline="2026-01-05"
    )
    assert (late["filing_deadline"], late["overdue"]) == ("2026-01-05", True)
    due = datetime.now(UTC) + timedelta(days=3)
    on_time = await new_appeal(client, insured, claim_id=(await denied_claim(client, insured))["id"], arguments="x")
    filed = await step(client, insured, on_time["id"], "submitted", decision_due_at=due.isoformat())
    assert datetime.fromisoformat(filed.json()["decision_due_at"]) == due
    assert filed.json()["overdue"] is False
    overdue = (await client.get(APPEALS, headers=insured.headers, params={"overdue": "true"})).json()
    assert late["id"] in [a["id"] for a in overdue]
    assert on_time["id"] not in [a["id"] for a in overdue]
    drafts = (await client.get(APPEALS, headers=insured.headers, params={"status": "draft"})).json()
    assert {a["status"] for a in drafts} == {"draft"}
    assert (await client.get(f"{APPEALS}/{late['id']}", headers=insured.headers)).json()["overdue"] is True


async def test_documents_of_an_appeal(client: Any, insured: Any) -> None:
    appeal = await new_appeal(client, insured, claim_id=(await denied_claim(client, insured))["id"])
    base = f"{APPEALS}/{appeal['id']}/documents"
    letter = await client.post(base, headers=insured.headers, files={"data": ("letter.pdf", PDF, "application/pdf")})
    assert letter.status_code == 201, letter.text
    image = await client.post(base, headers=insured.headers, files={"data": ("chart.png", PNG, "image/png")})
    assert image.status_code == 201, image.text
    spoofed = await client.post(base, headers=insured.headers, files={"data": ("chart.png", PDF, "image/png")})
    assert spoofed.status_code == 422
    assert [d["filename"] for d in (await client.get(base, headers=insured.headers)).json()] == [
        "letter.pdf",
        "chart.png",
    ]
    assert (await client.get(f"{base}/{image.json()['id']}", headers=insured.headers)).content == PNG


def id_routes(claim_id: str, appeal_id: str, document_ids: tuple[str, str]) -> list[tuple[str, str, Any]]:
    claim_doc, appeal_doc = document_ids
    return [
        ("GET", f"{CLAIMS}/{claim_id}", None),
        ("GET", f"{CLAIMS}/{claim_id}/transitions", None),
        ("POST", f"{CLAIMS}/{claim_id}/transitions", {"to": "voided", "reason": "x"}),
        ("GET", f"{CLAIMS}/{claim_id}/documents", None),
        ("GET", f"{CLAIMS}/{claim_id}/documents/{claim_doc}", None),
        ("GET", f"{APPEALS}/{appeal_id}", None),
        ("GET", f"{APPEALS}/{appeal_id}/transitions", None),
        ("POST", f"{APPEALS}/{appeal_id}/transitions", {"to": "withdrawn", "reason": "x"}),
        ("POST", f"{APPEALS}/{appeal_id}/escalate", {}),
        ("GET", f"{APPEALS}/{appeal_id}/documents", None),
        ("GET", f"{APPEALS}/{appeal_id}/documents/{appeal_doc}", None),
    ]


async def a_claim_and_appeal_with_documents(client: Any, org: Any) -> tuple[dict[str, Any], dict[str, Any], Any]:
    claim = await denied_claim(client, org)
    appeal = await new_appeal(client, org, claim_id=claim["id"], arguments="x")
    docs = []
    for base in (f"{CLAIMS}/{claim['id']}", f"{APPEALS}/{appeal['id']}"):
        uploaded = await client.post(
            f"{base}/documents", headers=org.headers, files={"data": ("a.pdf", PDF, "application/pdf")}
        )
        assert uploaded.status_code == 201
        docs.append(uploaded.json()["id"])
    return claim, appeal, (docs[0], docs[1])


async def test_another_organizations_claims_and_appeals_are_unknown_here(
    client: Any, insured: Any, other_org: Any
) -> None:
    claim, appeal, docs = await a_claim_and_appeal_with_documents(client, insured)
    await enable_module(client, other_org, "insurance")
    for method, path, body in id_routes(claim["id"], appeal["id"], docs):
        response = await client.request(method, path, headers=other_org.headers, json=body)
        assert response.status_code == 404, (method, path, response.text)
    for base in (f"{CLAIMS}/{claim['id']}", f"{APPEALS}/{appeal['id']}"):
        upload = await client.post(
            f"{base}/documents", headers=other_org.headers, files={"data": ("a.pdf", PDF, "application/pdf")}
        )
        assert upload.status_code == 404
    for listing in (CLAIMS, APPEALS):
        assert (await client.get(listing, headers=other_org.headers)).json() == []
    named = await client.post(APPEALS, headers=other_org.headers, json={"claim_id": claim["id"]})
    assert named.status_code == 422
    assert named.json()["errors"] == [{"key": "claim_id", "message": "unknown claim"}]
    coverage = await new_coverage(client, other_org)
    body = {"service_from": "2026-02-02", "billed_amount": "10", "coverage_id": claim["coverage_id"]}
    foreign = await client.post(CLAIMS, headers=other_org.headers, json={**body, "patient_id": coverage["patient_id"]})
    assert [e["key"] for e in foreign.json()["errors"]] == ["coverage_id"]
    # nothing changed on our side
    mine = (await client.get(f"{CLAIMS}/{claim['id']}/transitions", headers=insured.headers)).json()
    assert [h["to_status"] for h in mine] == ["submitted", "accepted", "denied"]


async def test_every_route_is_404_where_the_module_is_not_enabled(client: Any, insured: Any, other_org: Any) -> None:
    claim, appeal, docs = await a_claim_and_appeal_with_documents(client, insured)
    routes = [
        ("GET", CLAIMS, None),
        ("POST", CLAIMS, {}),
        ("GET", f"{CLAIMS}/summary", None),
        ("GET", APPEALS, None),
        ("POST", APPEALS, {}),
        *id_routes(claim["id"], appeal["id"], docs),
    ]
    for method, path, body in routes:
        response = await client.request(method, path, headers=other_org.headers, json=body)
        assert response.status_code == 404, (method, path)


async def test_appeal_reads_and_writes_are_audited_with_the_patient(client: Any, insured: Any, owner_db: Any) -> None:
    claim = await denied_claim(client, insured)
    appeal = await new_appeal(client, insured, claim_id=claim["id"], arguments="x")
    await client.get(f"{APPEALS}/{appeal['id']}", headers=insured.headers)
    await step(client, insured, appeal["id"], "submitted")
    await client.get(f"{APPEALS}/{appeal['id']}/transitions", headers=insured.headers)
    events = await owner_db.fetch(
        "select action, details from audit_events where tenant_id = $1 and resource_id = $2 order by occurred_at",
        insured.tenant_id,
        uuid.UUID(appeal["id"]),
    )
    assert [e["action"] for e in events] == [
        "insurance.appeal_create",
        "insurance.appeal_read",
        "insurance.appeal_submitted",
        "insurance.appeal_history",
    ]
    assert {json.loads(e["details"])["patient_id"] for e in events} == {claim["patient_id"]}


async def test_a_claim_denied_again_after_reprocessing_needs_a_new_appeal(client: Any, insured: Any) -> None:
    claim = await denied_claim(client, insured)
    appeal = await new_appeal(client, insured, claim_id=claim["id"], arguments="x")
    await decided(client, insured, appeal["id"], "partially_overturned")
    assert (await move(client, insured, claim["id"], "accepted")).status_code == 200  # the payer reprocesses it
    denial = {"reason": "Denied on review", "carc_codes": ["CO-151"]}
    assert (await move(client, insured, claim["id"], "denied", **denial)).status_code == 200
    assert (await move(client, insured, claim["id"], "accepted")).status_code == 409
    second = await new_appeal(client, insured, claim_id=claim["id"], arguments="y")
    await decided(client, insured, second["id"], "overturned")
    assert (await move(client, insured, claim["id"], "accepted")).status_code == 200
