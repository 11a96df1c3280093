"""``/api/v1/insurance/payers`` and ``/coverages`` over HTTP: validation, history, cards, isolation."""

from __future__ import annotations

import uuid
from typing import Any

from core.testing.fixtures import create_patient, enable_module
from tests.insurance.conftest import INSURANCE, new_coverage, new_payer

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_payer_directory_checks_the_adapter_and_its_configuration(client: Any, insured: Any) -> None:
    payer = await new_payer(client, insured, phone="+1 555 0100", adapter_secrets={"password": "s3cret"})
    assert payer["adapter"] == "demo"
    assert payer["secrets_set"] == ["password"]
    assert "s3cret" not in str(payer)
    unknown = await client.post(
        f"{INSURANCE}/payers", headers=insured.headers, json={"name": "X", "payer_code": "X1", "adapter": "nope"}
    )
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["errors"][0]["key"] == "adapter"
    configured = await client.post(
        f"{INSURANCE}/payers",
        headers=insured.headers,
        json={"name": "X", "payer_code": "X2", "adapter": "demo", "adapter_config": {"endpoint": "x"}},
    )
    assert configured.status_code == 422, configured.text
    duplicate = await client.post(
        f"{INSURANCE}/payers",
        headers=insured.headers,
        json={"name": "Again", "payer_code": payer["payer_code"].lower(), "adapter": "demo"},
    )
    assert duplicate.status_code == 409, duplicate.text
    adapters = (await client.get(f"{INSURANCE}/payer-adapters", headers=insured.headers)).json()
    assert {"demo"} <= {a["name"] for a in adapters}
    retired = await client.patch(f"{INSURANCE}/payers/{payer['id']}", headers=insured.headers, json={"active": False})
    assert retired.json()["active"] is False
    listed = (await client.get(f"{INSURANCE}/payers", headers=insured.headers)).json()
    assert payer["id"] not in {p["id"] for p in listed}


async def test_coverage_is_validated_and_one_per_order_at_a_time(client: Any, insured: Any) -> None:
    patient = await create_patient(client, insured)
    coverage = await new_coverage(client, insured, patient["id"])
    assert coverage["order"] == "primary"
    assert coverage["eligibility"]["status"] == "queued"
    assert coverage["eligibility"]["stale"] is True

    payer_id = coverage["payer"]["id"]
    base = {"patient_id": patient["id"], "payer_id": payer_id, "effective_from": "2026-01-01"}
    for body, key in [
        ({**base, "member_id": "bad id!"}, "member_id"),
        ({**base, "member_id": "W1", "effective_to": "2025-01-01"}, None),
        ({**base, "member_id": "W12", "relationship": "child"}, None),
        ({**base, "member_id": "W12", "order": "fourth"}, "order"),
        ({**base, "member_id": "W12", "payer_id": str(uuid.uuid4())}, "payer_id"),
        ({**base, "member_id": "W12", "patient_id": str(uuid.uuid4())}, "patient_id"),
    ]:
        response = await client.post(f"{INSURANCE}/coverages", headers=insured.headers, json=body)
        assert response.status_code in (400, 422), (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        if key and response.status_code == 422:
            assert key in str(response.json()), response.text

    overlap = await client.post(
        f"{INSURANCE}/coverages", headers=insured.headers, json={**base, "member_id": "W777", "order": "primary"}
    )
    assert overlap.status_code == 409, overlap.text
    assert overlap.json()["conflicting_coverage_id"] == coverage["id"]
    spouse = {"relationship": "spouse", "subscriber": {"given_name": "Ann", "family_name": "Lee"}}
    secondary = await new_coverage(client, insured, patient["id"], order="secondary", payer_id=payer_id, **spouse)
    params = {"patient_id": patient["id"]}
    listed = (await client.get(f"{INSURANCE}/coverages", headers=insured.headers, params=params)).json()
    assert [c["id"] for c in listed] == [coverage["id"], secondary["id"]]


async def test_every_change_is_in_the_history(client: Any, insured: Any) -> None:
    coverage = await new_coverage(client, insured)
    url = f"{INSURANCE}/coverages/{coverage['id']}"
    changed = await client.patch(url, headers=insured.headers, json={"plan_name": "Silver HMO", "group_number": None})
    assert changed.status_code == 200, changed.text
    assert changed.json()["plan_name"] == "Silver HMO"
    bad = await client.patch(url, headers=insured.headers, json={"relationship": "child"})
    assert bad.status_code == 422, bad.text
    assert bad.json()["errors"][0]["key"] == "subscriber"
    retired = await client.delete(url, headers=insured.headers)
    assert retired.status_code == 200
    assert retired.json()["retired_at"] is not None
    assert (await client.patch(url, headers=insured.headers, json={"plan_name": "X"})).status_code == 422
    history = (await client.get(f"{url}/history", headers=insured.headers)).json()
    assert [h["action"] for h in history] == ["created", "updated", "retired"]
    assert history[1]["changes"] == {"plan_name": ["Gold PPO", "Silver HMO"], "group_number": ["GRP-100", None]}
    assert history[1]["actor_type"] == "user"


async def test_card_images_are_checked_and_kept(client: Any, insured: Any) -> None:
    coverage = await new_coverage(client, insured)
    url = f"{INSURANCE}/coverages/{coverage['id']}/documents"
    uploaded = await client.post(
        url, headers=insured.headers, params={"kind": "card_front"}, files={"data": ("front.png", PNG, "image/png")}
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["kind"] == "card_front"
    fake = await client.post(url, headers=insured.headers, files={"data": ("x.png", b"MZ\x90\x00", "image/png")})
    assert fake.status_code == 422, fake.text
    listed = (await client.get(url, headers=insured.headers)).json()
    assert [d["filename"] for d in listed] == ["front.png"]
    body = await client.get(f"{url}/{listed[0]['id']}", headers=insured.headers)
    assert body.content == PNG


async def test_another_organization_sees_nothing_and_a_disabled_module_answers_404(
    client: Any, insured: Any, other_org: Any
) -> None:
    coverage = await new_coverage(client, insured)
    cid, payer_id = coverage["id"], coverage["payer"]["id"]
    await enable_module(client, other_org, "insurance")
    probes = [
        ("get", f"/coverages/{cid}", None),
        ("patch", f"/coverages/{cid}", {"plan_name": "Stolen"}),
        ("delete", f"/coverages/{cid}", None),
        ("get", f"/coverages/{cid}/history", None),
        ("get", f"/coverages/{cid}/documents", None),
        ("get", f"/coverages/{cid}/eligibility-checks", None),
        ("post", f"/coverages/{cid}/eligibility-checks", {}),
        ("get", f"/payers/{payer_id}", None),
        ("patch", f"/payers/{payer_id}", {"name": "Mine"}),
    ]
    for method, path, body in probes:
        kwargs: dict[str, Any] = {"headers": other_org.headers}
        if body is not None:
            kwargs["json"] = body
        response = await getattr(client, method)(f"{INSURANCE}{path}", **kwargs)
        assert response.status_code == 404, (method, path, response.text)
    foreign = await client.get(
        f"{INSURANCE}/coverages", headers=other_org.headers, params={"patient_id": coverage["patient_id"]}
    )
    assert foreign.status_code == 404
    await client.put("/api/v1/admin/modules/insurance", headers=insured.headers, json={"enabled": False})
    off = await client.get(f"{INSURANCE}/coverages/{cid}", headers=insured.headers)
    assert off.status_code == 404, off.text
