"""Operations endpoints: liveness, readiness, the OpenAPI document, request ids and metrics."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import Org

Client = AsyncTestClient[Any]

MINTED_ID = re.compile(r"^[0-9a-f]{32}$")


async def test_health_answers_without_credentials(client: Client) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_reports_database_and_redis_ok(client: Client) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


async def test_the_openapi_document_lists_the_kernel_routes(client: Client) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path in ("/api/v1/patients", "/api/v1/patients/{patient_id}", "/api/v1/auth/token", "/api/v1/signup"):
        assert path in paths, sorted(paths)
    assert "post" in paths["/api/v1/auth/token"]
    assert {"get", "post"} <= set(paths["/api/v1/patients"])
    assert {"bearer", "apiKey"} <= set(document["components"]["securitySchemes"])


async def test_every_response_gets_a_minted_request_id(client: Client, org: Org) -> None:
    seen = set()
    for method, url in [("GET", "/health"), ("GET", "/api/v1/patients"), ("GET", "/api/v1/nowhere")]:
        response = await client.request(method, url, headers=org.headers)
        request_id = response.headers.get("x-request-id", "")
        assert MINTED_ID.match(request_id), (url, request_id)
        seen.add(request_id)
    assert len(seen) == 3, "each request gets its own id"


@pytest.mark.parametrize("offered", ["req-12345678", "a" * 64, "abc.DEF_123-xyz"])
async def test_a_sane_request_id_is_echoed(client: Client, offered: str) -> None:
    response = await client.get("/health", headers={"X-Request-ID": offered})
    assert response.headers["x-request-id"] == offered


async def test_a_sane_request_id_is_echoed_on_errors_too(client: Client) -> None:
    response = await client.get("/api/v1/patients", headers={"X-Request-ID": "error-path-0001"})
    assert response.status_code == 401
    assert response.headers["x-request-id"] == "error-path-0001"


@pytest.mark.parametrize(
    "offered",
    [
        pytest.param("short", id="too-short"),
        pytest.param("a" * 65, id="too-long"),
        pytest.param("id with spaces", id="spaces"),
        pytest.param("<script>alert(1)</script>", id="markup"),
        pytest.param("abc\\x00defgh", id="escapes"),
        pytest.param("injected;rm -rf /", id="shell"),
    ],
)
async def test_an_insane_request_id_is_replaced(client: Client, offered: str) -> None:
    response = await client.get("/health", headers={"X-Request-ID": offered})
    request_id = response.headers["x-request-id"]
    assert request_id != offered
    assert MINTED_ID.match(request_id), request_id


async def test_metrics_are_prometheus_text(client: Client) -> None:
    await client.get("/health")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "# HELP" in text
    assert "# TYPE" in text
    health_requests = re.compile(
        r'^litestar_requests_total\{app_name="carecoord",method="GET",path="/health",status_code="200"\} (\d+)',
        re.MULTILINE,
    )
    match = health_requests.search(text)
    assert match, text[:2000]
    assert float(match.group(1)) >= 1


async def test_metrics_show_queue_depths_and_no_phi(client: Client) -> None:
    from tests.conftest import create_patient, sign_up

    org = await sign_up(client)
    patient = await create_patient(client, org, family_name="Zebulonova")
    await client.get(f"/api/v1/patients/{patient['id']}", headers=org.headers)
    await client.get("/api/v1/patients", headers=org.headers, params={"q": "Zebulonova"})
    text = (await client.get("/metrics")).text
    assert re.search(r'^carecoord_api_queue_depth\{queue="notifications"\} \d+', text, re.MULTILINE), text[-3000:]
    assert re.search(r'^carecoord_api_queue_dead\{queue="reports"\} \d+', text, re.MULTILINE)
    assert re.search(r"^carecoord_api_queue_scrape_ok 1\.0$", text, re.MULTILINE)
    assert 'path="/api/v1/patients/{patient_id}"' in text  # grouped by route template
    for secret in (patient["id"], "Zebulonova", str(org.tenant_id), org.slug, patient["mrn"]):
        assert secret not in text
