"""``/api/v1/insurance/claims`` over HTTP: records, lifecycle, validation, history, documents, isolation, audit."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from core.testing.fixtures import add_user, create_patient, enable_module
from tests.insurance.conftest import INSURANCE, new_coverage

CLAIMS = f"{INSURANCE}/claims"
APPEALS = f"{INSURANCE}/appeals"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def today() -> date:
    return datetime.now(UTC).date()


async def new_claim(
    client: Any, org: Any, patient_id: str | None = None, coverage: dict[str, Any] | None = None, **overrides: Any
) -> dict[str, Any]:
    """A submitted claim; a new coverage (of a new patient unless ``patient_id``) unless ``coverage`` is given."""
    coverage = coverage or await new_coverage(client, org, patient_id)
    body = {
        "patient_id": coverage["patient_id"],
        "coverage_id": coverage["id"],
        "service_from": (today() - timedelta(days=12)).isoformat(),
        "billed_amount": "250.00",
        **overrides,
    }
    response = await client.post(CLAIMS, headers=org.headers, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def move(client: Any, org: Any, claim_id: str, to: str, **extra: Any) -> Any:
    return await client.post(f"{CLAIMS}/{claim_id}/transitions", headers=org.headers, json={"to": to, **extra})


DENIAL = {"reason": "Not medically necessary", "carc_codes": ["CO-50"], "rarc_codes": ["N115"]}
PAYMENT = {"allowed_amount": "180.00", "paid_amount": "150.00", "patient_responsibility": "30.00"}
STEP_EXTRA: dict[str, dict[str, Any]] = {
    "denied": DENIAL,
    "voided": {"reason": "Entered in error"},
    "rejected": {"reason": "Invalid member id"},
    "pended": {"reason": "Records requested"},
    "paid": PAYMENT,
}


async def denied_claim(client: Any, org: Any, **denial: Any) -> dict[str, Any]:
    claim = await new_claim(client, org)
    assert (await move(client, org, claim["id"], "accepted")).status_code == 200
    response = await move(client, org, claim["id"], "denied", **{**DENIAL, **denial})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_claim_is_submitted_accepted_pended_and_paid(client: Any, insured: Any) -> None:
    claim = await new_claim(client, insured)
    assert claim["status"] == "submitted"
    assert claim["claim_number"].startswith("CLM-")
    assert claim["service_to"] == claim["service_from"]
    assert claim["billed_amount"] == "250.00"
    assert claim["paid_amount"] is None
    cid = claim["id"]

    accepted = await move(client, insured, cid, "accepted", payer_claim_number="ICN2026000123")
    assert accepted.json()["payer_claim_number"] == "ICN2026000123"
    pended = await move(client, insured, cid, "pended", reason="Payer asked for the operative report")
    assert pended.status_code == 200, pended.text
    paid = await move(client, insured, cid, "paid", carc_codes=["co-45", "PR-2"], **PAYMENT)
    assert paid.status_code == 200, paid.text
    body = paid.json()
    assert (body["status"], body["allowed_amount"], body["paid_amount"]) == ("paid", "180.00", "150.00")
    assert body["patient_responsibility"] == "30.00"
    assert body["carc_codes"] == ["CO-45", "PR-2"]
    assert body["remittance_date"] == today().isoformat()
    assert body["adjudicated_at"] is not None
    read = (await client.get(f"{CLAIMS}/{cid}", headers=insured.headers)).json()
    assert read == body

    history = (await client.get(f"{CLAIMS}/{cid}/transitions", headers=insured.headers)).json()
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "submitted"),
        ("submitted", "accepted"),
        ("accepted", "pended"),
        ("pended", "paid"),
    ]
    assert history[2]["reason"] == "Payer asked for the operative report"
    assert [h["paid_amount"] for h in history] == [None, None, None, "150.00"]
    assert history[-1]["carc_codes"] == ["CO-45", "PR-2"]
    assert history[-1]["payer_claim_number"] == "ICN2026000123"
    assert {h["actor_id"] for h in history} == {str(insured.owner_id)}


async def test_a_rejected_claim_is_corrected_resubmitted_and_then_denied(client: Any, insured: Any) -> None:
    claim = await new_claim(client, insured, claim_number="PCN-1001")
    cid = claim["id"]
    rejected = await move(client, insured, cid, "rejected", reason="Invalid member id", rarc_codes=["MA130"])
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status_reason"] == "Invalid member id"
    resubmitted = await move(client, insured, cid, "submitted", billed_amount="240.00")
    assert resubmitted.status_code == 200, resubmitted.text
    assert (resubmitted.json()["billed_amount"], resubmitted.json()["rarc_codes"]) == ("240.00", [])
    await move(client, insured, cid, "accepted")
    denied = (await move(client, insured, cid, "denied", remittance_date="2026-01-15", **DENIAL)).json()
    assert (denied["status"], denied["paid_amount"], denied["allowed_amount"]) == ("denied", "0.00", "0.00")
    assert (denied["denial_reason"], denied["carc_codes"], denied["rarc_codes"]) == (
        "Not medically necessary",
        ["CO-50"],
        ["N115"],
    )
    assert denied["remittance_date"] == "2026-01-15"
    history = (await client.get(f"{CLAIMS}/{cid}/transitions", headers=insured.headers)).json()
    assert [h["to_status"] for h in history] == ["submitted", "rejected", "submitted", "accepted", "denied"]
    assert [h["billed_amount"] for h in history] == ["250.00", "250.00", "240.00", "240.00", "240.00"]
    voided = await move(client, insured, cid, "voided", reason="Replaced by a corrected claim")
    assert voided.json()["carc_codes"] == ["CO-50"]  # a void keeps what the payer said
    assert (await move(client, insured, cid, "submitted")).status_code == 409


@pytest.mark.parametrize(
    ("path", "to", "hint"),
    [
        ([], "paid", None),
        ([], "denied", None),
        (["accepted"], "submitted", None),
        (["accepted", "denied"], "accepted", "appeal"),
        (["accepted", "denied"], "paid", "appeal"),
        (["voided"], "accepted", None),
    ],
)
async def test_illegal_moves_are_409_naming_both_statuses_and_change_nothing(
    client: Any, insured: Any, path: list[str], to: str, hint: str | None
) -> None:
    claim = await new_claim(client, insured)
    for step in path:
        assert (await move(client, insured, claim["id"], step, **STEP_EXTRA.get(step, {}))).status_code == 200
    current = path[-1] if path else "submitted"
    refused = await move(client, insured, claim["id"], to, **{**DENIAL, **STEP_EXTRA.get(to, {})})
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    body = refused.json()
    assert (body["current_status"], body["requested_status"]) == (current, to)
    if hint:
        assert hint in body["detail"]
    history = (await client.get(f"{CLAIMS}/{claim['id']}/transitions", headers=insured.headers)).json()
    assert len(history) == 1 + len(path)


@pytest.mark.parametrize(
    ("to", "extra", "keys"),
    [
        ("denied", {}, ["reason", "carc_codes"]),
        ("denied", {"reason": "r", "carc_codes": ["XX-9"], "rarc_codes": ["Q1"]}, ["carc_codes", "rarc_codes"]),
        ("denied", {**DENIAL, "paid_amount": "10.00"}, ["paid_amount"]),
        ("paid", {}, ["allowed_amount", "paid_amount"]),
        ("paid", {"allowed_amount": "180.00", "paid_amount": "190.00"}, ["paid_amount"]),
        ("paid", {"allowed_amount": "300.00", "paid_amount": "100.00"}, ["allowed_amount"]),
        ("paid", {"allowed_amount": "100.00", "paid_amount": "-1"}, ["paid_amount"]),
        ("paid", {"allowed_amount": "100.001", "paid_amount": "100"}, ["allowed_amount"]),
        ("paid", {**PAYMENT, "patient_responsibility": "120.00"}, ["patient_responsibility"]),
        ("paid", {**PAYMENT, "remittance_date": "2999-01-01"}, ["remittance_date"]),
        ("pended", {}, ["reason"]),
        ("pended", {"reason": "r", "paid_amount": "1.00"}, ["paid_amount"]),
        ("voided", {"reason": "r", "billed_amount": "1.00"}, ["billed_amount"]),
    ],
)
async def test_a_move_that_breaks_a_rule_is_422_naming_each_field(
    client: Any, insured: Any, to: str, extra: dict[str, Any], keys: list[str]
) -> None:
    claim = await new_claim(client, insured)
    await move(client, insured, claim["id"], "accepted")
    refused = await move(client, insured, claim["id"], to, **extra)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [e["key"] for e in refused.json()["errors"]] == keys
    assert (await client.get(f"{CLAIMS}/{claim['id']}", headers=insured.headers)).json()["status"] == "accepted"


async def test_a_bad_claim_is_refused_naming_the_field(client: Any, insured: Any, other_org: Any) -> None:
    coverage = await new_coverage(client, insured)
    base = {
        "patient_id": coverage["patient_id"],
        "coverage_id": coverage["id"],
        "service_from": "2026-02-10",
        "billed_amount": "100.00",
    }
    someone_else = await create_patient(client, insured)
    await enable_module(client, other_org, "insurance")
    theirs = await create_patient(client, other_org)
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    for change, status, key in [
        ({"service_to": "2026-02-09"}, 422, "service_to"),
        ({"billed_amount": "-5"}, 422, "billed_amount"),
        ({"submitted_at": future}, 422, "submitted_at"),
        ({"service_from": (today() + timedelta(days=5)).isoformat()}, 422, "service_from"),
        ({"coverage_id": str(uuid.uuid4())}, 422, "coverage_id"),
        ({"patient_id": someone_else["id"]}, 422, "coverage_id"),
        ({"patient_id": theirs["id"]}, 422, "patient_id"),
        ({"appointment_id": str(uuid.uuid4())}, 422, "appointment_id"),
        ({"authorization_id": str(uuid.uuid4())}, 422, "authorization_id"),
        ({"billed_amount": "lots"}, 400, None),
        ({"claim_number": "has spaces"}, 400, None),
        ({"surprise": 1}, 400, None),
    ]:
        response = await client.post(CLAIMS, headers=insured.headers, json={**base, **change})
        assert response.status_code == status, (change, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        if key:
            assert [e["key"] for e in response.json()["errors"]] == [key], change
    first = await client.post(CLAIMS, headers=insured.headers, json={**base, "claim_number": "PCN-77"})
    assert first.status_code == 201
    again = await client.post(CLAIMS, headers=insured.headers, json={**base, "claim_number": "pcn-77"})
    assert again.status_code == 409


async def appointment(client: Any, org: Any, patient_id: str) -> str:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
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


async def authorization(owner_db: Any, org: Any, coverage: dict[str, Any], **row: Any) -> str:
    """A decided prior authorization (written directly: the payer exchange is not under test here)."""
    values = {"decision": "not_certified", "decided_at": datetime(2026, 3, 2, 15, tzinfo=UTC), **row}
    found = await owner_db.fetchval(
        "insert into prior_authorizations (tenant_id, patient_id, coverage_id, urgency, status, decision, "
        "submitted_at, decided_at) values ($1, $2, $3, 'standard', 'decided', $4, $5, $5) returning id",
        org.tenant_id,
        uuid.UUID(coverage["patient_id"]),
        uuid.UUID(coverage["id"]),
        values["decision"],
        values["decided_at"],
    )
    return str(found)


async def test_a_claim_names_the_visit_and_the_authorization_of_its_patient(
    client: Any, insured: Any, owner_db: Any
) -> None:
    coverage = await new_coverage(client, insured)
    approved = await authorization(owner_db, insured, coverage, decision="certified")
    visit = await appointment(client, insured, coverage["patient_id"])
    claim = await new_claim(client, insured, coverage=coverage, authorization_id=approved, appointment_id=visit)
    assert (claim["authorization_id"], claim["appointment_id"]) == (approved, visit)
    listed = await client.get(CLAIMS, headers=insured.headers, params={"authorization_id": approved})
    assert [c["id"] for c in listed.json()] == [claim["id"]]
    other = await create_patient(client, insured)
    elsewhere = await appointment(client, insured, other["id"])
    refused = await client.post(
        CLAIMS,
        headers=insured.headers,
        json={
            "patient_id": coverage["patient_id"],
            "coverage_id": coverage["id"],
            "appointment_id": elsewhere,
            "service_from": "2026-02-02",
            "billed_amount": "10",
        },
    )
    assert refused.status_code == 422
    message = "the appointment belongs to another patient"
    assert refused.json()["errors"] == [{"key": "appointment_id", "message": message}]


async def test_lists_filter_by_status_patient_coverage_and_authorization(client: Any, insured: Any) -> None:
    patient = await create_patient(client, insured)
    primary = await new_coverage(client, insured, patient["id"])
    secondary = await new_coverage(client, insured, patient["id"], order="secondary")
    first = await new_claim(client, insured, coverage=primary)
    second = await new_claim(client, insured, coverage=secondary)
    await move(client, insured, second["id"], "accepted")

    async def ids(**params: Any) -> list[str]:
        response = await client.get(CLAIMS, headers=insured.headers, params={"patient_id": patient["id"], **params})
        assert response.status_code == 200, response.text
        return sorted(c["id"] for c in response.json())

    assert await ids() == sorted([first["id"], second["id"]])
    assert await ids(status="accepted") == [second["id"]]
    assert await ids(status=["accepted", "submitted"]) == sorted([first["id"], second["id"]])
    assert await ids(coverage_id=first["coverage_id"]) == [first["id"]]
    assert await ids(authorization_id=str(uuid.uuid4())) == []
    assert (await client.get(CLAIMS, headers=insured.headers, params={"status": "lost"})).status_code == 400


async def test_documents_of_a_claim(client: Any, insured: Any) -> None:
    claim = await new_claim(client, insured)
    base = f"{CLAIMS}/{claim['id']}/documents"
    pdf = await client.post(
        base, headers=insured.headers, params={"kind": "letter"}, files={"data": ("eob.pdf", PDF, "application/pdf")}
    )
    assert pdf.status_code == 201, pdf.text
    assert (pdf.json()["kind"], pdf.json()["content_type"], pdf.json()["size"]) == (
        "letter",
        "application/pdf",
        len(PDF),
    )
    png = await client.post(base, headers=insured.headers, files={"data": ("scan.png", PNG, "image/png")})
    assert png.status_code == 201, png.text
    fake = await client.post(base, headers=insured.headers, files={"data": ("x.pdf", b"MZ\x90\x00", "application/pdf")})
    assert fake.status_code == 422
    assert fake.json()["errors"][0]["key"] == "data"
    listed = (await client.get(base, headers=insured.headers)).json()
    assert [d["filename"] for d in listed] == ["eob.pdf", "scan.png"]
    download = await client.get(f"{base}/{pdf.json()['id']}", headers=insured.headers)
    assert (download.status_code, download.content) == (200, PDF)
    assert download.headers["content-type"].startswith("application/pdf")
    missing = await client.post(
        f"{CLAIMS}/{uuid.uuid4()}/documents", headers=insured.headers, files={"data": ("a.pdf", PDF, "application/pdf")}
    )
    assert missing.status_code == 404


RECOVERED = {"overturned": {"amount_recovered": "90.00"}}


async def test_summary_counts_statuses_denials_and_appeal_outcomes(client: Any, org: Any) -> None:
    await enable_module(client, org, "insurance")  # a fresh organization: only this test's claims
    paid = await new_claim(client, org)
    await move(client, org, paid["id"], "accepted")
    await move(client, org, paid["id"], "paid", **PAYMENT)
    denied = [await denied_claim(client, org) for _ in range(2)]
    await new_claim(client, org)
    for claim, outcome in zip(denied, ["overturned", "upheld"], strict=True):
        appeal = (
            await client.post(APPEALS, headers=org.headers, json={"claim_id": claim["id"], "arguments": "Necessary"})
        ).json()
        await client.post(f"{APPEALS}/{appeal['id']}/transitions", headers=org.headers, json={"to": "submitted"})
        decided = await client.post(
            f"{APPEALS}/{appeal['id']}/transitions",
            headers=org.headers,
            json={
                "to": "decided",
                "outcome": outcome,
                **({"amount_recovered": "90.00"} if outcome == "overturned" else {}),
            },
        )
        assert decided.status_code == 200, decided.text
    overturned = denied[0]["id"]
    assert (await move(client, org, overturned, "paid", allowed_amount="200", paid_amount="90")).status_code == 200

    summary = await client.get(f"{CLAIMS}/summary", headers=org.headers)
    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert body["to_date"] == today().isoformat()
    assert body["submitted"] == 4
    assert body["by_status"] == {
        "submitted": 1, "accepted": 0, "rejected": 0, "pended": 0, "paid": 2, "denied": 1, "voided": 0,
    }  # fmt: skip
    # first adjudications only: the claim paid after its appeal still counts as a denial
    assert (body["adjudicated"], body["denied"]) == (3, 2)
    assert body["denial_rate"] == pytest.approx(2 / 3)
    assert (body["billed_amount"], body["paid_amount"]) == ("750.00", "240.00")
    assert body["appeals"] == {
        "decided": 2,
        "overturned": 1,
        "partially_overturned": 0,
        "upheld": 1,
        "overturn_rate": 0.5,
        "amount_recovered": "90.00",
    }
    old = await client.get(f"{CLAIMS}/summary", headers=org.headers, params={"from": "2020-01-01", "to": "2020-01-31"})
    assert old.json()["submitted"] == 0
    assert old.json()["denial_rate"] is None
    assert old.json()["appeals"]["overturn_rate"] is None
    backwards = await client.get(
        f"{CLAIMS}/summary", headers=org.headers, params={"from": "2026-02-01", "to": "2026-01-01"}
    )
    assert backwards.status_code == 422
    assert backwards.json()["errors"][0]["key"] == "from"
    too_long = await client.get(
        f"{CLAIMS}/summary", headers=org.headers, params={"from": "2020-01-01", "to": "2026-01-01"}
    )
    assert too_long.status_code == 422


async def test_roles_and_audit_with_the_patient(client: Any, insured: Any, owner_db: Any) -> None:
    viewer = await add_user(client, insured, "viewer")
    claim = await new_claim(client, insured)
    assert (await client.get(f"{CLAIMS}/{claim['id']}", headers=viewer)).status_code == 200
    assert (
        await client.post(f"{CLAIMS}/{claim['id']}/transitions", headers=viewer, json={"to": "accepted"})
    ).status_code == 403
    assert (await client.post(CLAIMS, headers=viewer, json={})).status_code == 403
    await move(client, insured, claim["id"], "accepted")
    await client.get(f"{CLAIMS}/{claim['id']}/transitions", headers=insured.headers)
    await client.get(CLAIMS, headers=insured.headers, params={"patient_id": claim["patient_id"]})
    events = await owner_db.fetch(
        "select action, details from audit_events where tenant_id = $1 and resource_id = $2 order by occurred_at",
        insured.tenant_id,
        uuid.UUID(claim["id"]),
    )
    assert [e["action"] for e in events] == [
        "insurance.claim_create",
        "insurance.claim_read",
        "insurance.claim_accepted",
        "insurance.claim_history",
    ]
    assert {json.loads(e["details"])["patient_id"] for e in events} == {claim["patient_id"]}
    listed = await owner_db.fetchval(
        "select details from audit_events where tenant_id = $1 and action = 'insurance.claim_list' "
        "order by occurred_at desc limit 1",
        insured.tenant_id,
    )
    assert json.loads(listed)["patient_id"] == claim["patient_id"]
    assert json.loads(listed)["ids"] == [claim["id"]]
