"""Patient records over HTTP: create, read, partial update, soft delete, contacts and consents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
from litestar.testing import AsyncTestClient

from tests.conftest import Org, create_patient, patient_body

PATIENTS = "/api/v1/patients"


def full_body(**overrides: Any) -> dict[str, Any]:
    """A patient with every optional field filled in."""
    return patient_body(
        given_name="Grace",
        family_name="Hopper",
        birth_date="1946-12-09",
        sex="female",
        phone="+1 (555) 301-0202",
        email="grace.hopper@example.org",
        address={
            "line": ["12 Harbour Road", "Flat 3"],
            "city": "Arlington",
            "state": "VA",
            "postal_code": "22201",
            "country": "US",
        },
        communication={
            "channels": ["sms", "email"],
            "language": "es-MX",
            "interpreter_needed": True,
            "quiet_hours_start": "21:00:00",
            "quiet_hours_end": "07:30:00",
            "time_zone": "America/Chicago",
        },
        **overrides,
    )


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


async def search_ids(client: AsyncTestClient[Any], org: Org, **params: Any) -> list[str]:
    response = await client.get(PATIENTS, headers=org.headers, params=params)
    assert response.status_code == 200, response.text
    return [p["id"] for p in response.json()["items"]]


async def add_contact(client: AsyncTestClient[Any], org: Org, patient_id: str, **overrides: Any) -> dict[str, Any]:
    body = {"name": "Alan Turing", "relationship": "caregiver", "phone": "+44 20 7946 0001", **overrides}
    response = await client.post(f"{PATIENTS}/{patient_id}/contacts", headers=org.headers, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def grant(client: AsyncTestClient[Any], org: Org, patient_id: str, **body: Any) -> httpx.Response:
    return await client.post(f"{PATIENTS}/{patient_id}/consents", headers=org.headers, json=body)


async def consents_by_id(client: AsyncTestClient[Any], org: Org, patient_id: str) -> dict[str, dict[str, Any]]:
    response = await client.get(f"{PATIENTS}/{patient_id}/consents", headers=org.headers)
    assert response.status_code == 200, response.text
    return {c["id"]: c for c in response.json()}


# -- create and read ---------------------------------------------------------------------------------


async def test_create_echoes_every_field_and_read_returns_the_same(client: AsyncTestClient[Any], org: Org) -> None:
    body = full_body()
    created = await client.post(PATIENTS, headers=org.headers, json=body)
    assert created.status_code == 201, created.text
    patient = created.json()
    for field in ("mrn", "given_name", "family_name", "birth_date", "sex", "phone", "email"):
        assert patient[field] == body[field], field
    assert patient["address"] == body["address"]
    assert patient["communication"] == body["communication"]
    assert patient["created_at"]
    assert patient["updated_at"]
    assert "tenant_id" not in patient
    assert "deleted_at" not in patient

    read = await client.get(f"{PATIENTS}/{patient['id']}", headers=org.headers)
    assert read.status_code == 200, read.text
    assert read.json() == patient


async def test_minimal_patient_gets_default_preferences(client: AsyncTestClient[Any], org: Org) -> None:
    patient = await create_patient(client, org, phone=None)
    assert patient["phone"] is None
    assert patient["email"] is None
    assert patient["address"] is None
    assert patient["communication"] == {
        "channels": [],
        "language": None,
        "interpreter_needed": False,
        "quiet_hours_start": None,
        "quiet_hours_end": None,
        "time_zone": None,
    }


# -- partial update ----------------------------------------------------------------------------------


async def test_patch_changes_only_the_given_fields(client: AsyncTestClient[Any], org: Org) -> None:
    before = (await client.post(PATIENTS, headers=org.headers, json=full_body())).json()

    response = await client.patch(
        f"{PATIENTS}/{before['id']}", headers=org.headers, json={"given_name": "Amazing Grace"}
    )
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["given_name"] == "Amazing Grace"
    unchanged = {k: v for k, v in after.items() if k not in ("given_name", "updated_at")}
    assert unchanged == {k: v for k, v in before.items() if k not in ("given_name", "updated_at")}
    assert datetime.fromisoformat(after["updated_at"]) > datetime.fromisoformat(before["updated_at"])

    read = (await client.get(f"{PATIENTS}/{before['id']}", headers=org.headers)).json()
    assert read == after


async def test_patch_replaces_communication_preferences_as_a_whole(client: AsyncTestClient[Any], org: Org) -> None:
    before = (await client.post(PATIENTS, headers=org.headers, json=full_body())).json()
    new_prefs = {"channels": ["voice"], "language": "vi", "time_zone": "Asia/Ho_Chi_Minh"}
    response = await client.patch(f"{PATIENTS}/{before['id']}", headers=org.headers, json={"communication": new_prefs})
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["communication"] == {
        **new_prefs,
        "interpreter_needed": False,
        "quiet_hours_start": None,
        "quiet_hours_end": None,
    }
    assert after["address"] == before["address"]
    assert after["phone"] == before["phone"]


async def test_patch_null_clears_optional_fields(client: AsyncTestClient[Any], org: Org) -> None:
    before = (await client.post(PATIENTS, headers=org.headers, json=full_body())).json()
    response = await client.patch(
        f"{PATIENTS}/{before['id']}", headers=org.headers, json={"phone": None, "email": None, "address": None}
    )
    assert response.status_code == 200, response.text
    after = (await client.get(f"{PATIENTS}/{before['id']}", headers=org.headers)).json()
    assert after["phone"] is None
    assert after["email"] is None
    assert after["address"] is None
    assert after["sex"] == "female"
    assert after["communication"] == before["communication"]


async def test_patch_null_on_a_required_field_is_rejected(client: AsyncTestClient[Any], org: Org) -> None:
    patient = await create_patient(client, org)
    response = await client.patch(f"{PATIENTS}/{patient['id']}", headers=org.headers, json={"family_name": None})
    assert_problem(response, 400)
    read = (await client.get(f"{PATIENTS}/{patient['id']}", headers=org.headers)).json()
    assert read["family_name"] == patient["family_name"]


async def test_phone_change_moves_the_patient_in_phone_search(client: AsyncTestClient[Any], org: Org) -> None:
    patient = await create_patient(client, org, phone="+1 (555) 401-0001")
    assert await search_ids(client, org, phone="15554010001") == [patient["id"]]

    response = await client.patch(f"{PATIENTS}/{patient['id']}", headers=org.headers, json={"phone": "555.401.9999"})
    assert response.status_code == 200, response.text
    assert await search_ids(client, org, phone="15554010001") == []
    assert await search_ids(client, org, phone="(555) 401-9999") == [patient["id"]]
    assert await search_ids(client, org, q="5554019999") == [patient["id"]]

    await client.patch(f"{PATIENTS}/{patient['id']}", headers=org.headers, json={"phone": None})
    assert await search_ids(client, org, phone="5554019999") == []


# -- soft delete -------------------------------------------------------------------------------------


async def test_soft_deleted_patient_is_gone_from_every_route(client: AsyncTestClient[Any], org: Org) -> None:
    patient = await create_patient(client, org, family_name="Deletable", phone="+1 555 402 0001")
    url = f"{PATIENTS}/{patient['id']}"

    deleted = await client.delete(url, headers=org.headers)
    assert deleted.status_code == 204, deleted.text
    assert deleted.content == b""

    assert_problem(await client.get(url, headers=org.headers), 404)
    assert_problem(await client.patch(url, headers=org.headers, json={"given_name": "Back"}), 404)
    assert_problem(await client.delete(url, headers=org.headers), 404)
    assert_problem(await client.get(f"{url}/contacts", headers=org.headers), 404)
    assert_problem(await client.get(f"{url}/consents", headers=org.headers), 404)
    assert await search_ids(client, org) == []
    assert await search_ids(client, org, q="deletable") == []
    assert await search_ids(client, org, mrn=patient["mrn"]) == []
    assert await search_ids(client, org, phone="15554020001") == []


async def test_deleted_looks_like_a_random_id(client: AsyncTestClient[Any], org: Org) -> None:
    patient = await create_patient(client, org)
    await client.delete(f"{PATIENTS}/{patient['id']}", headers=org.headers)
    gone = assert_problem(await client.get(f"{PATIENTS}/{patient['id']}", headers=org.headers), 404)
    never = assert_problem(await client.get(f"{PATIENTS}/{uuid4()}", headers=org.headers), 404)
    assert gone == never


# -- MRN uniqueness ----------------------------------------------------------------------------------


async def test_duplicate_mrn_in_one_tenant_is_409(client: AsyncTestClient[Any], org: Org) -> None:
    first = await create_patient(client, org)
    again = await client.post(PATIENTS, headers=org.headers, json=patient_body(mrn=first["mrn"], given_name="Other"))
    body = assert_problem(again, 409)
    assert "SQL" not in body["detail"]
    assert "patients_tenant_mrn" not in again.text

    second = await create_patient(client, org)
    clash = await client.patch(f"{PATIENTS}/{second['id']}", headers=org.headers, json={"mrn": first["mrn"]})
    assert_problem(clash, 409)
    assert (await client.get(f"{PATIENTS}/{second['id']}", headers=org.headers)).json()["mrn"] == second["mrn"]
    assert sorted(await search_ids(client, org)) == sorted([first["id"], second["id"]])


async def test_same_mrn_in_two_tenants_is_allowed(client: AsyncTestClient[Any], org: Org, other_org: Org) -> None:
    mine = await create_patient(client, org)
    theirs = await create_patient(client, other_org, mrn=mine["mrn"])
    assert theirs["id"] != mine["id"]
    assert await search_ids(client, org, mrn=mine["mrn"]) == [mine["id"]]
    assert await search_ids(client, other_org, mrn=mine["mrn"]) == [theirs["id"]]


# -- contacts ----------------------------------------------------------------------------------------


async def test_contacts_add_list_update_remove(client: AsyncTestClient[Any], org: Org) -> None:
    patient = await create_patient(client, org)
    contacts_url = f"{PATIENTS}/{patient['id']}/contacts"
    daughter = await add_contact(
        client,
        org,
        patient["id"],
        name="Ada Byron",
        relationship="child",
        email="ada@example.org",
        may_receive=["care_updates", "appointment_reminders", "care_updates"],
        is_emergency_contact=True,
    )
    assert daughter["patient_id"] == patient["id"]
    assert daughter["relationship"] == "child"
    assert daughter["is_emergency_contact"] is True
    assert daughter["may_receive"] == ["appointment_reminders", "care_updates"]  # de-duplicated, sorted
    neighbour = await add_contact(client, org, patient["id"], name="Neighbour", relationship="friend")
    assert neighbour["may_receive"] == []
    assert neighbour["is_emergency_contact"] is False

    listed = (await client.get(contacts_url, headers=org.headers)).json()
    assert [c["id"] for c in listed] == [daughter["id"], neighbour["id"]]

    changed = await client.patch(
        f"{contacts_url}/{daughter['id']}", headers=org.headers, json={"phone": "+1 555 403 0001", "email": None}
    )
    assert changed.status_code == 200, changed.text
    updated = changed.json()
    assert updated["phone"] == "+1 555 403 0001"
    assert updated["email"] is None
    assert updated["name"] == "Ada Byron"
    assert updated["may_receive"] == daughter["may_receive"]

    removed = await client.delete(f"{contacts_url}/{neighbour['id']}", headers=org.headers)
    assert removed.status_code == 204, removed.text
    listed = (await client.get(contacts_url, headers=org.headers)).json()
    assert listed == [updated]
    assert_problem(await client.delete(f"{contacts_url}/{neighbour['id']}", headers=org.headers), 404)
    assert_problem(
        await client.patch(f"{contacts_url}/{neighbour['id']}", headers=org.headers, json={"name": "X"}), 404
    )


async def test_contact_routes_refuse_another_patients_contact(client: AsyncTestClient[Any], org: Org) -> None:
    patient, other = await create_patient(client, org), await create_patient(client, org)
    contact = await add_contact(client, org, other["id"])
    url = f"{PATIENTS}/{patient['id']}/contacts/{contact['id']}"
    assert_problem(await client.patch(url, headers=org.headers, json={"name": "Mallory"}), 404)
    assert_problem(await client.delete(url, headers=org.headers), 404)
    assert [c["id"] for c in (await client.get(f"{PATIENTS}/{other['id']}/contacts", headers=org.headers)).json()] == [
        contact["id"]
    ]


async def test_contact_with_bad_fields_is_a_problem(client: AsyncTestClient[Any], org: Org) -> None:
    patient = await create_patient(client, org)
    url = f"{PATIENTS}/{patient['id']}/contacts"
    for body in (
        {"name": "X", "relationship": "landlord"},
        {"name": "", "relationship": "friend"},
        {"name": "X", "relationship": "friend", "may_receive": ["everything"]},
        {"name": "X", "relationship": "friend", "phone": "call me"},
    ):
        assert_problem(await client.post(url, headers=org.headers, json=body), 400)
    assert (await client.get(url, headers=org.headers)).json() == []


async def test_removing_a_contact_revokes_its_sharing_consents(client: AsyncTestClient[Any], org: Org) -> None:
    patient = await create_patient(client, org)
    son, friend = await add_contact(client, org, patient["id"]), await add_contact(client, org, patient["id"])
    to_son = (await grant(client, org, patient["id"], kind="sharing", contact_id=son["id"])).json()
    to_friend = (await grant(client, org, patient["id"], kind="sharing", contact_id=friend["id"])).json()
    sms = (await grant(client, org, patient["id"], kind="channel", channel="sms")).json()
    assert to_son["active"]
    assert to_friend["active"]
    assert sms["active"]

    removed = await client.delete(f"{PATIENTS}/{patient['id']}/contacts/{son['id']}", headers=org.headers)
    assert removed.status_code == 204, removed.text

    consents = await consents_by_id(client, org, patient["id"])
    assert consents[to_son["id"]]["status"] == "revoked"
    assert consents[to_son["id"]]["active"] is False
    assert consents[to_son["id"]]["revoked_at"]
    assert consents[to_friend["id"]]["active"] is True
    assert consents[to_friend["id"]]["revoked_at"] is None
    assert consents[sms["id"]]["active"] is True
    again = await grant(client, org, patient["id"], kind="sharing", contact_id=son["id"])
    assert_problem(again, 422)


# -- consents ----------------------------------------------------------------------------------------


async def test_channel_consent_grant_and_revoke(client: AsyncTestClient[Any], org: Org) -> None:
    patient = await create_patient(client, org)
    response = await grant(client, org, patient["id"], kind="channel", channel="sms", note="said yes at intake")
    assert response.status_code == 201, response.text
    consent = response.json()
    assert consent["patient_id"] == patient["id"]
    assert (consent["kind"], consent["channel"], consent["contact_id"]) == ("channel", "sms", None)
    assert consent["status"] == "granted"
    assert consent["active"] is True
    assert consent["note"] == "said yes at intake"
    assert consent["revoked_at"] is None

    revoke_url = f"{PATIENTS}/{patient['id']}/consents/{consent['id']}/revoke"
    revoked = await client.post(revoke_url, headers=org.headers)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert revoked.json()["active"] is False
    assert revoked.json()["revoked_at"] is not None

    again = await client.post(revoke_url, headers=org.headers)
    assert again.status_code == 200
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    listed = await consents_by_id(client, org, patient["id"])
    assert listed[consent["id"]]["active"] is False
    assert_problem(await client.post(f"{PATIENTS}/{patient['id']}/consents/{uuid4()}/revoke", headers=org.headers), 404)


async def test_sharing_consent_names_a_contact_of_this_patient(client: AsyncTestClient[Any], org: Org) -> None:
    patient, other = await create_patient(client, org), await create_patient(client, org)
    mine, theirs = await add_contact(client, org, patient["id"]), await add_contact(client, org, other["id"])

    ok = await grant(client, org, patient["id"], kind="sharing", contact_id=mine["id"])
    assert ok.status_code == 201, ok.text
    assert ok.json()["contact_id"] == mine["id"]
    assert ok.json()["channel"] is None
    assert ok.json()["active"]

    body = assert_problem(await grant(client, org, patient["id"], kind="sharing", contact_id=theirs["id"]), 422)
    assert body["errors"][0]["key"] == "contact_id"
    assert_problem(await grant(client, org, patient["id"], kind="sharing", contact_id=str(uuid4())), 422)
    assert list(await consents_by_id(client, org, patient["id"])) == [ok.json()["id"]]


async def test_expiry_decides_whether_a_consent_is_active(client: AsyncTestClient[Any], org: Org) -> None:
    patient = await create_patient(client, org)
    now = datetime.now(UTC)
    past, soon = (now - timedelta(hours=1)).isoformat(), (now + timedelta(days=30)).isoformat()
    expired = (await grant(client, org, patient["id"], kind="channel", channel="email", expires_at=past)).json()
    future = (await grant(client, org, patient["id"], kind="channel", channel="voice", expires_at=soon)).json()
    assert expired["status"] == "granted"
    assert expired["active"] is False
    assert future["active"] is True
    assert future["expires_at"] is not None
    listed = await consents_by_id(client, org, patient["id"])
    assert listed[expired["id"]]["active"] is False
    assert listed[future["id"]]["active"] is True


async def test_malformed_consents_are_problems(client: AsyncTestClient[Any], org: Org) -> None:
    patient = await create_patient(client, org)
    contact = await add_contact(client, org, patient["id"])
    bad_bodies: list[dict[str, Any]] = [
        {"kind": "channel"},
        {"kind": "channel", "channel": "sms", "contact_id": contact["id"]},
        {"kind": "sharing"},
        {"kind": "sharing", "channel": "sms"},
        {"kind": "channel", "channel": "pigeon"},
        {"kind": "marketing", "channel": "sms"},
        {"kind": "channel", "channel": "sms", "expires_at": "2030-01-01T00:00:00"},
        {"kind": "channel", "channel": "sms", "expires_at": "next week"},
    ]
    for body in bad_bodies:
        problem = assert_problem(await grant(client, org, patient["id"], **body), 400)
        assert problem["errors"][0]["message"], body  # a field-level message, not just "bad request"
    assert await consents_by_id(client, org, patient["id"]) == {}


async def test_consent_routes_on_a_missing_patient_are_404(client: AsyncTestClient[Any], org: Org) -> None:
    missing = uuid4()
    assert_problem(await grant(client, org, str(missing), kind="channel", channel="sms"), 404)
    assert_problem(await client.get(f"{PATIENTS}/{missing}/consents", headers=org.headers), 404)
    assert_problem(
        await client.post(
            f"{PATIENTS}/{missing}/contacts", headers=org.headers, json={"name": "X", "relationship": "friend"}
        ),
        404,
    )
