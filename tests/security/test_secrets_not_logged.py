"""No secret and no patient detail reaches the logs: a real ``carecoord serve`` at DEBUG level goes through
sign-up, login, MFA, token refresh, an API key, a channel secret, patient registration and search, a failed
login and logout; then its whole output is searched for every secret and identifying value it was given."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest

from tests.core.test_schemathesis import serving


@pytest.fixture
def server() -> Iterator[tuple[str, Path]]:
    with serving(log_level="DEBUG") as (base_url, log_path):
        yield base_url, Path(log_path)


def test_a_full_session_leaves_no_secret_in_the_log(server: tuple[str, Path]) -> None:
    base, log = server
    slug = f"logs-{secrets.token_hex(4)}"
    email = f"owner@{slug}.example"
    password = f"Pw-{secrets.token_urlsafe(12)}"
    wrong_password = f"Wrong-{secrets.token_urlsafe(12)}"
    smtp_password = f"smtp-{secrets.token_urlsafe(12)}"
    family = f"Zyx{secrets.token_hex(4)}"
    phone_digits = f"555{secrets.randbelow(10**7):07d}"
    given: dict[str, str] = {}

    with httpx.Client(base_url=base, timeout=30) as http:
        signup = {"organization_name": "Log Clinic", "slug": slug, "owner_email": email, "owner_password": password}
        assert http.post("/api/v1/signup", json=signup).status_code == 201
        login = http.post("/api/v1/auth/token", json={"tenant": slug, "email": email, "password": password})
        assert login.status_code == 200, login.text
        given["access token"] = login.json()["access_token"]
        given["refresh token"] = login.json()["refresh_token"]
        headers = {"Authorization": f"Bearer {given['access token']}"}

        enrolment = http.post("/api/v1/auth/mfa/enroll", headers=headers)
        assert enrolment.status_code == 200, enrolment.text
        given["TOTP secret"] = enrolment.json()["secret"]
        totp = pyotp.TOTP(given["TOTP secret"])
        assert http.post("/api/v1/auth/mfa/verify", headers=headers, json={"code": totp.now()}).status_code == 204
        time.sleep(max(0.0, 30.5 - time.time() % 30))  # a new step: the code just used cannot log in again
        with_code = {"tenant": slug, "email": email, "password": password, "totp": totp.now()}
        second = http.post("/api/v1/auth/token", json=with_code)
        assert second.status_code == 200, second.text
        refreshed = http.post("/api/v1/auth/refresh", json={"refresh_token": second.json()["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.text
        given["second refresh token"] = second.json()["refresh_token"]
        given["refreshed access token"] = refreshed.json()["access_token"]
        headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}

        key = http.post("/api/v1/api-keys", headers=headers, json={"name": "sync", "scopes": ["patients:read"]})
        assert key.status_code == 201, key.text
        given["API key"] = key.json()["key"]
        assert http.get("/api/v1/patients", headers={"X-API-Key": given["API key"]}).status_code == 200

        channel = {
            "enabled": True,
            "options": {"from_address": f"clinic@{slug}.example", "smtp_host": "127.0.0.1", "smtp_port": 2525},
            "secrets": {"smtp_password": smtp_password},
        }
        configured = http.put("/api/v1/admin/channels/email", headers=headers, json=channel)
        assert configured.status_code == 200, configured.text

        patient = {
            "mrn": f"MRN-{secrets.token_hex(4)}",
            "given_name": "Quentin",
            "family_name": family,
            "birth_date": "1961-02-03",
            "phone": f"+1 {phone_digits[:3]} {phone_digits[3:6]} {phone_digits[6:]}",
        }
        created = http.post("/api/v1/patients", headers=headers, json=patient)
        assert created.status_code == 201, created.text
        found = http.get("/api/v1/patients", headers=headers, params={"q": family})
        assert found.status_code == 200
        assert [p["family_name"] for p in found.json()["items"]] == [family]
        bad = {"tenant": slug, "email": email, "password": wrong_password, "totp": "000000"}
        assert http.post("/api/v1/auth/token", json=bad).status_code == 401
        assert http.post("/api/v1/auth/logout", headers=headers).status_code in (200, 204)

    time.sleep(0.5)  # the last lines reach the file
    text = log.read_text()
    # the server did log the session (one line a request, at the most verbose level): the search means something
    assert text.count('"event":"request"') >= 12, text[-2000:]
    assert "/api/v1/patients" in text
    given |= {
        "password": password,
        "wrong password": wrong_password,
        "SMTP password": smtp_password,
        "SECRET_KEY": os.environ["SECRET_KEY"],
        "patient's family name": family,
        "patient's phone": phone_digits[3:],
        "patient's MRN": patient["mrn"],
    }
    found_in_log = [what for what, value in given.items() if value in text]
    assert found_in_log == [], f"in the log: {found_in_log}"
