"""Provider directory and community resources over HTTP.

CRUD with soft delete, search filters that return exactly the seeded rows they should,
keyset pagination, identifier uniqueness per tenant, organization links confined to the
tenant, cross-tenant probes on every ``/{id}`` route, bad input and write permissions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import Org, add_user

Client = AsyncTestClient[Any]

ORGS = "/api/v1/directory/organizations"
PRACTITIONERS = "/api/v1/directory/practitioners"
RESOURCES = "/api/v1/community-resources"

LEAKS = re.compile(r"Traceback|asyncpg|SELECT|select |File \"|site-packages|\.py\b|/usr/|/home/|/work/")
REQUEST_ID = "directory-probe-0001"


# -- helpers ------------------------------------------------------------------------------------------------


def assert_problem(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    assert not LEAKS.search(response.text), response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code
    assert body["title"]
    assert body["detail"]
    return body


def assert_names_field(body: dict[str, Any], field: str) -> None:
    errors = body.get("errors")
    assert isinstance(errors, list), body
    assert errors, body
    assert any(field in error["key"] or field in error["message"] for error in errors), (field, errors)


async def create(client: Client, org: Org, path: str, **body: Any) -> dict[str, Any]:
    response = await client.post(path, headers=org.headers, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def new_org(client: Client, org: Org, **overrides: Any) -> dict[str, Any]:
    return await create(client, org, ORGS, **{"name": "Riverside Cardiology", **overrides})


async def new_practitioner(client: Client, org: Org, **overrides: Any) -> dict[str, Any]:
    body = {"given_name": "Jonas", "family_name": "Salk", "specialty": "Cardiology", **overrides}
    return await create(client, org, PRACTITIONERS, **body)


async def new_resource(client: Client, org: Org, **overrides: Any) -> dict[str, Any]:
    return await create(client, org, RESOURCES, **{"name": "Ride Share Health", "category": "transport", **overrides})


async def listing(client: Client, org: Org, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a listing, following cursors two at a time."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page_params = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, headers=org.headers, params=page_params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= 2
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items


async def names(client: Client, org: Org, path: str, **params: Any) -> list[str]:
    items = await listing(client, org, path, **params)
    return [item.get("name") or f"{item['given_name']} {item['family_name']}" for item in items]


async def audit_actions(client: Client, org: Org, resource_id: str) -> list[str]:
    response = await client.get("/api/v1/audit-events", headers=org.headers, params={"resource_id": resource_id})
    assert response.status_code == 200, response.text
    return [event["action"] for event in reversed(response.json()["items"])]


ADDRESS = {"line": ["1 Main Street"], "city": "Springfield", "state": "IL", "postal_code": "62701", "country": "US"}


# -- organizations: CRUD ------------------------------------------------------------------------------------


async def test_organization_crud_with_soft_delete_and_audit(client: Client, org: Org) -> None:
    created = await new_org(
        client,
        org,
        name="Lakeside Hospital",
        kind="hospital",
        specialty="Emergency medicine",
        identifier="1234567893",
        phone="+1 555 010 2000",
        fax="+1 555 010 2001",
        email="referrals@lakeside.example",
        address=ADDRESS,
        accepts_referrals=False,
        languages=["en", "es-MX"],
        tenant_id=str(uuid4()),
    )
    assert created["name"] == "Lakeside Hospital"
    assert created["kind"] == "hospital"
    assert created["identifier"] == "1234567893"
    assert created["fax"] == "+1 555 010 2001"
    assert created["address"] == ADDRESS
    assert created["accepts_referrals"] is False
    assert created["languages"] == ["en", "es-MX"]
    assert created["active"] is True
    assert "tenant_id" not in created
    assert re.search(r"[+-]\d\d:\d\d$|Z$", created["created_at"])
    org_id = created["id"]

    read = await client.get(f"{ORGS}/{org_id}", headers=org.headers)
    assert read.status_code == 200
    assert read.json() == created

    patched = await client.patch(
        f"{ORGS}/{org_id}", headers=org.headers, json={"name": "Lakeside General", "fax": None, "kind": "clinic"}
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["name"], body["fax"], body["kind"]) == ("Lakeside General", None, "clinic")
    assert body["phone"] == "+1 555 010 2000"
    assert body["updated_at"] >= created["updated_at"]

    deleted = await client.delete(f"{ORGS}/{org_id}", headers=org.headers)
    assert deleted.status_code == 204
    after = await client.get(f"{ORGS}/{org_id}", headers=org.headers)
    assert after.status_code == 200
    assert after.json()["active"] is False
    assert await names(client, org, ORGS) == []
    assert await names(client, org, ORGS, include_inactive=True) == ["Lakeside General"]
    # Deleting again changes nothing and is not a second audited deletion.
    assert (await client.delete(f"{ORGS}/{org_id}", headers=org.headers)).status_code == 204

    restored = await client.patch(f"{ORGS}/{org_id}", headers=org.headers, json={"active": True})
    assert restored.json()["active"] is True
    assert await names(client, org, ORGS) == ["Lakeside General"]

    assert await audit_actions(client, org, org_id) == [
        "directory.provider_organization.create",
        "directory.provider_organization.update",
        "directory.provider_organization.delete",
        "directory.provider_organization.update",
    ]


async def test_organization_defaults(client: Client, org: Org) -> None:
    created = await create(client, org, ORGS, name="Corner Practice")
    assert created["kind"] == "clinic"
    assert created["accepts_referrals"] is True
    assert created["languages"] == []
    assert created["identifier"] is None
    assert created["address"] is None


# -- practitioners: CRUD ------------------------------------------------------------------------------------


async def test_practitioner_crud_linked_to_an_organization(client: Client, org: Org) -> None:
    clinic = await new_org(client, org)
    created = await new_practitioner(
        client,
        org,
        identifier="1679576722",
        organization_id=clinic["id"],
        phone="+1 555 222 0101",
        email="salk@riverside.example",
        address=ADDRESS,
        languages=["en", "fr"],
    )
    assert created["organization_id"] == clinic["id"]
    assert created["specialty"] == "Cardiology"
    assert created["languages"] == ["en", "fr"]
    pid = created["id"]

    assert (await client.get(f"{PRACTITIONERS}/{pid}", headers=org.headers)).json() == created

    other_clinic = await new_org(client, org, name="Hilltop Clinic")
    patched = await client.patch(
        f"{PRACTITIONERS}/{pid}",
        headers=org.headers,
        json={"organization_id": other_clinic["id"], "accepts_referrals": False, "email": None},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["organization_id"] == other_clinic["id"]
    assert patched.json()["accepts_referrals"] is False
    assert patched.json()["email"] is None

    unlinked = await client.patch(f"{PRACTITIONERS}/{pid}", headers=org.headers, json={"organization_id": None})
    assert unlinked.status_code == 200
    assert unlinked.json()["organization_id"] is None

    assert (await client.delete(f"{PRACTITIONERS}/{pid}", headers=org.headers)).status_code == 204
    assert (await client.get(f"{PRACTITIONERS}/{pid}", headers=org.headers)).json()["active"] is False
    assert await names(client, org, PRACTITIONERS) == []
    assert await audit_actions(client, org, pid) == [
        "directory.practitioner.create",
        "directory.practitioner.update",
        "directory.practitioner.update",
        "directory.practitioner.delete",
    ]


async def test_practitioner_organization_must_be_an_active_one_of_the_tenant(
    client: Client, org: Org, other_org: Org
) -> None:
    foreign = await new_org(client, other_org)
    retired = await new_org(client, org, name="Closed Clinic")
    assert (await client.delete(f"{ORGS}/{retired['id']}", headers=org.headers)).status_code == 204
    body = {"given_name": "Ada", "family_name": "Park", "specialty": "Neurology"}

    answers = []
    for organization_id in (foreign["id"], str(uuid4()), retired["id"]):
        response = await client.post(
            PRACTITIONERS, headers=org.headers, json={**body, "organization_id": organization_id}
        )
        problem = assert_problem(response, 422)
        assert_names_field(problem, "organization_id")
        answers.append(response.json())
    assert answers[0] == answers[1] == answers[2]  # another tenant's organization is just unknown

    mine = await new_practitioner(client, org)
    response = await client.patch(
        f"{PRACTITIONERS}/{mine['id']}", headers=org.headers, json={"organization_id": foreign["id"]}
    )
    assert_names_field(assert_problem(response, 422), "organization_id")
    assert (await client.get(f"{PRACTITIONERS}/{mine['id']}", headers=org.headers)).json() == mine
    assert await names(client, org, PRACTITIONERS) == ["Jonas Salk"]


async def test_duplicate_identifier_is_409_per_tenant(client: Client, org: Org, other_org: Org) -> None:
    first = await new_practitioner(client, org, identifier="1111111111")
    duplicate = await client.post(
        PRACTITIONERS,
        headers=org.headers,
        json={"given_name": "Other", "family_name": "Doctor", "specialty": "ENT", "identifier": "1111111111"},
    )
    assert_names_field(assert_problem(duplicate, 409), "identifier")

    second = await new_practitioner(client, org, identifier="2222222222")
    clash = await client.patch(
        f"{PRACTITIONERS}/{second['id']}", headers=org.headers, json={"identifier": "1111111111"}
    )
    assert_problem(clash, 409)
    assert (await client.get(f"{PRACTITIONERS}/{second['id']}", headers=org.headers)).json()["identifier"] == (
        "2222222222"
    )
    # A deactivated entry keeps its identifier.
    assert (await client.delete(f"{PRACTITIONERS}/{first['id']}", headers=org.headers)).status_code == 204
    again = await client.post(
        PRACTITIONERS,
        headers=org.headers,
        json={"given_name": "Other", "family_name": "Doctor", "specialty": "ENT", "identifier": "1111111111"},
    )
    assert_problem(again, 409)

    # Another tenant may use the same identifier.
    await new_practitioner(client, other_org, identifier="1111111111")

    # Organizations: the same rule.
    await new_org(client, org, identifier="ORG-1")
    assert_problem(await client.post(ORGS, headers=org.headers, json={"name": "X", "identifier": "ORG-1"}), 409)
    await new_org(client, other_org, identifier="ORG-1")
    # Entries without identifiers never clash.
    await new_practitioner(client, org)
    await new_practitioner(client, org)


# -- community resources: CRUD ------------------------------------------------------------------------------


async def test_community_resource_crud(client: Client, org: Org) -> None:
    created = await new_resource(
        client,
        org,
        name="Language Bridge",
        category="interpreter",
        description="Phone and video interpreters around the clock",
        phone="+1 800 555 0199",
        email="book@bridge.example",
        website="https://bridge.example/book",
        address=ADDRESS,
        languages=["es", "vi", "so"],
    )
    assert created["category"] == "interpreter"
    assert created["website"] == "https://bridge.example/book"
    assert created["languages"] == ["es", "vi", "so"]
    rid = created["id"]
    assert (await client.get(f"{RESOURCES}/{rid}", headers=org.headers)).json() == created

    patched = await client.patch(
        f"{RESOURCES}/{rid}", headers=org.headers, json={"description": None, "languages": ["es"]}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["description"] is None
    assert patched.json()["languages"] == ["es"]
    assert patched.json()["name"] == "Language Bridge"

    assert (await client.delete(f"{RESOURCES}/{rid}", headers=org.headers)).status_code == 204
    assert (await client.get(f"{RESOURCES}/{rid}", headers=org.headers)).json()["active"] is False
    assert await names(client, org, RESOURCES) == []
    assert await names(client, org, RESOURCES, include_inactive=True) == ["Language Bridge"]
    assert await audit_actions(client, org, rid) == [
        "directory.community_resource.create",
        "directory.community_resource.update",
        "directory.community_resource.delete",
    ]


# -- search -------------------------------------------------------------------------------------------------


async def test_organization_search_filters(client: Client, org: Org, other_org: Org) -> None:
    await new_org(client, org, name="Riverside Cardiology", specialty="Cardiology", languages=["en", "es-MX"])
    await new_org(client, org, name="river_front Labs", kind="lab", specialty="Pathology", accepts_referrals=False)
    await new_org(client, org, name="North Heart Center", specialty="cardiology", languages=["pt-BR"])
    await new_org(client, org, name="Saint Rivera Hospital", kind="hospital", specialty="Cardiac surgery")
    retired = await new_org(client, org, name="Riverbend Clinic", specialty="Cardiology")
    await client.delete(f"{ORGS}/{retired['id']}", headers=org.headers)
    await new_org(client, other_org, name="Riverside Other Tenant", specialty="Cardiology")

    assert await names(client, org, ORGS) == [
        "North Heart Center",
        "river_front Labs",
        "Riverside Cardiology",
        "Saint Rivera Hospital",
    ]
    assert await names(client, org, ORGS, q="river") == [
        "river_front Labs",
        "Riverside Cardiology",
        "Saint Rivera Hospital",
    ]
    assert await names(client, org, ORGS, q="RIVERS") == ["Riverside Cardiology"]
    assert await names(client, org, ORGS, q="heart") == ["North Heart Center"]
    assert await names(client, org, ORGS, q="river_") == ["river_front Labs"]  # "_" is no wildcard
    assert await names(client, org, ORGS, q="%") == []
    assert await names(client, org, ORGS, specialty="cardiology") == ["North Heart Center", "Riverside Cardiology"]
    assert await names(client, org, ORGS, specialty="CARDI") == [
        "North Heart Center",
        "Riverside Cardiology",
        "Saint Rivera Hospital",
    ]
    assert await names(client, org, ORGS, accepts_referrals="false") == ["river_front Labs"]
    assert await names(client, org, ORGS, accepts_referrals="true", q="river") == [
        "Riverside Cardiology",
        "Saint Rivera Hospital",
    ]
    assert await names(client, org, ORGS, language="es") == ["Riverside Cardiology"]
    assert await names(client, org, ORGS, language="PT-br") == ["North Heart Center"]
    assert await names(client, org, ORGS, language="pt-PT") == []
    assert await names(client, org, ORGS, q="riverb", include_inactive=True) == ["Riverbend Clinic"]


async def test_practitioner_search_filters(client: Client, org: Org, other_org: Org) -> None:
    heart = await new_org(client, org, name="Heart Group")
    other = await new_org(client, org, name="Bone Group")
    await new_practitioner(client, org, given_name="Ana", family_name="Smith", specialty="Cardiology",
                           languages=["es-MX"], organization_id=heart["id"])  # fmt: skip
    await new_practitioner(client, org, given_name="John", family_name="Smithers", specialty="Cardiac Surgery",
                           accepts_referrals=False, organization_id=heart["id"])  # fmt: skip
    await new_practitioner(client, org, given_name="Smitha", family_name="Rao", specialty="cardiology",
                           languages=["hi", "en"], organization_id=other["id"])  # fmt: skip
    await new_practitioner(client, org, given_name="Lee", family_name="Wong", specialty="Orthopedics",
                           languages=["zh", "es"])  # fmt: skip
    gone = await new_practitioner(client, org, given_name="Old", family_name="Smith", specialty="Cardiology")
    await client.delete(f"{PRACTITIONERS}/{gone['id']}", headers=org.headers)
    await new_practitioner(client, other_org, given_name="Ana", family_name="Smith", specialty="Cardiology")

    everyone = ["Smitha Rao", "Ana Smith", "John Smithers", "Lee Wong"]
    assert await names(client, org, PRACTITIONERS) == everyone
    assert await names(client, org, PRACTITIONERS, specialty="Cardiology") == ["Smitha Rao", "Ana Smith"]
    assert await names(client, org, PRACTITIONERS, specialty="CARDIO") == ["Smitha Rao", "Ana Smith"]
    assert await names(client, org, PRACTITIONERS, specialty="cardiac") == ["John Smithers"]
    assert await names(client, org, PRACTITIONERS, specialty="card") == ["Smitha Rao", "Ana Smith", "John Smithers"]
    assert await names(client, org, PRACTITIONERS, specialty="surgery") == []
    assert await names(client, org, PRACTITIONERS, name="smith") == ["Smitha Rao", "Ana Smith", "John Smithers"]
    assert await names(client, org, PRACTITIONERS, name="jo smi") == ["John Smithers"]
    assert await names(client, org, PRACTITIONERS, name="Smith Ana") == ["Ana Smith"]
    assert await names(client, org, PRACTITIONERS, name="wo") == ["Lee Wong"]
    assert await names(client, org, PRACTITIONERS, name="mith") == []
    assert await names(client, org, PRACTITIONERS, language="es") == ["Ana Smith", "Lee Wong"]
    assert await names(client, org, PRACTITIONERS, language="es-mx") == ["Ana Smith"]
    assert await names(client, org, PRACTITIONERS, language="en") == ["Smitha Rao"]
    assert await names(client, org, PRACTITIONERS, accepts_referrals="false") == ["John Smithers"]
    assert await names(client, org, PRACTITIONERS, accepts_referrals="true") == ["Smitha Rao", "Ana Smith", "Lee Wong"]
    assert await names(client, org, PRACTITIONERS, organization_id=heart["id"]) == ["Ana Smith", "John Smithers"]
    assert await names(
        client, org, PRACTITIONERS, organization_id=heart["id"], specialty="cardiology", accepts_referrals="true"
    ) == ["Ana Smith"]
    assert await names(client, org, PRACTITIONERS, organization_id=str(uuid4())) == []
    assert await names(client, org, PRACTITIONERS, name="smith", include_inactive=True) == [
        "Smitha Rao",
        "Ana Smith",
        "Old Smith",
        "John Smithers",
    ]


async def test_community_resource_search_filters(client: Client, org: Org, other_org: Org) -> None:
    await new_resource(client, org, name="Ride Share Health", category="transport", languages=["en", "es"])
    await new_resource(client, org, name="Van Line", category="transport", description="Wheelchair vans, free")
    await new_resource(client, org, name="Food Bank North", category="food", description="Groceries; free delivery")
    await new_resource(client, org, name="RxHelp", category="prescription", languages=["es-US"])
    await new_resource(client, org, name="Language Bridge", category="interpreter", languages=["so", "vi"])
    await new_resource(client, other_org, name="Other Tenant Rides", category="transport")

    assert await names(client, org, RESOURCES) == [
        "Food Bank North",
        "Language Bridge",
        "Ride Share Health",
        "RxHelp",
        "Van Line",
    ]
    assert await names(client, org, RESOURCES, category="transport") == ["Ride Share Health", "Van Line"]
    assert await names(client, org, RESOURCES, category="housing") == []
    assert await names(client, org, RESOURCES, q="FREE") == ["Food Bank North", "Van Line"]
    assert await names(client, org, RESOURCES, q="free", category="food") == ["Food Bank North"]
    assert await names(client, org, RESOURCES, q="bridge") == ["Language Bridge"]
    assert await names(client, org, RESOURCES, q="a_e") == []
    assert await names(client, org, RESOURCES, language="es") == ["Ride Share Health", "RxHelp"]
    assert await names(client, org, RESOURCES, language="vi", category="interpreter") == ["Language Bridge"]


async def test_pagination_walks_every_entry_once_in_order(client: Client, org: Org) -> None:
    for name in ("delta", "Alpha", "charlie", "Bravo", "echo", "alpha"):
        await new_org(client, org, name=name)
    found = await names(client, org, ORGS)
    assert sorted(found, key=str.lower) == found
    assert sorted(found) == sorted(["delta", "Alpha", "charlie", "Bravo", "echo", "alpha"])

    first = await client.get(ORGS, headers=org.headers, params={"limit": 5})
    assert len(first.json()["items"]) == 5
    assert first.json()["next_cursor"]
    last = await client.get(ORGS, headers=org.headers, params={"limit": 5, "cursor": first.json()["next_cursor"]})
    assert [item["name"] for item in last.json()["items"]] == ["echo"]
    assert last.json()["next_cursor"] is None

    # A practitioner cursor is no organization cursor.
    for family in ("A", "B", "C"):
        await new_practitioner(client, org, family_name=family)
    page = await client.get(PRACTITIONERS, headers=org.headers, params={"limit": 1})
    wrong = await client.get(ORGS, headers=org.headers, params={"cursor": page.json()["next_cursor"]})
    assert_problem(wrong, 400)


# -- cross-tenant probes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    """Template with ``{id}``."""
    body: dict[str, Any] | None = None


ID_ROUTES = [
    Route("GET", ORGS + "/{id}"),
    Route("PATCH", ORGS + "/{id}", {"name": "Mallory Clinic", "identifier": "EVIL-1"}),
    Route("DELETE", ORGS + "/{id}"),
    Route("GET", PRACTITIONERS + "/{id}"),
    Route("PATCH", PRACTITIONERS + "/{id}", {"family_name": "Mallory", "identifier": "EVIL-2"}),
    Route("PATCH", PRACTITIONERS + "/{id}", {"organization_id": str(uuid4())}),
    Route("DELETE", PRACTITIONERS + "/{id}"),
    Route("GET", RESOURCES + "/{id}"),
    Route("PATCH", RESOURCES + "/{id}", {"name": "Mallory Rides", "category": "other"}),
    Route("DELETE", RESOURCES + "/{id}"),
]


def route_id(route: Route) -> str:
    return f"{route.method} {route.path} {sorted(route.body or {})}"


def comparable(response: httpx.Response, probed: str) -> tuple[int, dict[str, str], str]:
    headers = {k.lower(): v for k, v in response.headers.items() if k.lower() != "date"}
    return response.status_code, headers, response.text.replace(probed, "<id>")


async def entries(client: Client, org: Org) -> dict[str, str]:
    clinic = await new_org(client, org, identifier="VICTIM-ORG")
    practitioner = await new_practitioner(client, org, identifier="VICTIM-P", organization_id=clinic["id"])
    resource = await new_resource(client, org)
    return {ORGS: clinic["id"], PRACTITIONERS: practitioner["id"], RESOURCES: resource["id"]}


@pytest.mark.parametrize("route", ID_ROUTES, ids=route_id)
async def test_other_tenants_ids_answer_exactly_like_random_ids(
    client: Client, org: Org, other_org: Org, route: Route
) -> None:
    victim = await entries(client, org)
    base = route.path.removesuffix("/{id}")
    target = victim[base]
    before = (await client.get(f"{base}/{target}", headers=org.headers)).json()
    random_id = str(uuid4())

    async def call(entry_id: str) -> httpx.Response:
        return await client.request(
            route.method,
            route.path.format(id=entry_id),
            headers={**other_org.headers, "X-Request-ID": REQUEST_ID},
            json=route.body,
        )

    foreign, random = await call(target), await call(random_id)
    assert foreign.status_code == 404, foreign.text
    assert_problem(foreign, 404)
    assert comparable(foreign, target) == comparable(random, random_id)
    assert (await client.get(f"{base}/{target}", headers=org.headers)).json() == before
    response = await client.get(
        "/api/v1/audit-events", headers=org.headers, params={"actor_id": str(other_org.owner_id)}
    )
    assert response.json()["items"] == []


async def test_other_tenants_entries_never_appear_in_listings(client: Client, org: Org, other_org: Org) -> None:
    await entries(client, org)
    for path in (ORGS, PRACTITIONERS, RESOURCES):
        assert await listing(client, other_org, path) == []
        assert await listing(client, other_org, path, include_inactive=True) == []
    # Nor does their identifier block or leak: the other tenant may use it.
    await new_practitioner(client, other_org, identifier="VICTIM-P")


# -- bad input ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    path: str
    body: Any
    field: str


PRACTITIONER_BODY = {"given_name": "Ana", "family_name": "Smith", "specialty": "Cardiology"}
ORG_BODY = {"name": "Clinic"}
RESOURCE_BODY = {"name": "Rides", "category": "transport"}

BAD_BODIES = [
    Bad(ORGS, {}, "name"),
    Bad(ORGS, {**ORG_BODY, "name": "x" * 201}, "name"),
    Bad(ORGS, {**ORG_BODY, "name": "   "}, "name"),
    Bad(ORGS, {**ORG_BODY, "kind": "spaceport"}, "kind"),
    Bad(ORGS, {**ORG_BODY, "identifier": "x" * 33}, "identifier"),
    Bad(ORGS, {**ORG_BODY, "identifier": "has space"}, "identifier"),
    Bad(ORGS, {**ORG_BODY, "phone": "call me"}, "phone"),
    Bad(ORGS, {**ORG_BODY, "email": "not-an-address"}, "email"),
    Bad(ORGS, {**ORG_BODY, "languages": ["english!"]}, "languages"),
    Bad(ORGS, {**ORG_BODY, "languages": ["es", "ES"]}, "languages"),
    Bad(ORGS, {**ORG_BODY, "accepts_referrals": "yes"}, "accepts_referrals"),
    Bad(ORGS, {**ORG_BODY, "address": {"city": "x", "planet": "Mars"}}, "planet"),
    Bad(ORGS, {**ORG_BODY, "active": False}, "active"),
    Bad(ORGS, {**ORG_BODY, "surprise": 1}, "surprise"),
    Bad(ORGS, ["not", "an", "object"], "$"),
    Bad(PRACTITIONERS, {"given_name": "Ana", "family_name": "Smith"}, "specialty"),
    Bad(PRACTITIONERS, {**PRACTITIONER_BODY, "specialty": "x" * 101}, "specialty"),
    Bad(PRACTITIONERS, {**PRACTITIONER_BODY, "family_name": ""}, "family_name"),
    Bad(PRACTITIONERS, {**PRACTITIONER_BODY, "organization_id": "not-a-uuid"}, "organization_id"),
    Bad(PRACTITIONERS, {**PRACTITIONER_BODY, "fax": "1" * 40}, "fax"),
    Bad(PRACTITIONERS, {**PRACTITIONER_BODY, "languages": ["en"] * 21}, "languages"),
    Bad(RESOURCES, {"name": "Rides"}, "category"),
    Bad(RESOURCES, {**RESOURCE_BODY, "category": "spa"}, "category"),
    Bad(RESOURCES, {**RESOURCE_BODY, "website": "javascript:alert(1)"}, "website"),
    Bad(RESOURCES, {**RESOURCE_BODY, "description": "x" * 2001}, "description"),
]


@pytest.mark.parametrize("bad", BAD_BODIES, ids=lambda bad: f"POST {bad.path} {bad.field}")
async def test_bad_create_bodies_are_problems_naming_the_field(client: Client, org: Org, bad: Bad) -> None:
    response = await client.post(bad.path, headers=org.headers, json=bad.body)
    body = assert_problem(response, 400, 422)
    if bad.field != "$":
        assert_names_field(body, bad.field)


BAD_PATCHES = [
    (ORGS, {"name": None}, "name"),
    (ORGS, {"kind": None}, "kind"),
    (ORGS, {"languages": None}, "languages"),
    (ORGS, {"active": "no"}, "active"),
    (ORGS, {"id": str(uuid4())}, "id"),
    (PRACTITIONERS, {"specialty": None}, "specialty"),
    (PRACTITIONERS, {"given_name": "x" * 101}, "given_name"),
    (PRACTITIONERS, {"created_at": "2020-01-01T00:00:00Z"}, "created_at"),
    (RESOURCES, {"category": None}, "category"),
    (RESOURCES, {"website": "ftp://x"}, "website"),
]


@pytest.mark.parametrize(("path", "patch", "field"), BAD_PATCHES, ids=lambda v: str(v))
async def test_bad_patches_are_problems_and_change_nothing(
    client: Client, org: Org, path: str, patch: dict[str, Any], field: str
) -> None:
    makers = {ORGS: new_org, PRACTITIONERS: new_practitioner, RESOURCES: new_resource}
    entry = await makers[path](client, org)
    response = await client.patch(f"{path}/{entry['id']}", headers=org.headers, json=patch)
    assert_names_field(assert_problem(response, 400, 422), field)
    assert (await client.get(f"{path}/{entry['id']}", headers=org.headers)).json() == entry


async def test_malformed_json_and_bad_query_parameters_are_problems(client: Client, org: Org) -> None:
    for path in (ORGS, PRACTITIONERS, RESOURCES):
        response = await client.post(
            path, headers={**org.headers, "Content-Type": "application/json"}, content=b'{"name": '
        )
        assert_problem(response, 400, 422)
        for params in ({"limit": 0}, {"limit": 201}, {"cursor": "%%%"}, {"cursor": "x" * 601}, {"language": "e$"}):
            assert_problem(await client.get(path, headers=org.headers, params=params), 400)
        assert_problem(await client.get(f"{path}/not-a-uuid", headers=org.headers), 400, 404)
    assert_problem(await client.get(ORGS, headers=org.headers, params={"accepts_referrals": "maybe"}), 400)
    assert_problem(await client.get(ORGS, headers=org.headers, params={"q": "x" * 201}), 400)
    assert_problem(await client.get(PRACTITIONERS, headers=org.headers, params={"organization_id": "nope"}), 400)
    assert_problem(await client.get(PRACTITIONERS, headers=org.headers, params={"specialty": "x" * 101}), 400)
    assert_problem(await client.get(RESOURCES, headers=org.headers, params={"category": "spa"}), 400)


# -- permissions --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "clinician"])
async def test_readers_without_directory_manage_cannot_write(client: Client, org: Org, role: str) -> None:
    headers = await add_user(client, org, role)
    made = {ORGS: await new_org(client, org), PRACTITIONERS: await new_practitioner(client, org)}
    made[RESOURCES] = await new_resource(client, org)
    bodies = {ORGS: ORG_BODY, PRACTITIONERS: PRACTITIONER_BODY, RESOURCES: RESOURCE_BODY}
    for path, entry in made.items():
        assert (await client.get(path, headers=headers)).status_code == 200
        assert (await client.get(f"{path}/{entry['id']}", headers=headers)).json() == entry
        assert_problem(await client.post(path, headers=headers, json=bodies[path]), 403)
        assert_problem(await client.patch(f"{path}/{entry['id']}", headers=headers, json={"active": False}), 403)
        assert_problem(await client.delete(f"{path}/{entry['id']}", headers=headers), 403)
        assert (await client.get(f"{path}/{entry['id']}", headers=org.headers)).json() == entry
        assert len(await listing(client, org, path)) == 1


async def test_coordinator_manages_the_directory(client: Client, org: Org) -> None:
    headers = await add_user(client, org, "coordinator")
    response = await client.post(RESOURCES, headers=headers, json=RESOURCE_BODY)
    assert response.status_code == 201, response.text
    rid = response.json()["id"]
    assert (await client.patch(f"{RESOURCES}/{rid}", headers=headers, json={"name": "Rides+"})).status_code == 200
    assert (await client.delete(f"{RESOURCES}/{rid}", headers=headers)).status_code == 204


async def test_anonymous_callers_are_refused(client: Client) -> None:
    for path in (ORGS, PRACTITIONERS, RESOURCES):
        assert_problem(await client.get(path), 401)
        assert_problem(await client.post(path, json={}), 401)
