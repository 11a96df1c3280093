"""Property-based fuzzing from the app's own OpenAPI document: no input makes any API route (core's or an
installed plugin's, every module enabled) answer 5xx, every 4xx is a problem+json body, and every answer
keeps schemathesis' checks but one (status codes, content types, headers and bodies as documented,
malformed input refused, the Allow header right, no route open without a credential); the one left out is
"every schema-valid request is accepted", since the service validates more than a JSON schema says (an
IANA time zone, a date after another) and answers such requests 400.

The app runs as a real ``carecoord serve`` process on a free localhost port, with the session's
environment (its database, Redis and secret), so schemathesis' synchronous HTTP client never
touches the test session's event loop or connection pool (an in-process ASGI transport would run
the app on a second event loop against the session's asyncpg pool). Requests are made as the owner of a
fresh tenant; generated patient/contact/consent ids are swapped for real ones (except on DELETE)
so that the handlers behind the 404s are exercised too.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from core.testing.fixtures import sign_up_over_http
from tests.conftest import patient_body

# Generated strings are echoed in some messages (an unknown enum value), so look only for what
# no generated value plausibly contains; test_bad_input checks SQL and paths with controlled input.
LEAKS = re.compile(r"Traceback \(most recent call last\)|asyncpg\.exceptions|File \"/|site-packages/")
FUZZED_PATHS = r"^/api/v1/(?!auth/(logout|mfa/|refresh)|tenant/deletion)"
"""Every route of the API, core's and the installed plugins', except the few that would end the fuzzing
session itself: logout, MFA enrolment (it would demand codes from then on), token refresh (rotation revokes
the session on reuse) and the organization's deletion."""


@dataclass
class LiveApi:
    base_url: str
    headers: dict[str, str]
    ids: dict[str, str]
    """Real ``patient_id``/``contact_id``/``consent_id`` of the fuzzing tenant."""
    log_path: str


def _is_uuid(value: Any) -> bool:
    try:
        UUID(str(value))
    except ValueError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_healthy(base_url: str, server: subprocess.Popen[bytes], log_path: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            with open(log_path) as log:
                pytest.fail(f"carecoord serve exited with {server.returncode}:\n{log.read()}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail("carecoord serve did not become healthy within 60 s")


def _fuzzing_tenant(base_url: str) -> tuple[dict[str, str], dict[str, str]]:
    """Sign up a tenant over HTTP; return its owner's headers and one patient with a contact and a consent."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        headers = sign_up_over_http(http, "fuzz", "Fuzz Clinic")
        for module in ("referrals", "insurance", "reminders", "metrics", "partner_example"):  # their routes answer
            enabled = http.put(f"/api/v1/admin/modules/{module}", headers=headers, json={"enabled": True})
            assert enabled.status_code in (200, 404), enabled.text  # 404: not installed here
        patient = http.post("/api/v1/patients", headers=headers, json=patient_body())
        assert patient.status_code == 201, patient.text
        patient_id = patient.json()["id"]
        contact = http.post(
            f"/api/v1/patients/{patient_id}/contacts", headers=headers, json={"name": "Kin", "relationship": "child"}
        )
        assert contact.status_code == 201, contact.text
        consent = http.post(
            f"/api/v1/patients/{patient_id}/consents", headers=headers, json={"kind": "channel", "channel": "sms"}
        )
        assert consent.status_code == 201, consent.text
    ids = {"patient_id": patient_id, "contact_id": contact.json()["id"], "consent_id": consent.json()["id"]}
    return headers, ids


@contextmanager
def serving(log_level: str = "WARNING", env: dict[str, str | None] | None = None) -> Iterator[tuple[str, str]]:
    """A real ``carecoord serve`` on a free port with the session's environment at ``log_level`` (and ``env``
    on top: a value replaces, ``None`` removes); yields its base URL and the path of the file holding its
    whole output (deleted afterwards)."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    environment = {**os.environ, "LOG_LEVEL": log_level}
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    log_fd, log_path = tempfile.mkstemp(prefix="carecoord-serve-", suffix=".log")
    server = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=environment,
        stdout=log_fd,
        stderr=subprocess.STDOUT,
    )
    os.close(log_fd)
    try:
        _wait_until_healthy(base_url, server, log_path)
        yield base_url, log_path
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        os.unlink(log_path)


