"""Bad input is answered with a 4xx RFC 9457 problem body, never a 500, never a leak.

Every write route of the kernel is fed malformed JSON, the wrong JSON shape, wrong
types, unknown and missing fields, strings one character over each limit, impossible
dates and unknown enum values. Each answer must be ``application/problem+json`` with
``status``/``title``/``detail``; validation answers also carry an ``errors`` list that
names the offending field; no answer mentions a traceback, SQL, the driver or a file.
"""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from litestar import get
from litestar.testing import AsyncTestClient

from tests.conftest import PASSWORD, Org, create_patient, patient_body, sign_up

Client = AsyncTestClient[Any]

LEAKS = re.compile(r"Traceback|asyncpg|SELECT|select |File \"|site-packages|\.py\b|/usr/|/home/|/work/")
VALIDATION_STATUSES = (400, 422)
TOMORROW = (date.today() + timedelta(days=2)).isoformat()  # in the future even if the run crosses midnight


# -- helpers ------------------------------------------------------------------------------------------------


def assert_problem(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """A 4xx (one of ``statuses`` when given) problem+json body with no internals in it."""
    assert 400 <= response.status_code < 500, f"{response.status_code}: {response.text}"
    if statuses:
        assert response.status_code in statuses, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    assert not LEAKS.search(response.text), response.text
    body = response.json()
    assert body["status"] == response.status_code
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return dict(body)


def assert_names_field(body: dict[str, Any], field: str) -> None:
    """The ``errors`` list points at ``field`` by key (``address.line[0]``) or in its message."""
    errors = body.get("errors")
    assert isinstance(errors, list), body
    assert errors, body
    assert all({"key", "message"} <= set(error) for error in errors), errors
    assert any(field in error["key"] or field in error["message"] for error in errors), (field, errors)


def assert_validation_problem(response: httpx.Response, field: str) -> None:
    assert_names_field(assert_problem(response, *VALIDATION_STATUSES), field)


def with_value(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``body`` with the dotted ``path`` set to ``value`` (intermediate objects created)."""
    body = copy.deepcopy(body)
    *parents, leaf = path.split(".")
    node = body
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    return body


def without(body: dict[str, Any], field: str) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != field}


def long_email(length: int) -> str:
    """A syntactically valid address of exactly ``length`` characters (local part <= 64)."""
    domain_length = length - 64 - 1 - len(".org")
    return f"{'a' * 64}@{'d' * domain_length}.org"


@dataclass
class Clinic:
    """A signed-up tenant with one patient who has a contact."""

    org: Org
    patient_id: str
    contact_id: str

    @property
    def headers(self) -> dict[str, str]:
        return self.org.headers


@dataclass(frozen=True)
class Target:
    """A write route and a body it accepts."""

    name: str
    method: str
    url: Callable[[Clinic], str]
    valid_body: Callable[[Clinic], dict[str, Any]]
    public: bool = False


def _signup_body(_: Clinic) -> dict[str, Any]:
    slug = f"bad-{secrets.token_hex(5)}"
    return {
        "organization_name": "Bad Input Clinic",
        "slug": slug,
        "owner_email": f"owner@{slug}.example",
        "owner_password": PASSWORD,
    }


TARGETS = {
    target.name: target
    for target in [
        Target("signup", "POST", lambda c: "/api/v1/signup", _signup_body, public=True),
        Target(
            "token",
            "POST",
            lambda c: "/api/v1/auth/token",
            lambda c: {"tenant": c.org.slug, "email": c.org.email, "password": PASSWORD},
            public=True,
        ),
        Target("create_patient", "POST", lambda c: "/api/v1/patients", lambda c: patient_body()),
        Target(
            "update_patient", "PATCH", lambda c: f"/api/v1/patients/{c.patient_id}", lambda c: {"given_name": "Ada"}
        ),
        Target(
            "add_contact",
            "POST",
            lambda c: f"/api/v1/patients/{c.patient_id}/contacts",
            lambda c: {"name": "Ana Lovelace", "relationship": "parent"},
        ),
        Target(
            "add_consent",
            "POST",
            lambda c: f"/api/v1/patients/{c.patient_id}/consents",
            lambda c: {"kind": "channel", "channel": "sms"},
        ),
        Target(
            "create_user",
            "POST",
            lambda c: "/api/v1/users",
            lambda c: {
                "email": f"u-{secrets.token_hex(4)}@{c.org.slug}.example",
                "password": PASSWORD,
                "role": "viewer",
            },
        ),
    ]
}


async def send(client: Client, clinic: Clinic, target_name: str, **kwargs: Any) -> httpx.Response:
    target = TARGETS[target_name]
    headers = {} if target.public else dict(clinic.headers)
    headers.update(kwargs.pop("headers", {}))
    return await client.request(target.method, target.url(clinic), headers=headers, **kwargs)


async def send_json(client: Client, clinic: Clinic, target_name: str, body: Any) -> httpx.Response:
    return await send(client, clinic, target_name, json=body)


async def send_field(client: Client, clinic: Clinic, target_name: str, path: str, value: Any) -> httpx.Response:
    """The target's valid body with ``path`` set to ``value``."""
    body = with_value(TARGETS[target_name].valid_body(clinic), path, value)
    return await send_json(client, clinic, target_name, body)


@pytest.fixture(scope="module")
async def clinic(client: Client) -> Clinic:
    org = await sign_up(client)
    patient = await create_patient(client, org)
    contact = await client.post(
        f"/api/v1/patients/{patient['id']}/contacts",
        headers=org.headers,
        json={"name": "Byron", "relationship": "parent"},
    )
    assert contact.status_code == 201, contact.text
    return Clinic(org, patient["id"], contact.json()["id"])


# -- the valid bodies really are valid (so every rejection below is about the one change) ---------------------


@pytest.mark.parametrize("target_name", TARGETS)
async def test_the_baseline_body_of_every_route_is_accepted(client: Client, clinic: Clinic, target_name: str) -> None:
    response = await send_json(client, clinic, target_name, TARGETS[target_name].valid_body(clinic))
    assert response.status_code in (200, 201), response.text


# -- the shape of the body -------------------------------------------------------------------------------


MALFORMED = [
    pytest.param(b'{"mrn": "A-1",', id="truncated"),
    pytest.param(b"{not json}", id="unquoted-keys"),
    pytest.param(b'{"a": 1,}', id="trailing-comma"),
    pytest.param(b"\xff\xfe{}", id="not-utf8"),
    pytest.param(b'{"a": NaN}', id="nan"),
]


@pytest.mark.parametrize("target_name", TARGETS)
@pytest.mark.parametrize("raw", MALFORMED)
async def test_malformed_json_is_a_400_problem(client: Client, clinic: Clinic, target_name: str, raw: bytes) -> None:
    response = await send(client, clinic, target_name, content=raw, headers={"content-type": "application/json"})
    assert_problem(response, 400)


@pytest.mark.parametrize("target_name", TARGETS)
@pytest.mark.parametrize(
    "payload",
    [
        pytest.param([{"given_name": "Ada"}], id="array"),
        pytest.param("a string", id="string"),
        pytest.param(42, id="number"),
        pytest.param(True, id="boolean"),
    ],
)
async def test_a_body_that_is_not_an_object_is_rejected(
    client: Client, clinic: Clinic, target_name: str, payload: Any
) -> None:
    assert_validation_problem(await send_json(client, clinic, target_name, payload), "data")


@pytest.mark.parametrize("target_name", TARGETS)
@pytest.mark.parametrize("raw", [b"", b"null"], ids=["empty", "null"])
async def test_an_empty_or_null_body_is_rejected(client: Client, clinic: Clinic, target_name: str, raw: bytes) -> None:
    response = await send(client, clinic, target_name, content=raw, headers={"content-type": "application/json"})
    assert_problem(response, *VALIDATION_STATUSES)


@pytest.mark.parametrize("target_name", TARGETS)
async def test_unknown_fields_are_rejected_by_name(client: Client, clinic: Clinic, target_name: str) -> None:
    response = await send_field(client, clinic, target_name, "favourite_colour", "teal")
    assert_validation_problem(response, "favourite_colour")


@pytest.mark.parametrize(
    ("target_name", "path"),
    [
        ("create_patient", "address.suite"),
        ("create_patient", "communication.carrier_pigeon"),
        ("update_patient", "communication.carrier_pigeon"),
    ],
)
async def test_unknown_nested_fields_are_rejected_by_name(
    client: Client, clinic: Clinic, target_name: str, path: str
) -> None:
    response = await send_field(client, clinic, target_name, path, "yes")
    assert_validation_problem(response, path.rsplit(".", 1)[-1])


REQUIRED = [
    ("signup", "organization_name"),
    ("signup", "slug"),
    ("signup", "owner_email"),
    ("signup", "owner_password"),
    ("token", "tenant"),
    ("token", "email"),
    ("token", "password"),
    ("create_patient", "mrn"),
    ("create_patient", "given_name"),
    ("create_patient", "family_name"),
    ("create_patient", "birth_date"),
    ("add_contact", "name"),
    ("add_contact", "relationship"),
    ("add_consent", "kind"),
    ("create_user", "email"),
    ("create_user", "password"),
    ("create_user", "role"),
]


@pytest.mark.parametrize(("target_name", "field"), REQUIRED)
async def test_missing_required_fields_are_named(client: Client, clinic: Clinic, target_name: str, field: str) -> None:
    body = without(TARGETS[target_name].valid_body(clinic), field)
    assert_validation_problem(await send_json(client, clinic, target_name, body), field)


# -- wrong types, bad enum values, malformed strings ---------------------------------------------------------


WRONG_TYPES = [
    ("signup", "slug", 123),
    ("signup", "owner_password", ["correct", "horse"]),
    ("signup", "time_zone", 5),
    ("token", "tenant", None),
    ("token", "email", 123),
    ("token", "totp", 123456),
    ("create_patient", "given_name", 42),
    ("create_patient", "birth_date", 19611210),
    ("create_patient", "address", "12 Main Street"),
    ("create_patient", "address.line", "12 Main Street"),
    ("create_patient", "communication.channels", "sms"),
    ("create_patient", "communication.interpreter_needed", "perhaps"),
    ("create_patient", "communication.quiet_hours_start", "late"),
    ("update_patient", "mrn", ["A-1"]),
    ("update_patient", "email", False),
    ("update_patient", "communication", []),
    ("add_contact", "may_receive", "billing"),
    ("add_contact", "is_emergency_contact", "no idea"),
    ("add_consent", "contact_id", 17),
    ("add_consent", "note", {"text": "hi"}),
    ("create_user", "role", 7),
    ("create_user", "full_name", ["Ada"]),
]


@pytest.mark.parametrize(("target_name", "path", "value"), WRONG_TYPES)
async def test_wrong_types_are_named(client: Client, clinic: Clinic, target_name: str, path: str, value: Any) -> None:
    response = await send_field(client, clinic, target_name, path, value)
    assert_validation_problem(response, path.rsplit(".", 1)[-1])


BAD_ENUMS = [
    ("signup", "plan", "platinum"),
    ("create_patient", "sex", "robot"),
    ("create_patient", "communication.channels", ["pigeon"]),
    ("update_patient", "sex", "robot"),
    ("add_contact", "relationship", "nemesis"),
    ("add_contact", "may_receive", ["gossip"]),
    ("add_consent", "kind", "maybe"),
    ("add_consent", "channel", "fax"),
    ("create_user", "role", "god"),
    ("create_user", "role", "OWNER"),
]


@pytest.mark.parametrize(("target_name", "path", "value"), BAD_ENUMS)
async def test_unknown_enum_values_are_named(
    client: Client, clinic: Clinic, target_name: str, path: str, value: Any
) -> None:
    response = await send_field(client, clinic, target_name, path, value)
    assert_validation_problem(response, path.rsplit(".", 1)[-1])


MALFORMED_VALUES = [
    ("signup", "slug", "Bad Slug!"),
    ("signup", "slug", "ab"),
    ("signup", "owner_email", "not-an-email"),
    ("signup", "owner_password", "x" * 11),
    ("signup", "time_zone", "Mars/Olympus_Mons"),
    ("token", "totp", "12ab56"),
    ("token", "tenant", ""),
    ("create_patient", "mrn", "has spaces"),
    ("create_patient", "mrn", ""),
    ("create_patient", "given_name", ""),
    ("create_patient", "phone", "call me maybe"),
    ("create_patient", "email", "ada@"),
    ("create_patient", "address.country", "USA"),
    ("create_patient", "communication.language", "english!"),
    ("create_patient", "communication.time_zone", "Europe/Atlantis"),
    ("create_patient", "communication.channels", ["sms", "sms"]),
    ("create_patient", "communication.quiet_hours_start", "22:00:00"),
    ("update_patient", "phone", "12"),
    ("add_contact", "email", "@example.org"),
    ("create_user", "password", "short"),
    ("create_user", "email", "two@@example.org"),
]


@pytest.mark.parametrize(("target_name", "path", "value"), MALFORMED_VALUES)
async def test_malformed_values_are_named(
    client: Client, clinic: Clinic, target_name: str, path: str, value: Any
) -> None:
    response = await send_field(client, clinic, target_name, path, value)
    assert_validation_problem(response, path.rsplit(".", 1)[-1])


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"kind": "channel"}, id="channel-without-channel"),
        pytest.param({"kind": "sharing"}, id="sharing-without-contact"),
        pytest.param({"kind": "channel", "channel": "sms", "contact_id": "{contact_id}"}, id="channel-with-contact"),
    ],
)
async def test_inconsistent_consents_are_rejected(client: Client, clinic: Clinic, body: dict[str, Any]) -> None:
    body = {key: value.format(contact_id=clinic.contact_id) for key, value in body.items()}
    assert_problem(await send_json(client, clinic, "add_consent", body), *VALIDATION_STATUSES)


