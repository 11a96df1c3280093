"""Built-in channels publish their options' JSON Schema, and invalid options name each field."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from core.testing.fixtures import Org

CHANNELS = "/api/v1/admin/channels"


async def test_builtin_channels_describe_their_options(client: AsyncTestClient[Any], org: Org) -> None:
    listed = {c["channel"]: c for c in (await client.get(CHANNELS, headers=org.headers)).json()}
    email = listed["email"]["options_schema"]["$defs"]["EmailOptions"]["properties"]
    assert email["smtp_port"]["maximum"] == 65535
    assert "smtp_password" in email["username"]["description"]
    assert "ProviderOptions" in listed["sms"]["options_schema"]["$defs"]
    assert "return_address" in listed["letter"]["options_schema"]["$defs"]["LetterOptions"]["properties"]


async def test_invalid_options_are_listed_by_field(client: AsyncTestClient[Any], org: Org) -> None:
    bad = {"enabled": True, "options": {"smtp_port": 70000, "security": "ssl"}}
    answer = await client.put(f"{CHANNELS}/email", headers=org.headers, json=bad)
    assert answer.status_code == 422
    assert [e["key"] for e in answer.json()["errors"]] == ["options.smtp_port", "options.security"]
    assert "smtp_port" in answer.json()["detail"]
    url = await client.put(
        f"{CHANNELS}/sms", headers=org.headers, json={"enabled": True, "options": {"base_url": "ftp://x"}}
    )
    assert url.json()["errors"] == [{"key": "options.base_url", "message": "base_url must be an http(s) URL"}]
    secret = await client.put(f"{CHANNELS}/email", headers=org.headers, json={"enabled": True, "secrets": {"pin": "1"}})
    assert [e["key"] for e in secret.json()["errors"]] == ["secrets"]