ANSWERS: Counter[str] = Counter()
"""Generated requests by kind (well-formed, malformed) and answer class, for docs/security.md."""
FIGURES = Path(os.environ.get("TEST_ARTIFACTS_DIR", ".artifacts")) / "fuzz.json"


@pytest.fixture(scope="module")
def live_api() -> Iterator[LiveApi]:
    with serving() as (base_url, log_path):
        headers, ids = _fuzzing_tenant(base_url)
        yield LiveApi(base_url, headers, ids, log_path)
    if ANSWERS:
        FIGURES.parent.mkdir(parents=True, exist_ok=True)
        FIGURES.write_text(json.dumps(dict(sorted(ANSWERS.items())), indent=2))
        print(f"fuzzing: {dict(sorted(ANSWERS.items()))}")


def _openapi_document() -> dict[str, Any]:
    """The document the app serves at /schema/openapi.json (checked against the live server below).

    It is built at collection time because schemathesis' lazy ``from_fixture`` loader does not
    work with pytest 9 (it sets ``node._nodeid``); building the app opens no connection.
    """
    from core.app import create_app
    from core.settings import get_settings

    return dict(create_app(get_settings()).openapi_schema.to_schema())


OPENAPI = _openapi_document()
schema = schemathesis.openapi.from_dict(OPENAPI).include(path_regex=FUZZED_PATHS)


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_generated_requests_never_get_a_server_error(case: schemathesis.Case, live_api: LiveApi) -> None:
    if case.method.upper() != "DELETE" and case.path_parameters:
        # Well-formed ids become the fixture's real ones (malformed ones stay, to probe routing);
        # DELETE keeps random ids so the fixture patient survives.
        case.path_parameters = {
            name: live_api.ids.get(name, value) if _is_uuid(value) else value
            for name, value in case.path_parameters.items()
        }
    if case.headers:
        # The document offers two credentials; the owner's bearer token is the one used.
        case.headers = {k: v for k, v in case.headers.items() if k.lower() not in ("authorization", "x-api-key")}
    response = case.call(base_url=live_api.base_url, headers=live_api.headers, timeout=30)
    malformed = case.meta is not None and case.meta.generation.mode.is_negative
    ANSWERS[f"{'malformed' if malformed else 'well-formed'} {response.status_code // 100}xx"] += 1
    if malformed and response.status_code < 300 and case.meta is not None:
        # which parts were malformed when the service still answered 2xx (schemathesis' negative-data check
        # decides whether that matters: e.g. an unknown header or query parameter is ignored by design)
        parts = sorted(str(location.value) for location, info in case.meta.components.items() if info.mode.is_negative)
        ANSWERS[f"malformed 2xx in {'+'.join(parts) or 'nothing'}"] += 1
    try:
        case.validate_response(response, excluded_checks=[positive_data_acceptance])
    except Exception:
        with open(live_api.log_path) as log:
            print(f"--- server log ---\n{log.read()[-5000:]}")
        raise
    if 400 <= response.status_code < 500:
        assert response.headers["content-type"][0].startswith("application/problem+json"), response.text
        assert response.json()["status"] == response.status_code
        assert not LEAKS.search(response.text), response.text


def test_the_fuzzed_document_is_the_one_the_server_serves(live_api: LiveApi) -> None:
    served = httpx.get(f"{live_api.base_url}/schema/openapi.json", timeout=10)
    assert served.status_code == 200
    assert served.json() == OPENAPI


def test_the_fuzzed_routes_are_every_api_route_but_those_ending_the_session() -> None:
    paths = {path for path in OPENAPI["paths"] if path.startswith("/api/")}
    fuzzed = {path for path in paths if re.match(FUZZED_PATHS, path)}
    left_out = {"/api/v1/auth/logout", "/api/v1/auth/refresh", "/api/v1/tenant/deletion"}
    left_out |= {path for path in paths if path.startswith("/api/v1/auth/mfa/")}
    assert fuzzed == paths - left_out
    for plugin_route in (
        "/api/v1/referrals/{referral_id}/transitions",
        "/api/v1/insurance/claims",
        "/api/v1/metrics/dashboard",
    ):
        assert plugin_route in fuzzed
    assert "/api/v1/patients/{patient_id}/consents/{consent_id}/revoke" in fuzzed