async def test_a_sharing_consent_for_an_unknown_contact_names_contact_id(client: Client, clinic: Clinic) -> None:
    body = {"kind": "sharing", "contact_id": "00000000-0000-4000-8000-000000000000"}
    assert_validation_problem(await send_json(client, clinic, "add_consent", body), "contact_id")


# -- dates ---------------------------------------------------------------------------------------------------


BAD_DATES = [
    ("create_patient", "birth_date", "2023-02-30"),
    ("create_patient", "birth_date", "yesterday"),
    ("create_patient", "birth_date", "10/12/1961"),
    ("create_patient", "birth_date", "1961-12-10T00:00:00Z"),
    ("create_patient", "birth_date", TOMORROW),
    ("create_patient", "birth_date", "1879-12-31"),
    ("update_patient", "birth_date", "2023-02-30"),
    ("update_patient", "birth_date", TOMORROW),
    ("add_consent", "expires_at", "2023-02-30T10:00:00Z"),
    ("add_consent", "expires_at", "yesterday"),
    ("add_consent", "expires_at", "2030-01-01T10:00:00"),
    ("create_patient", "communication.quiet_hours_end", "25:00"),
]


@pytest.mark.parametrize(("target_name", "path", "value"), BAD_DATES)
async def test_invalid_dates_are_named(client: Client, clinic: Clinic, target_name: str, path: str, value: Any) -> None:
    if path.endswith("quiet_hours_end"):
        body = with_value(patient_body(), "communication.quiet_hours_start", "21:00:00")
        response = await send_json(client, clinic, target_name, with_value(body, path, value))
    else:
        response = await send_field(client, clinic, target_name, path, value)
    assert_validation_problem(response, path.rsplit(".", 1)[-1])


