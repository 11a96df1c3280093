"""Unit tests of the audit hash chain: ``core.audit.chain.event_hash`` and the parts the database
finishes (``event_hash_parts``)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
import pytest

from core.audit.chain import GENESIS, event_hash, event_hash_parts

TENANT = UUID("3f1c2a4e-0000-4000-8000-000000000001")
ACTOR = UUID("3f1c2a4e-0000-4000-8000-000000000002")
RESOURCE = UUID("3f1c2a4e-0000-4000-8000-000000000003")
WHEN = datetime(2026, 11, 23, 16, 0, 0, 123456, tzinfo=UTC)


def event(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "tenant_id": TENANT,
        "seq": 7,
        "occurred_at": WHEN,
        "actor_type": "user",
        "actor_id": ACTOR,
        "action": "patient.read",
        "resource_type": "patient",
        "resource_id": RESOURCE,
        "ip": "10.0.0.7",
        "request_id": "req-0000001",
        "details": {"fields": ["phone"], "count": 1},
        "prev_hash": "a" * 64,
    }
    fields.update(overrides)
    return fields


# One different value per field: each must change the hash.
CHANGES: list[tuple[str, Any]] = [
    ("tenant_id", UUID("3f1c2a4e-0000-4000-8000-0000000000ff")),
    ("seq", 8),
    ("occurred_at", WHEN + timedelta(microseconds=1)),
    ("actor_type", "api_key"),
    ("actor_id", UUID("3f1c2a4e-0000-4000-8000-0000000000fe")),
    ("actor_id", None),
    ("action", "patient.update"),
    ("resource_type", "patient_contact"),
    ("resource_id", UUID("3f1c2a4e-0000-4000-8000-0000000000fd")),
    ("resource_id", None),
    ("ip", "10.0.0.8"),
    ("ip", None),
    ("request_id", "req-0000002"),
    ("request_id", None),
    ("details", {"fields": ["email"], "count": 1}),
    ("details", {"fields": ["phone"], "count": 2}),
    ("details", {"fields": ["phone"], "count": 1, "extra": True}),
    ("details", {}),
    ("prev_hash", GENESIS),
]


def test_hash_is_deterministic_sha256_hex() -> None:
    first = event_hash(**event())
    assert first == event_hash(**event())
    assert len(first) == 64
    assert int(first, 16) >= 0  # hex digits only


@pytest.mark.parametrize(("field", "value"), CHANGES, ids=[f"{f}={v!r}" for f, v in CHANGES])
def test_any_field_change_changes_the_hash(field: str, value: Any) -> None:
    assert event_hash(**event(**{field: value})) != event_hash(**event())


def test_details_key_order_does_not_matter() -> None:
    forward = {"a": 1, "b": {"x": [1, 2], "y": "z"}, "c": None}
    backward = {"c": None, "b": {"y": "z", "x": [1, 2]}, "a": 1}
    assert list(forward) != list(backward)
    assert event_hash(**event(details=forward)) == event_hash(**event(details=backward))


def test_list_order_inside_details_does_matter() -> None:
    assert event_hash(**event(details={"ids": ["1", "2"]})) != event_hash(**event(details={"ids": ["2", "1"]}))


def test_each_hash_chains_to_the_previous_one() -> None:
    """Two chains that differ only in their first event differ in every later hash."""

    def chain(first_action: str) -> list[str]:
        hashes, prev = [], GENESIS
        for seq, action in enumerate([first_action, "patient.read", "patient.update"], start=1):
            prev = event_hash(**event(seq=seq, action=action, prev_hash=prev))
            hashes.append(prev)
        return hashes

    original, tampered = chain("patient.create"), chain("patient.delete")
    assert all(a != b for a, b in zip(original, tampered, strict=True))


def documented_hash(**fields: Any) -> str:
    """The chain's documented form, computed independently: SHA-256 of the compact JSON array of the event
    (details' keys sorted) with ``seq`` second and ``prev_hash`` last."""
    canonical = [
        str(fields["tenant_id"]),
        fields["seq"],
        fields["occurred_at"].isoformat(),
        fields["actor_type"],
        str(fields["actor_id"]) if fields["actor_id"] else None,
        fields["action"],
        fields["resource_type"],
        str(fields["resource_id"]) if fields["resource_id"] else None,
        fields["ip"],
        fields["request_id"],
        fields["details"],
        fields["prev_hash"],
    ]
    return hashlib.sha256(msgspec.json.encode(canonical, order="sorted")).hexdigest()


@pytest.mark.parametrize(("field", "value"), [("seq", 7), *CHANGES, ("details", {"note": 'naïve "quoted" é'})])
def test_the_hash_is_the_documented_array_as_sql_finishes_it(field: str, value: Any) -> None:
    """The append statement finishes the hash in SQL from ``event_hash_parts``
    (``before || seq || between || prev_hash || '"]'``); that must be the documented array exactly,
    or chains written before (and ``audit verify``) would disagree with the request path."""
    fields = event(**{field: value})
    before, between = event_hash_parts(**{k: v for k, v in fields.items() if k not in ("seq", "prev_hash")})
    in_sql = hashlib.sha256(f'{before}{fields["seq"]}{between}{fields["prev_hash"]}"]'.encode()).hexdigest()
    assert in_sql == event_hash(**fields) == documented_hash(**fields)
