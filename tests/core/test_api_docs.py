"""docs/api.md lists every operation the OpenAPI document describes (the map does not drift)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

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