async def test_a_birth_date_of_today_is_accepted(client: Client, clinic: Clinic) -> None:
    response = await send_json(client, clinic, "create_patient", patient_body(birth_date=date.today().isoformat()))
    assert response.status_code == 201, response.text


# -- every string limit: at the limit accepted, one over rejected by name ------------------------------------


LONG_PASSPHRASE = ("orchid lantern pebble quartz violin meadow thunder saffron ember willow " * 4)[:256]
"""256 characters (the limit) that the password policy accepts: a passphrase, not one letter repeated."""
LIMITS = [
    # (target, field path, value at the limit)
    ("create_patient", "mrn", "M" * 64),
    ("create_patient", "given_name", "ñ" * 100),
    ("create_patient", "family_name", "F" * 100),
    ("create_patient", "phone", "+" + "1" * 24),
    ("create_patient", "email", long_email(254)),
    ("create_patient", "address.line", ["L" * 200]),
    ("create_patient", "address.city", "C" * 100),
    ("create_patient", "address.state", "S" * 100),
    ("create_patient", "address.postal_code", "P" * 20),
    ("create_patient", "address.country", "US"),
    ("create_patient", "communication.language", "en-" + "abcdefgh-" * 3 + "abcde"),
    ("update_patient", "given_name", "G" * 100),
    ("update_patient", "mrn", "U" * 64),
    ("add_contact", "name", "N" * 200),
    ("add_contact", "email", long_email(254)),
    ("add_consent", "note", "n" * 500),
    ("signup", "organization_name", "O" * 200),
    ("signup", "owner_name", "W" * 200),
    ("signup", "owner_password", LONG_PASSPHRASE),
    ("create_user", "full_name", "F" * 200),
    ("create_user", "password", LONG_PASSPHRASE),
]


