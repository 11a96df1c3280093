"""Two tenants over HTTP: neither can see, change or even detect the other's records.

Tenant A (``org``) owns a patient with a contact and a consent; tenant B
(``other_org``) tries every patient route on A's ids. Each attempt must answer
exactly what a random id answers, and A's records must stay as they were.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import Org, create_patient, login, patient_body

Client = AsyncTestClient[Any]

# The same request id on both requests of a comparison, so even that header matches.
REQUEST_ID = "isolation-probe-0001"
# Headers that legitimately differ from one response to the next.
VOLATILE_HEADERS = {"date"}


@dataclass
class Records:
    """A patient with one contact and one consent, all in one tenant."""

    patient: str
    contact: str
    consent: str


async def make_records(client: Client, org: Org, **patient: Any) -> Records:
    created = await create_patient(client, org, **patient)
    contact = await client.post(
        f"/api/v1/patients/{created['id']}/contacts",
        headers=org.headers,
        json={"name": "Grace Hopper", "relationship": "caregiver", "may_receive": ["care_updates"]},
    )
    assert contact.status_code == 201, contact.text
    consent = await client.post(
        f"/api/v1/patients/{created['id']}/consents",
        headers=org.headers,
        json={"kind": "sharing", "contact_id": contact.json()["id"], "note": "may hear about care"},
    )
    assert consent.status_code == 201, consent.text
    return Records(created["id"], contact.json()["id"], consent.json()["id"])


def random_records() -> Records:
    return Records(str(uuid4()), str(uuid4()), str(uuid4()))


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    """Template with ``{patient}``, ``{contact}`` and ``{consent}``."""
    body: dict[str, Any] | None = None

    def url(self, records: Records) -> str:
        return self.path.format(patient=records.patient, contact=records.contact, consent=records.consent)

    @property
    def has_child(self) -> bool:
        return "{contact}" in self.path or "{consent}" in self.path


PATIENT_ROUTES = [
    Route("GET", "/api/v1/patients/{patient}"),
    Route("PATCH", "/api/v1/patients/{patient}", {"given_name": "Mallory", "phone": "+1 555 666 0000"}),
    Route("DELETE", "/api/v1/patients/{patient}"),
    Route("GET", "/api/v1/patients/{patient}/contacts"),
    Route("POST", "/api/v1/patients/{patient}/contacts", {"name": "Eve", "relationship": "friend"}),
    Route("PATCH", "/api/v1/patients/{patient}/contacts/{contact}", {"name": "Eve", "may_receive": ["billing"]}),
    Route("DELETE", "/api/v1/patients/{patient}/contacts/{contact}"),
    Route("GET", "/api/v1/patients/{patient}/consents"),
    Route("POST", "/api/v1/patients/{patient}/consents", {"kind": "channel", "channel": "sms"}),
    Route("POST", "/api/v1/patients/{patient}/consents/{consent}/revoke"),
]
CHILD_ROUTES = [route for route in PATIENT_ROUTES if route.has_child]


def route_id(route: Route) -> str:
    return f"{route.method} {route.path}"


async def call(client: Client, org: Org, route: Route, records: Records) -> Any:
    return await client.request(
        route.method,
        route.url(records),
        headers={**org.headers, "X-Request-ID": REQUEST_ID},
        json=route.body,
    )


def comparable(response: Any, *probed: Records | str) -> tuple[int, dict[str, str], str]:
    """Status, headers and body with the probed ids masked (echoing the caller's own input is no leak)."""
    body = response.text
    for item in probed:
        for value in (item.patient, item.contact, item.consent) if isinstance(item, Records) else (item,):
            body = body.replace(value, "<id>")
    headers = {k.lower(): v for k, v in response.headers.items() if k.lower() not in VOLATILE_HEADERS}
    return response.status_code, headers, body


async def snapshot(client: Client, org: Org, records: Records) -> dict[str, Any]:
    """Everything ``org`` can read about ``records``, read as ``org``."""
    result: dict[str, Any] = {}
    for name, path in (
        ("patient", f"/api/v1/patients/{records.patient}"),
        ("contacts", f"/api/v1/patients/{records.patient}/contacts"),
        ("consents", f"/api/v1/patients/{records.patient}/consents"),
    ):
        response = await client.get(path, headers=org.headers)
        assert response.status_code == 200, response.text
        result[name] = response.json()
    return result


async def audit_items(client: Client, org: Org, **filters: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/audit-events", headers=org.headers, params=filters)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def list_all(client: Client, org: Org, **params: str) -> list[str]:
    """Patient ids of every page of a listing, following cursors."""
    ids: list[str] = []
    cursor: str | None = None
    while True:
        page_params = {**params, "limit": "2", **({"cursor": cursor} if cursor else {})}
        response = await client.get("/api/v1/patients", headers=org.headers, params=page_params)
        assert response.status_code == 200, response.text
        body = response.json()
        ids.extend(item["id"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return ids


async def tenant_of(owner_db: asyncpg.Connection, table: str, row_id: str) -> UUID:
    value = await owner_db.fetchval(f"select tenant_id from {table} where id = $1", UUID(row_id))
    assert value is not None, f"no {table} row {row_id}"
    return UUID(str(value))


async def carecoord(*args: str) -> str:
    """Run the real ``carecoord`` CLI in a subprocess with this session's environment."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "core.cli",
        *args,
        env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, f"carecoord {' '.join(args)} failed: {err.decode()}"
    return out.decode()


# -- every patient route on another tenant's ids ----------------------------------------------------


@pytest.mark.parametrize("route", PATIENT_ROUTES, ids=route_id)
async def test_other_tenants_ids_answer_exactly_like_random_ids(
    client: Client, org: Org, other_org: Org, route: Route
) -> None:
    a_records = await make_records(client, org)
    before = await snapshot(client, org, a_records)

    random_ids = random_records()

    foreign = await call(client, other_org, route, a_records)
    random = await call(client, other_org, route, random_ids)

    assert foreign.status_code == 404, foreign.text
    assert foreign.headers["content-type"] == "application/problem+json"
    assert comparable(foreign, a_records) == comparable(random, random_ids)
    assert await snapshot(client, org, a_records) == before
    assert await audit_items(client, org, actor_id=str(other_org.owner_id)) == []


@pytest.mark.parametrize("route", CHILD_ROUTES, ids=route_id)
async def test_other_tenants_child_ids_under_own_patient_answer_like_random_ids(
    client: Client, org: Org, other_org: Org, route: Route
) -> None:
    a_records = await make_records(client, org)
    b_records = await make_records(client, other_org)
    before = await snapshot(client, org, a_records)
    b_patient_with_a_children = Records(b_records.patient, a_records.contact, a_records.consent)
    b_patient_with_random_children = Records(b_records.patient, str(uuid4()), str(uuid4()))

    foreign = await call(client, other_org, route, b_patient_with_a_children)
    random = await call(client, other_org, route, b_patient_with_random_children)

    assert foreign.status_code == 404, foreign.text
    assert comparable(foreign, b_patient_with_a_children) == comparable(random, b_patient_with_random_children)
    assert await snapshot(client, org, a_records) == before


async def test_sharing_consent_cannot_name_another_tenants_contact(client: Client, org: Org, other_org: Org) -> None:
    a_records = await make_records(client, org)
    b_patient = await create_patient(client, other_org)

    random_ids = random_records()
    responses = [
        await client.post(
            f"/api/v1/patients/{b_patient['id']}/consents",
            headers={**other_org.headers, "X-Request-ID": REQUEST_ID},
            json={"kind": "sharing", "contact_id": ids.contact},
        )
        for ids in (a_records, random_ids)
    ]

    assert responses[0].status_code == 422, responses[0].text
    assert comparable(responses[0], a_records) == comparable(responses[1], random_ids)
    consents = await client.get(f"/api/v1/patients/{b_patient['id']}/consents", headers=other_org.headers)
    assert consents.json() == []


# -- listing and search -------------------------------------------------------------------------------


async def test_listing_and_search_never_return_another_tenants_rows(client: Client, org: Org, other_org: Org) -> None:
    unique = secrets.token_hex(3)
    family = f"Quixote{unique}"
    phone_digits = f"1555{secrets.randbelow(10**7):07d}"
    shared = {
        "mrn": f"MRN-SHARED-{unique}",
        "given_name": f"Alonso{unique}",
        "family_name": family,
        "birth_date": f"19{secrets.randbelow(90) + 10:02d}-02-{secrets.randbelow(28) + 1:02d}",
        "phone": f"+{phone_digits}",
    }
    a_patient = await create_patient(client, org, **shared)
    # B registers a look-alike: same MRN (unique per tenant only), name, birth date and phone.
    b_patient = await create_patient(client, other_org, **shared)
    dotted_phone = f"{phone_digits[:1]} ({phone_digits[1:4]}) {phone_digits[4:7]}-{phone_digits[7:]}"
    searches = [
        {"q": shared["mrn"]},
        {"mrn": shared["mrn"]},
        {"q": family[:9].lower()},
        {"name": family[:9]},
        {"q": f"{shared['given_name'][:4]} {family[:5]}"},
        {"q": shared["birth_date"]},
        {"birth_date": shared["birth_date"]},
        {"q": dotted_phone},
        {"phone": shared["phone"]},
        {},
    ]

    for params in searches:
        assert await list_all(client, other_org, **params) == [b_patient["id"]], params
        assert await list_all(client, org, **params) == [a_patient["id"]], params


async def test_search_audit_records_only_the_callers_rows(client: Client, org: Org, other_org: Org) -> None:
    a_patient = await create_patient(client, org, family_name="Audited")
    await create_patient(client, other_org, family_name="Audited")

    await client.get("/api/v1/patients", headers=other_org.headers, params={"q": "audited"})

    (event,) = await audit_items(client, other_org, action="patient.search")
    assert event["details"]["count"] == 1
    assert a_patient["id"] not in event["details"]["resource_ids"]


# -- a tenant_id in a body or header is ignored ------------------------------------------------------


async def test_tenant_id_in_a_body_is_ignored(
    client: Client, org: Org, other_org: Org, owner_db: asyncpg.Connection
) -> None:
    smuggled = {"tenant_id": str(org.tenant_id)}
    # B tries to plant records in A's tenant.
    b_patient = await create_patient(client, other_org, **smuggled)
    contact = await client.post(
        f"/api/v1/patients/{b_patient['id']}/contacts",
        headers=other_org.headers,
        json={"name": "Sancho", "relationship": "friend", **smuggled},
    )
    assert contact.status_code == 201, contact.text
    consent = await client.post(
        f"/api/v1/patients/{b_patient['id']}/consents",
        headers=other_org.headers,
        json={"kind": "channel", "channel": "email", **smuggled},
    )
    assert consent.status_code == 201, consent.text
    moved = await client.patch(
        f"/api/v1/patients/{b_patient['id']}", headers=other_org.headers, json={"given_name": "Moved", **smuggled}
    )
    assert moved.status_code == 200, moved.text
    assert "tenant_id" not in moved.json()

    assert await tenant_of(owner_db, "patients", b_patient["id"]) == other_org.tenant_id
    assert await tenant_of(owner_db, "patient_contacts", contact.json()["id"]) == other_org.tenant_id
    assert await tenant_of(owner_db, "patient_consents", consent.json()["id"]) == other_org.tenant_id

    b_records = Records(b_patient["id"], contact.json()["id"], consent.json()["id"])
    owner_view = await snapshot(client, other_org, b_records)
    assert owner_view["patient"]["given_name"] == "Moved"
    assert [c["id"] for c in owner_view["contacts"]] == [b_records.contact]
    assert [c["id"] for c in owner_view["consents"]] == [b_records.consent]
    for path in (
        f"/api/v1/patients/{b_records.patient}",
        f"/api/v1/patients/{b_records.patient}/contacts",
        f"/api/v1/patients/{b_records.patient}/consents",
    ):
        assert (await client.get(path, headers=org.headers)).status_code == 404, path
    assert b_records.patient not in await list_all(client, org)


async def test_tenant_header_does_not_select_a_tenant(client: Client, org: Org, other_org: Org) -> None:
    a_patient = await create_patient(client, org)
    forged = {**other_org.headers, "X-Tenant-ID": str(org.tenant_id), "X-Tenant": org.slug}

    response = await client.get(f"/api/v1/patients/{a_patient['id']}", headers=forged)
    created = await client.post("/api/v1/patients", headers=forged, json=patient_body())

    assert response.status_code == 404
    assert created.status_code == 201
    assert (await client.get(f"/api/v1/patients/{created.json()['id']}", headers=org.headers)).status_code == 404


# -- other tenant-scoped routes ------------------------------------------------------------------------


async def test_audit_filter_with_another_tenants_ids_returns_nothing(client: Client, org: Org, other_org: Org) -> None:
    a_records = await make_records(client, org)

    for resource_id in (a_records.patient, a_records.contact, a_records.consent, str(org.owner_id)):
        assert await audit_items(client, org, resource_id=resource_id), f"A should see events of {resource_id}"
        assert await audit_items(client, other_org, resource_id=resource_id) == []
    assert await audit_items(client, other_org, actor_id=str(org.owner_id)) == []


async def test_updating_another_tenants_user_answers_like_a_random_id(client: Client, org: Org, other_org: Org) -> None:
    me_before = await client.get("/api/v1/users/me", headers=org.headers)

    a_user, random_user = str(org.owner_id), str(uuid4())
    responses = [
        await client.patch(
            f"/api/v1/users/{user_id}",
            headers={**other_org.headers, "X-Request-ID": REQUEST_ID},
            json={"role": "viewer", "status": "disabled"},
        )
        for user_id in (a_user, random_user)
    ]

    assert responses[0].status_code == 404, responses[0].text
    assert comparable(responses[0], a_user) == comparable(responses[1], random_user)
    me_after = await client.get("/api/v1/users/me", headers=org.headers)
    assert me_after.status_code == 200
    assert me_after.json() == me_before.json()
    assert me_after.json()["role"] == "owner"
    assert me_after.json()["status"] == "active"
    assert await login(client, org.slug, org.email, org.password)


# -- a suspended tenant's credentials stop working -----------------------------------------------------


async def test_suspended_tenant_is_locked_out_until_reactivated(client: Client, org: Org, other_org: Org) -> None:
    key = await client.post("/api/v1/api-keys", headers=org.headers, json={"name": "ehr", "scopes": ["patients:read"]})
    assert key.status_code == 201, key.text
    api_key_headers = {"X-API-Key": key.json()["key"]}
    credentials = {"tenant": org.slug, "email": org.email, "password": org.password}

    await carecoord("tenant", "set-status", org.slug, "suspended")

    for headers in (org.headers, api_key_headers):
        refused = await client.get("/api/v1/patients", headers=headers)
        assert refused.status_code == 401, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    denied_login = await client.post("/api/v1/auth/token", json=credentials)
    assert denied_login.status_code == 403, denied_login.text
    assert denied_login.headers["content-type"] == "application/problem+json"
    refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": org.refresh_token})
    assert refresh.status_code == 401, refresh.text
    assert (await client.get("/api/v1/patients", headers=other_org.headers)).status_code == 200

    await carecoord("tenant", "set-status", org.slug, "active")

    for headers in (org.headers, api_key_headers):
        assert (await client.get("/api/v1/patients", headers=headers)).status_code == 200
    assert (await client.post("/api/v1/auth/token", json=credentials)).status_code == 200
