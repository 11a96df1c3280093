"""The API document: docs/api.md lists every operation it describes (the map does not drift), and what it
adds to litestar's (problems, public operations, closed objects, list items, links) is what the service does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from core.auth.permissions import api_key_scopes
from tests.conftest import Org, create_patient

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


async def test_every_core_operation_is_in_the_api_overview(client: AsyncTestClient[Any]) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    documented = DOC.read_text()
    missing = [
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
        and not path.startswith("/schema")
        and f"| {method.upper()} | `{path}` |" not in documented
        # Plugins' routes are documented by their plugins.
        and path.split("/")[3:4] != ["partner_example"]
    ]
    assert missing == [], f"add these to docs/api.md: {missing}"


async def test_the_document_says_how_errors_and_credentials_really_work(client: AsyncTestClient[Any]) -> None:
    """core/http/openapi_document.py: litestar documented one 400 as plain JSON; every error is a problem."""
    document = (await client.get("/schema/openapi.json")).json()
    assert set(document["components"]["schemas"]["Problem"]["required"]) == {"type", "title", "status"}
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "put", "post", "delete", "patch")
    ]
    assert len(operations) > 190
    for path, method, operation in operations:
        for status in ("400", "401", "403", "404", "422", "503"):
            content = operation["responses"][status]["content"]
            assert list(content) == ["application/problem+json"], (method, path, status)
    public = {(path, method) for path, method, operation in operations if operation.get("security") == []}
    assert {("/api/v1/signup", "post"), ("/api/v1/auth/token", "post"), ("/health", "get")} <= public
    assert ("/api/v1/patients", "get") not in public
    # a request struct that refuses unknown fields is a closed object
    assert document["components"]["schemas"]["PatientCreate"]["additionalProperties"] is False


def _operations_by_id(document: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        operation["operationId"]: (method, path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    }


async def test_links_lead_from_a_created_record_to_the_operations_taking_its_id(
    client: AsyncTestClient[Any], org: Org
) -> None:
    """core/http/openapi_links.py: each link's target takes the id where the link puts it, and following the
    links of a created patient and contact with their real answers reaches them."""
    document = (await client.get("/schema/openapi.json")).json()
    by_id = _operations_by_id(document)
    patient_links = document["paths"]["/api/v1/patients"]["post"]["responses"]["201"]["links"]
    targets = {by_id[link["operationId"]]: link for link in patient_links.values()}
    assert targets[("get", "/api/v1/patients/{patient_id}")]["parameters"] == {"path.patient_id": "$response.body#/id"}
    assert targets[("post", "/api/v1/appointments")]["requestBody"] == {"patient_id": "$response.body#/id"}
    assert targets[("post", "/api/v1/patients/{patient_id}/contacts")]["parameters"] == {
        "path.patient_id": "$response.body#/id"
    }
    contact_links = document["paths"]["/api/v1/patients/{patient_id}/contacts"]["post"]["responses"]["201"]["links"]
    consent = next(link for link in contact_links.values() if by_id[link["operationId"]][1].endswith("/consents"))
    assert consent["parameters"] == {"path.patient_id": "$request.path.patient_id"}
    assert consent["requestBody"] == {"contact_id": "$response.body#/id"}

    # every link in the document names a real operation and fills each of its path parameters
    linked = 0
    for path, item in document["paths"].items():
        for operation in item.values():
            for answer in operation.get("responses", {}).values() if isinstance(operation, dict) else ():
                for link in answer.get("links", {}).values():
                    _, target = by_id[link["operationId"]]
                    needed = {f"path.{name}" for name in re.findall(r"\{([^}]+)\}", target)}
                    assert needed == set(link.get("parameters") or {}), (path, link)
                    linked += 1
    assert linked > 100

    # follow the read links of a real patient (core's: the plugins' are not enabled here) and a contact's
    patient = await create_patient(client, org)
    reads = [target for method, target in targets if method == "get" and target.startswith("/api/v1/patients/")]
    assert len(reads) >= 5
    for target in reads:
        url = target.replace("{patient_id}", patient["id"])
        answer = await client.get(url, headers=org.headers)
        assert answer.status_code == 200, (url, answer.text)
    contact = await client.post(
        f"/api/v1/patients/{patient['id']}/contacts", headers=org.headers, json={"name": "Kin", "relationship": "child"}
    )
    granted = await client.post(
        f"/api/v1/patients/{patient['id']}/consents",
        headers=org.headers,
        json={"kind": "sharing", "contact_id": contact.json()["id"]},
    )
    assert granted.status_code == 201, granted.text


async def test_list_items_are_documented_as_they_are_checked(client: AsyncTestClient[Any], org: Org) -> None:
    """core/http/openapi_item_constraints.py: litestar dropped the constraints of list items."""
    schemas = (await client.get("/schema/openapi.json")).json()["components"]["schemas"]
    languages = schemas["PractitionerCreate"]["properties"]["languages"]["items"]
    assert languages["pattern"] == "^[a-zA-Z]{2,3}(-[A-Za-z0-9]{2,8})*$"
    assert languages["maxLength"] == 35
    assert schemas["BusinessHours"]["properties"]["days"]["items"] | {"type": "integer"} == {
        "type": "integer",
        "minimum": 1,
        "maximum": 7,
    }
    body = {"given_name": "Ada", "family_name": "Park", "specialty": "Neurology"}
    refused = await client.post(
        "/api/v1/directory/practitioners", headers=org.headers, json={**body, "languages": ["not a tag"]}
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["key"] == "languages[0]"

    scopes = schemas["ApiKeyCreate"]["properties"]["scopes"]["items"]["enum"]
    assert scopes == sorted(api_key_scopes())
    assert "patients:read" in scopes
    created = await client.post("/api/v1/api-keys", headers=org.headers, json={"name": "every", "scopes": scopes})
    assert created.status_code == 201, created.text
    assert sorted(created.json()["api_key"]["scopes"]) == scopes
    outside = await client.post("/api/v1/api-keys", headers=org.headers, json={"name": "x", "scopes": ["users:manage"]})
    assert outside.status_code == 422, outside.text