def _one_over(value: Any) -> Any:
    if isinstance(value, list):
        return [_one_over(value[0])]
    if "@" in value:
        return long_email(len(value) + 1)
    return value + value[-1]


@pytest.mark.parametrize(("target_name", "path", "at_limit"), LIMITS)
async def test_strings_at_their_limit_are_accepted(
    client: Client, clinic: Clinic, target_name: str, path: str, at_limit: Any
) -> None:
    if path.endswith("mrn"):
        at_limit = secrets.token_hex(4) + at_limit[8:]  # MRNs are unique per tenant
    response = await send_field(client, clinic, target_name, path, at_limit)
    assert response.status_code in (200, 201), response.text


@pytest.mark.parametrize(("target_name", "path", "at_limit"), LIMITS)
async def test_strings_one_over_their_limit_are_named(
    client: Client, clinic: Clinic, target_name: str, path: str, at_limit: Any
) -> None:
    response = await send_field(client, clinic, target_name, path, _one_over(at_limit))
    assert_validation_problem(response, path.rsplit(".", 1)[-1])


OVERSIZE_ONLY = [
    # limits whose at-limit value cannot be accepted for another reason (format, uniqueness, time zone list)
    ("signup", "slug", "s" * 64),
    ("signup", "owner_email", long_email(255)),
    ("signup", "time_zone", "Z" * 65),
    ("token", "tenant", "t" * 64),
    ("token", "email", long_email(255)),
    ("token", "password", "p" * 257),
    ("create_patient", "phone", "1" * 33),
    ("create_patient", "communication.language", "en-" + "a" * 33),
    ("create_patient", "communication.time_zone", "Z" * 65),
    ("create_patient", "address.line", ["a", "b", "c", "d", "e"]),
    ("add_contact", "may_receive", ["billing"] * 5),
    ("create_user", "email", long_email(255)),
]


