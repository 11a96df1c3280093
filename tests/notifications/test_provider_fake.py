"""The idempotent SMS provider the fault and exactly-once tests count handsets with behaves like a real one.

A CI run of the fault test failed because the fake took an ``Idempotency-Key`` from a request whose
sender (a worker being SIGKILLed) died between its headers and its body: the fake kept the key but no
handset, so the worker's retry got the first sid back and the message counted as never delivered.
"""

from __future__ import annotations

import base64
import socket

import httpx

from tests.notifications.conftest import IdempotentProvider, running_idempotent_provider

MESSAGES = "/2010-04-01/Accounts/AC1/Messages.json"


def _headers_only(provider: IdempotentProvider, key: str) -> None:
    """What a sender killed after writing its headers leaves: a promised body that never comes."""
    host, port = provider.base_url.removeprefix("http://").split(":")
    auth = base64.b64encode(b"AC1:token").decode()
    with socket.create_connection((host, int(port)), timeout=5) as cut:
        cut.sendall(
            f"POST {MESSAGES} HTTP/1.1\r\nHost: provider\r\nAuthorization: Basic {auth}\r\n"
            f"Idempotency-Key: {key}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: 40\r\n\r\n".encode()
        )
        cut.shutdown(socket.SHUT_WR)  # the sender is gone
        assert cut.recv(1024) == b""  # the provider has handled it and hung up: no answer to a cut-off request


def _send(provider: IdempotentProvider, key: str, to: str) -> str:
    answer = httpx.post(
        provider.base_url + MESSAGES,
        data={"To": to, "From": "+15550000000", "Body": "See you soon."},
        auth=("AC1", "token"),
        headers={"Idempotency-Key": key},
    )
    assert answer.status_code == 201, answer.text
    sid: str = answer.json()["sid"]
    return sid


def test_a_request_cut_off_before_its_body_takes_no_key_and_the_retry_reaches_the_handset() -> None:
    with running_idempotent_provider() as provider:
        _headers_only(provider, "carecoord-cut")
        _send(provider, "carecoord-cut", "+15550000001")
        assert provider.handsets == [("+15550000001", "carecoord-cut")]


def test_a_repeated_key_gets_the_first_sid_and_reaches_no_handset_twice() -> None:
    with running_idempotent_provider() as provider:
        first = _send(provider, "carecoord-once", "+15550000002")
        again = _send(provider, "carecoord-once", "+15550000002")
        assert again == first
        assert provider.handsets == [("+15550000002", "carecoord-once")]
        assert len(provider.requests) == 2
