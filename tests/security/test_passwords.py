"""New passwords: easy-to-guess ones are refused (zxcvbn, offline), breached ones too when a k-anonymity range
API is configured (a real HTTP server here, which records what it was asked), and an outage there does not
stop sign-ups."""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import Org

Client = AsyncTestClient[Any]
BREACHED = "violet tractor harbour melody"  # strong to zxcvbn; the range server below says it was breached


def signup_body(password: str) -> dict[str, str]:
    slug = f"pw-{secrets.token_hex(4)}"
    return {
        "organization_name": "Password Clinic",
        "slug": slug,
        "owner_email": f"owner@{slug}.example",
        "owner_password": password,
    }


class RangeServer:
    """A "Have I Been Pwned"-style ``/range/{first five hex digits of the SHA-1}`` server."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        digest = hashlib.sha1(BREACHED.encode()).hexdigest().upper()
        breached = {digest[:5]: f"{digest[5:]}:42"}
        asked = self.asked

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                asked.append(self.path)
                prefix = self.path.rsplit("/", 1)[-1]
                body = "\r\n".join(["0018A45C4D1DEF81644B54AB7F969B88D65:1", breached.get(prefix, "")]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/range/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def range_api(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[RangeServer]:
    server = RangeServer()
    configured = msgspec.structs.replace(settings, breached_passwords_url=server.url)
    monkeypatch.setattr("core.auth.password_policy.get_settings", lambda: configured)
    yield server
    server.close()


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("password1234", "very common password"),
        ("qwertyuiop12", "similar to a commonly used password"),
        ("aaaaaaaaaaaa", "Repeats like"),
    ],
)
async def test_sign_up_refuses_an_easy_password_with_advice(client: Client, password: str, why: str) -> None:
    refused = await client.post("/api/v1/signup", json=signup_body(password))
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["errors"][0]["key"] == "owner_password"
    assert why in problem["detail"]
    assert "passphrase" in problem["detail"]


async def test_a_password_made_of_the_accounts_own_details_is_refused(client: Client) -> None:
    body = signup_body("x")
    body["owner_password"] = body["owner_email"]  # long enough, and the first thing an attacker tries
    refused = await client.post("/api/v1/signup", json=body)
    assert refused.status_code == 422, refused.text
    assert (await client.post("/api/v1/signup", json=signup_body("correct horse battery staple"))).status_code == 201


async def test_adding_a_user_applies_the_same_policy(client: Client, org: Org) -> None:
    body = {"email": f"weak-{secrets.token_hex(3)}@{org.slug}.example", "password": "iloveyou1234", "role": "viewer"}
    refused = await client.post("/api/v1/users", headers=org.headers, json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["key"] == "password"
    body["password"] = "lantern orchard pebble anthem"
    assert (await client.post("/api/v1/users", headers=org.headers, json=body)).status_code == 201


async def test_a_breached_password_is_refused_and_only_a_hash_prefix_leaves(client: Client, range_api: Any) -> None:
    refused = await client.post("/api/v1/signup", json=signup_body(BREACHED))
    assert refused.status_code == 422, refused.text
    assert "42 data breaches" in refused.json()["detail"]
    accepted = await client.post("/api/v1/signup", json=signup_body("marble quiet lantern sorrow"))
    assert accepted.status_code == 201, accepted.text

    assert len(range_api.asked) == 2
    for path in range_api.asked:
        prefix = path.rsplit("/", 1)[-1]
        assert len(prefix) == 5
        assert int(prefix, 16) >= 0
    full = hashlib.sha1(BREACHED.encode()).hexdigest().upper()
    assert all(full not in path and "violet" not in path for path in range_api.asked)


async def test_an_unreachable_breach_service_does_not_stop_sign_ups(
    client: Client, range_api: Any, caplog: pytest.LogCaptureFixture
) -> None:
    range_api.close()  # nothing listens there any more
    accepted = await client.post("/api/v1/signup", json=signup_body(BREACHED))
    assert accepted.status_code == 201, accepted.text
    assert any("breached-password check unavailable" in r.getMessage() for r in caplog.records)