@pytest.mark.parametrize(("target_name", "path", "value"), OVERSIZE_ONLY)
async def test_oversize_values_are_named(
    client: Client, clinic: Clinic, target_name: str, path: str, value: Any
) -> None:
    response = await send_field(client, clinic, target_name, path, value)
    assert_validation_problem(response, path.rsplit(".", 1)[-1])


async def test_a_body_over_one_mebibyte_is_413(client: Client, clinic: Clinic) -> None:
    huge = patient_body(given_name="A" * (1024 * 1024 + 1))
    response = await send_json(client, clinic, "create_patient", huge)
    body = assert_problem(response, 413)
    assert body["title"]


async def test_a_body_over_one_mebibyte_is_413_on_a_public_route_too(client: Client, clinic: Clinic) -> None:
    raw = b'{"organization_name": "' + b"x" * (1024 * 1024 + 16) + b'"}'
    response = await send(client, clinic, "signup", content=raw, headers={"content-type": "application/json"})
    assert_problem(response, 413)


# -- values PostgreSQL would choke on never surface as 500 ---------------------------------------------------


@pytest.mark.parametrize(
    ("target_name", "path"),
    [
        ("create_patient", "given_name"),
        ("update_patient", "family_name"),
        ("add_contact", "name"),
        ("add_consent", "note"),
        ("signup", "organization_name"),
        ("create_user", "full_name"),
        ("token", "password"),
    ],
)
async def test_a_nul_character_in_text_is_a_4xx(client: Client, clinic: Clinic, target_name: str, path: str) -> None:
    response = await send_field(client, clinic, target_name, path, "Ada\u0000Lovelace")
    assert_problem(response)


