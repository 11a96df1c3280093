"""The module catalogue's settings schema carries the fields' docstrings, and invalid settings are refused
with every invalid field named by its path (``settings.<path>``) at once."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.testing import AsyncTestClient

from core.plugins.settings_schema import field_docs, settings_errors, settings_schema
from core.testing.fixtures import Org

MODULES = "/api/v1/admin/modules"


class Inner(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Nested settings."""

    hours: tuple[str, ...] = ()
    """Opening hours."""

    def __post_init__(self) -> None:
        if len(set(self.hours)) != len(self.hours):
            raise ValueError("hours: repeated")


class Sample(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    count: int = 1
    """How many."""
    ratio: float = 0.5
    inner: Inner = Inner()
    low: int = 1
    high: int = 2

    def __post_init__(self) -> None:
        if self.low >= self.high:
            raise ValueError("low must be below high")


def test_field_docs_and_schema_descriptions() -> None:
    assert field_docs(Sample) == {"count": "How many."}
    schema = settings_schema(Sample)
    assert schema["$defs"]["Sample"]["properties"]["count"]["description"] == "How many."
    assert "description" not in schema["$defs"]["Sample"]["properties"]["ratio"]
    assert schema["$defs"]["Inner"]["properties"]["hours"]["description"] == "Opening hours."


def test_every_invalid_field_is_named_then_checks_of_the_whole() -> None:
    errors = settings_errors(Sample, {"count": "x", "ratio": "y", "inner": {"hours": ["a", "a"]}})
    assert [e["key"] for e in errors] == ["settings.count", "settings.ratio", "settings.inner"]
    assert errors[2]["message"] == "hours: repeated"
    assert settings_errors(Sample, {"inner": {"hours": [1]}}) == [
        {"key": "settings.inner.hours[0]", "message": "Expected `str`, got `int`"}
    ]
    # Checks spanning fields run once each field is valid; one naming a field is keyed by it.
    spanning = settings_errors(Sample, {"low": 3, "high": 2})
    assert spanning == [{"key": "settings.low", "message": "low must be below high"}]
    assert settings_errors(Sample, {"nope": 1}) == [{"key": "settings.nope", "message": "unknown"}]
    assert settings_errors(Sample, {"count": 2}) == []


async def test_the_api_lists_each_invalid_setting(client: AsyncTestClient[Any], org: Org) -> None:
    answer = await client.put(
        f"{MODULES}/partner_example", headers=org.headers, json={"settings": {"greeting": "", "max_notes": 0}}
    )
    assert answer.status_code == 422
    assert [(e["key"], e["message"]) for e in answer.json()["errors"]] == [
        ("settings.greeting", "Expected `str` of length >= 1"),
        ("settings.max_notes", "Expected `int` >= 1"),
    ]
    referrals = await client.put(
        f"{MODULES}/referrals", headers=org.headers, json={"settings": {"calendar": {"holidays": ["2026-13-01"]}}}
    )
    assert [e["key"] for e in referrals.json()["errors"]] == ["settings.calendar.holidays[0]"]
    listed = {m["name"]: m for m in (await client.get(MODULES, headers=org.headers)).json()}
    schema = listed["partner_example"]["settings_schema"]
    assert schema["$defs"]["ExampleSettings"]["properties"]["greeting"]["description"] == "Echoed by the notes routes."
