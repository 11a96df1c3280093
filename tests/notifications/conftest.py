"""Real servers for the notification tests: an SMTP server (aiosmtpd) and a Twilio-style HTTP provider.

Both run in this process on free local ports. The provider records every request (path,
basic-auth credentials, form fields) and answers like Twilio: 201 with a ``sid``.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl
from uuid import UUID

import msgspec
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from litestar.testing import AsyncTestClient

from core.db.tenant import tenant_transaction
from core.jobs.runner import run_job
from core.testing.fixtures import in_app_loop

SMTP_USER = "mailer"
SMTP_PASSWORD = "smtp-secret-" + secrets.token_hex(4)


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: Message
    login: str | None
    at: float = field(default_factory=time.monotonic)
    """When the server accepted it (``time.monotonic()``)."""


class RecordingHandler:
    def __init__(self) -> None:
        self.received: list[ReceivedMail] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self.received.append(
            ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content), login)
        )
        return "250 Message accepted for delivery"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == SMTP_USER.encode()
        and auth_data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: RecordingHandler

    @property
    def received(self) -> list[ReceivedMail]:
        return self.handler.received


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    handler = RecordingHandler()
    with socket.socket() as probe:  # aiosmtpd connects to its own port at start, so it cannot be 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, authenticator=_authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, handler)
    finally:
        controller.stop()


@pytest.fixture
def platform_smtp(monkeypatch: pytest.MonkeyPatch, settings: Any, smtp_server: SmtpServer) -> SmtpServer:
    """The platform's account sender (``PLATFORM_SMTP_URL``) pointed at the test SMTP server, for the worker:
    account e-mails of organizations without an e-mail channel of their own go there."""
    url = (
        f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@{smtp_server.host}:{smtp_server.port}"
        "?from=no-reply@carecoord.test&security=none"
    )
    patched = msgspec.structs.replace(settings, platform_smtp_url=url)
    monkeypatch.setattr("core.notifications.delivery.get_settings", lambda: patched)
    return smtp_server


@contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` served on a free local port in a thread; its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True  # a handler still waiting does not hold up the shutdown
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class ProviderRequest:
    path: str
    username: str
    password: str
    form: dict[str, str]
    headers: dict[str, str]


def read_provider_request(handler: BaseHTTPRequestHandler) -> ProviderRequest | None:
    """The form-encoded POST ``handler`` is serving; None when its sender died between headers and body
    (a worker killed mid-send): a real API processes no cut-off request."""
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length)
    if len(body) < length:
        handler.close_connection = True
        return None
    scheme, _, encoded = (handler.headers.get("Authorization") or "").partition(" ")
    username, _, password = base64.b64decode(encoded).decode().partition(":") if scheme == "Basic" else ("", "", "")
    form = dict(parse_qsl(body.decode()))
    return ProviderRequest(handler.path, username, password, form, dict(handler.headers))


@dataclass
class ProviderServer:
    base_url: str
    requests: list[ProviderRequest] = field(default_factory=list)
    answer_status: int = 201

    def sid(self) -> str:
        return f"SM{len(self.requests):032d}"


@pytest.fixture
def provider_server() -> Iterator[ProviderServer]:
    state = ProviderServer(base_url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = read_provider_request(self)
            if request is None:
                return
            state.requests.append(request)
            if state.answer_status >= 400:
                body = {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}
            else:
                body = {"sid": state.sid(), "status": "queued"}
            data = json.dumps(body).encode()
            self.send_response(state.answer_status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with http_server(Handler) as base_url:
        state.base_url = base_url
        yield state


async def _run_queued(tenant_id: UUID, attempt: int) -> list[str]:
    async with tenant_transaction(tenant_id) as tx:
        rows = await tx.fetch(
            "update outbox set published_at = now() where published_at is null and actor_name like 'notifications.%' "
            "returning id, actor_name, payload, effect_key, idempotency_key, created_at"
        )
    outcomes = []
    for row in sorted(rows, key=lambda r: r["created_at"]):
        outcomes.append(
            await run_job(
                row["actor_name"],
                tenant_id=str(tenant_id),
                payload=msgspec.json.decode(row["payload"]),
                message_id=str(row["id"]),
                effect_key=row["effect_key"] or row["idempotency_key"],
                attempt=attempt,
            )
        )
    return outcomes


async def run_queued(client: AsyncTestClient[Any], tenant_id: UUID, *, attempt: int = 0) -> list[str]:
    """Run every unpublished notification message of the tenant as the worker would; returns outcomes.

    Each message is marked published first (what the relay does) so it runs once per call; the
    outbox row's effect key is passed on exactly as the relay publishes it. Runs in the app's loop,
    where the connection pool lives.
    """
    result: list[str] = await in_app_loop(client, _run_queued, tenant_id, attempt)
    return result


async def deliver(client: AsyncTestClient[Any], tenant_id: UUID, message: dict[str, Any], **overrides: Any) -> str:
    """One delivery of ``message`` (an outbox row) through ``run_job``; ``overrides`` change its fields."""
    arguments: dict[str, Any] = {
        "tenant_id": str(tenant_id),
        "payload": message["payload"],
        "message_id": str(message["id"]),
        "effect_key": message["effect_key"],
        **overrides,
    }
    outcome: str = await in_app_loop(client, run_job, message["actor_name"], **arguments)
    return outcome


async def _outbox(tenant_id: UUID) -> list[dict[str, Any]]:
    async with tenant_transaction(tenant_id) as tx:
        rows = await tx.fetch(
            "select id, actor_name, queue, payload, effect_key, published_at from outbox "
            "where actor_name like 'notifications.%' order by created_at"
        )
    return [{**dict(r), "payload": msgspec.json.decode(r["payload"])} for r in rows]


async def outbox_messages(client: AsyncTestClient[Any], tenant_id: UUID) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = await in_app_loop(client, _outbox, tenant_id)
    return result


@dataclass
class IdempotentProvider:
    """A Twilio-style SMS endpoint that records every request and hands each Idempotency-Key to a handset once
    (as an idempotent HTTP API does: a repeated request gets the first message's sid and reaches no handset).

    The first ``hold`` new messages are taken and their answers held back until ``release`` is set: sends
    in flight, for a test that kills the worker waiting on them.
    """

    hold: int = 0
    base_url: str = ""
    requests: list[ProviderRequest] = field(default_factory=list)
    handsets: list[tuple[str, str]] = field(default_factory=list)
    """(To, Idempotency-Key) of each message that actually went out."""
    accepted_at: list[float] = field(default_factory=list)
    """When each of them went out (``time.monotonic()``)."""
    sids: dict[str, str] = field(default_factory=dict)
    held: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accept(self, request: ProviderRequest) -> tuple[str, bool]:
        """Record the request; its sid, and whether to sit on the answer."""
        key = request.headers.get("Idempotency-Key", "")
        with self.lock:
            self.requests.append(request)
            if key in self.sids:
                return self.sids[key], False
            to = request.form["To"]  # before the key is taken: a request that fails here took nothing
            sid = f"SM{len(self.sids):032d}"
            self.sids[key] = sid
            self.handsets.append((to, key))
            self.accepted_at.append(time.monotonic())
            hold = len(self.held) < self.hold
            if hold:
                self.held.append(key)
            return sid, hold


@contextmanager
def running_idempotent_provider(hold: int = 0) -> Iterator[IdempotentProvider]:
    state = IdempotentProvider(hold=hold)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = read_provider_request(self)
            if request is None:
                return  # its Idempotency-Key stays unused, as at a real API
            sid, hold = state.accept(request)
            if hold:
                state.release.wait(timeout=60)  # the provider took it; the answer is "still on its way"
            data = json.dumps({"sid": sid, "status": "queued"}).encode()
            try:
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the worker that asked is dead

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with http_server(Handler) as base_url:
        state.base_url = base_url
        try:
            yield state
        finally:
            state.release.set()  # before the server stops: handlers may be holding answers