# -- path ids and query parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/api/v1/patients/not-a-uuid"),
        ("PATCH", "/api/v1/patients/123"),
        ("DELETE", "/api/v1/patients/00000000-0000-0000-0000-00000000000g"),
        ("GET", "/api/v1/patients/not-a-uuid/contacts"),
        ("POST", "/api/v1/patients/not-a-uuid/consents"),
        ("PATCH", "/api/v1/patients/{patient_id}/contacts/abc"),
        ("POST", "/api/v1/patients/{patient_id}/consents/abc/revoke"),
        ("PATCH", "/api/v1/users/robert'); drop table students;--"),
    ],
)
async def test_non_uuid_path_ids_are_404_problems(client: Client, clinic: Clinic, method: str, url: str) -> None:
    url = url.format(patient_id=clinic.patient_id)
    response = await client.request(method, url, headers=clinic.headers, json={})
    assert_problem(response, 404)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=-1", "limit"),
        ("limit=1.5", "limit"),
        ("birth_date=yesterday", "birth_date"),
        ("birth_date=2023-02-30", "birth_date"),
        ("q=" + "q" * 101, "q"),
        ("mrn=" + "m" * 65, "mrn"),
        ("phone=" + "1" * 33, "phone"),
        ("name=" + "n" * 101, "name"),
        ("cursor=" + "c" * 601, "cursor"),
    ],
)
async def test_bad_query_parameters_are_named(client: Client, clinic: Clinic, query: str, field: str) -> None:
    response = await client.get(f"/api/v1/patients?{query}", headers=clinic.headers)
    assert_validation_problem(response, field)


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "W10",
        "WyJhIiwiYiIsIm5vdC1hLXV1aWQiXQ",
        "%00%00",
        "WyJcdTAwMDAiLCJiIiwiMDAwMDAwMDAtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAwIl0",
    ],
)
async def test_a_forged_cursor_is_a_4xx(client: Client, clinic: Clinic, cursor: str) -> None:
    response = await client.get(f"/api/v1/patients?cursor={cursor}", headers=clinic.headers)
    assert_problem(response)


@pytest.mark.parametrize("q", ["%25'%20or%201=1%20--", "%00", "%5C", "_%25_", "%F0%9F%98%80"])
async def test_hostile_search_text_is_harmless(client: Client, clinic: Clinic, q: str) -> None:
    response = await client.get(f"/api/v1/patients?q={q}", headers=clinic.headers)
    if response.status_code == 200:
        assert response.json()["items"] == []
    else:
        assert_problem(response)


# -- routing -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/nope", "/api/v2/patients", "/api/v1/patients/../../etc/passwd", "/.env"])
async def test_unknown_routes_are_404_problems(client: Client, clinic: Clinic, url: str) -> None:
    assert_problem(await client.get(url, headers=clinic.headers), 404)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("PUT", "/api/v1/patients"),
        ("DELETE", "/api/v1/signup"),
        ("GET", "/api/v1/auth/token"),
        ("PUT", "/api/v1/patients/{patient_id}"),
        ("POST", "/health"),
    ],
)
async def test_wrong_methods_are_405_problems(client: Client, clinic: Clinic, method: str, url: str) -> None:
    response = await client.request(method, url.format(patient_id=clinic.patient_id), headers=clinic.headers)
    assert_problem(response, 405)


