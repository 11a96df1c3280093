"""The plugin example in README.md works as printed."""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from core.app import create_app
from core.plugins.manager import PluginHost
from tests.conftest import create_patient, enable_module, sign_up

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_plugin(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """The README's code as the module ``wound_care.hooks`` (importable, as an installed one would be)."""
    section = README.read_text().split("## Writing a plugin", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None, "the README lost its plugin example"
    module = types.ModuleType("wound_care.hooks")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(code.group(1), str(README), "exec"), module.__dict__)
    return module


async def test_the_readme_plugin_serves_its_route_and_hears_events_for_enabled_tenants(
    settings: Any,
    app_client: Callable[[Litestar], AsyncTestClient[Any]],
    owner_db: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = PluginHost(load_entry_points=False, plugins=[("wound_care", readme_plugin(monkeypatch))])
    assert host.records["wound_care"].status == "loaded", host.records["wound_care"].error
    client = app_client(create_app(settings, host=host))
    enabled, other = await sign_up(client), await sign_up(client)

    assert (await client.get("/api/v1/wound_care/hello", headers=enabled.headers)).status_code == 404
    await enable_module(client, enabled, "wound_care", {"greeting": "hola"})
    hello = await client.get("/api/v1/wound_care/hello", headers=enabled.headers)
    assert hello.json() == {"greeting": "hola", "tenant": str(enabled.tenant_id)}
    assert (await client.get("/api/v1/wound_care/hello", headers=other.headers)).status_code == 404

    for org in (enabled, other):
        await create_patient(client, org)
    seen = await owner_db.fetch("select tenant_id from audit_events where action = 'wound_care.seen'")
    assert [row["tenant_id"] for row in seen if row["tenant_id"] in (enabled.tenant_id, other.tenant_id)] == [
        enabled.tenant_id
    ]
