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