# -- an unexpected failure is a bare 500 ---------------------------------------------------------------------


@get("/test-only/explode", opt={"public": True}, include_in_schema=False)
async def explode() -> None:
    raise RuntimeError('boom: SELECT secret FROM patients -- asyncpg File "/srv/core/secret.py", line 1')


async def test_an_unexpected_error_is_a_500_problem_without_a_trace(settings: Any) -> None:
    from core.app import create_app

    app = create_app(settings)
    app.register(explode)
    # No lifespan: the route needs neither the pool nor Redis, and the session app keeps using them.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/test-only/explode", headers={"X-Request-ID": "trace-me-12345"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["x-request-id"] == "trace-me-12345"
    body = response.json()
    assert body["status"] == 500
    assert body["title"] == "Internal Server Error"
    assert "boom" not in response.text
    assert not LEAKS.search(response.text), response.text


# --- values of the wrong JSON type are not converted into something else ----------------------------------------


async def test_a_number_is_not_taken_for_a_boolean_or_a_time(client: AsyncTestClient[Any], org: Org) -> None:
    """msgspec's lax mode, which litestar uses, read 0 as false and 0 as 1970-01-01 (core/http/strict_input.py)."""
    patient = await create_patient(client, org)
    contacts = f"/api/v1/patients/{patient['id']}/contacts"
    contact = {"name": "Kin", "relationship": "child", "is_emergency_contact": 0}
    refused = await client.post(contacts, headers=org.headers, json=contact)
    assert refused.status_code == 400, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["errors"] == [
        {"message": "Expected `bool`, got `int`", "key": "is_emergency_contact", "source": "body"}
    ]
    accepted = await client.post(contacts, headers=org.headers, json={**contact, "is_emergency_contact": False})
    assert accepted.status_code == 201, accepted.text

    entries = f"/api/v1/patients/{patient['id']}/chart-entries"
    entry = {"kind": "note", "title": "Call", "body": "", "occurred_at": 0}
    assert (await client.post(entries, headers=org.headers, json=entry)).status_code == 400
    entry["occurred_at"] = "2026-11-20T10:00:00Z"
    assert (await client.post(entries, headers=org.headers, json=entry)).status_code == 201


async def test_a_time_query_parameter_must_be_rfc_3339(client: AsyncTestClient[Any], org: Org) -> None:
    for bad in ("0.5", "1700000000", "yesterday"):
        refused = await client.get("/api/v1/audit-events", headers=org.headers, params={"until": bad})
        assert refused.status_code == 400, (bad, refused.text)
        assert refused.json()["errors"][0] == {
            "message": "until must be an RFC 3339 datetime",
            "key": "until",
            "source": "query",
        }
    ok = await client.get("/api/v1/audit-events", headers=org.headers, params={"until": "2026-11-24T10:00:00Z"})
    assert ok.status_code == 200, ok.text


async def test_a_date_query_parameter_stays_within_1900_to_2999(client: AsyncTestClient[Any], org: Org) -> None:
    """``?to=0001-01-01`` on a period route answered 500: the period's start was computed before year 1."""
    await client.put("/api/v1/admin/modules/insurance", headers=org.headers, json={"enabled": True})
    refused = await client.get("/api/v1/insurance/claims/summary", headers=org.headers, params={"to": "0001-01-01"})
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["message"] == "to must be in the years 1900 to 9000"
    ok = await client.get("/api/v1/insurance/claims/summary", headers=org.headers, params={"to": "2026-11-24"})
    assert ok.status_code == 200, ok.text


async def test_a_parameter_that_takes_one_value_refuses_several(client: AsyncTestClient[Any], org: Org) -> None:
    url = "/api/v1/audit-events?action=patient.read&action=patient.create"
    refused = await client.get(url, headers=org.headers)
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0] == {"message": "action takes one value", "key": "action", "source": "query"}
    assert (await client.get("/api/v1/audit-events?action=patient.read", headers=org.headers)).status_code == 200
