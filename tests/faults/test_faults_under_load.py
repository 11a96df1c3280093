"""Faults under load: the API and a worker SIGKILLed, PostgreSQL and Redis crashed and restarted, while
clients keep working. Nothing acknowledged is lost, no message is lost, none reaches a patient twice,
and the service recovers by itself (docs/security.md, "Faults under load").

The whole service runs as in production, in processes of its own: ``carecoord serve``, ``carecoord
worker`` (4 threads) and ``carecoord scheduler`` (relay, sweep, cron), against a PostgreSQL cluster and a
Redis (append-only file, fsync always) that this test owns, so it can crash them. Patients' messages go to
an SMTP server (aiosmtpd) and to a Twilio-style SMS endpoint that, like a real idempotent API, hands each
``Idempotency-Key`` to a handset once. ``tests/faults/load.py`` is the load: writers registering
patients, recording consent, sending a message, reading the patient back, retrying as a client does.

The test plays the supervisor a deployment has (systemd, Kubernetes): a killed process is started
again at once; PostgreSQL and Redis are started again after ``OUTAGE_SECONDS``. Nothing else is touched:
the processes that stay up must find their way back themselves.

What counts as a duplicate: a message reaching a handset twice (SMS: the provider's count) or the SMTP
server accepting two mails with one ``Message-ID``. The second is possible only in one window, which no
SMTP client can close (RFC 1047): between the server accepting the mail and PostgreSQL committing
``sent``, a worker killed or PostgreSQL crashing. Such a mail is sent again, once its claim is stale, with
the same Message-ID, which mail systems collapse; the test counts these and holds each of them to a send
that was in flight when the worker died or PostgreSQL crashed.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from core.testing.fixtures import create_organization_over_http, log_in_over_http
from core.testing.portal import portal_login_over_http
from tests.core.test_schemathesis import _free_port
from tests.faults.load import Load
from tests.faults.portal_reader import PortalReader
from tests.faults.processes import PostgresCluster, Service
from tests.notifications.conftest import (  # noqa: F401 - smtp_server is a fixture
    SMTP_PASSWORD,
    SMTP_USER,
    IdempotentProvider,
    SmtpServer,
    running_idempotent_provider,
    smtp_server,
)
from tests.workers.conftest import RedisServer

pytestmark = pytest.mark.faults

WRITERS = 6
WARMUP_SECONDS = 6.0
GAP_SECONDS = 8.0
"""Load between two faults: long enough for the service to be back at work before the next one."""
OUTAGE_SECONDS = 3.0
"""How long PostgreSQL and Redis stay down."""
SEND_TIMEOUT_SECONDS = 6
"""NOTIFICATION_SEND_TIMEOUT_SECONDS here (production: 600): a send the killed worker left is recovered soon."""
DRAIN_SECONDS = 120.0
SETTLE_SECONDS = 4.0
"""After the drain, how long to keep watching for a late duplicate (past the heartbeat timeout)."""
REPORT = Path(os.environ.get("TEST_ARTIFACTS_DIR", ".artifacts")) / "faults.json"


@dataclass
class Fault:
    name: str
    injected: float
    restored: float
    """When the killed process or the stopped server was started again."""
    in_flight: int = 0
    """Worker kill and PostgreSQL crash: notifications claimed (``sending``) whose outcome was cut off."""
    recovered: float | None = None
    """The first success after ``restored``: an API call for the API, PostgreSQL and Redis; a message handed
    to the SMTP server or the SMS endpoint for the worker."""
    portal_recovered: float | None = None
    """The first portal page served after ``restored`` (API, PostgreSQL and Redis)."""

    def figures(self) -> dict[str, Any]:
        recovery = None if self.recovered is None else round(self.recovered - self.restored, 2)
        outage = None if self.recovered is None else round(self.recovered - self.injected, 2)
        portal = None if self.portal_recovered is None else round(self.portal_recovered - self.restored, 2)
        return {
            "fault": self.name,
            "recovery_s": recovery,
            "disruption_s": outage,
            "portal_recovery_s": portal,
            "in_flight": self.in_flight,
        }


@dataclass
class Stack:
    postgres: PostgresCluster
    redis: RedisServer
    api: Service
    worker: Service
    scheduler: Service
    base_url: str
    admin_url: str


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    postgres = PostgresCluster()
    redis_dir = Path(tempfile.mkdtemp(prefix="carecoord-faults-redis-"))
    redis = RedisServer(redis_dir, aof=True)
    services: list[Service] = []
    try:
        postgres.start()
        redis.start()
        port = _free_port()
        env = {
            **os.environ,
            "DATABASE_URL": postgres.url,
            "REDIS_URL": redis.url,
            "ENV": "test",
            "LOG_LEVEL": "WARNING",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "PASSWORD_HASH_PROFILE": "cheapest",
            "LOGIN_RATE_LIMIT_PER_MINUTE": "100000",
            "QUEUE_NAMESPACE": f"faults-{secrets.token_hex(4)}",
            "WORKER_HEARTBEAT_TIMEOUT_MS": "2000",  # a dead worker's messages come back after 2 s (prod: 60 s)
            "WORKER_MAINTENANCE_CHANCE": "1000000",
            "NOTIFICATION_SEND_TIMEOUT_SECONDS": str(SEND_TIMEOUT_SECONDS),
            "SCHEDULER_TICK_SECONDS": "1",
            "OUTBOX_SWEEP_SECONDS": "1",
            "PORTAL_COOKIE_SECURE": "false",  # the portal reader's cookie jar keeps Secure cookies off plain HTTP
        }
        env.pop("APP_DATABASE_URL", None)
        migrate = Service("migrate", ["migrate"], env, tmp_path)
        migrate.start()
        assert migrate.process is not None
        assert migrate.process.wait(timeout=180) == 0, migrate.output()[-3000:]
        api = Service("api", ["serve", "--host", "127.0.0.1", "--port", str(port)], env, tmp_path)
        worker = Service("worker", ["worker", "--processes", "1", "--threads", "4"], env, tmp_path)
        scheduler = Service("scheduler", ["scheduler"], env, tmp_path)
        services += [api, worker, scheduler]
        for service in services:
            service.start()
        base_url = f"http://127.0.0.1:{port}"
        _wait_healthy(base_url, api)
        yield Stack(postgres, redis, api, worker, scheduler, base_url, postgres.url)
    finally:
        for service in services:
            if not service.stop(timeout=5):  # graceful shutdown is not what this test is about
                print(f"{service.name} did not exit within 5 s of SIGTERM:\n{service.output()[-2000:]}")
        redis.kill()
        postgres.close()


def _wait_healthy(base_url: str, api: Service, seconds: float = 60) -> float:
    """Poll /ready (PostgreSQL and Redis answer) until 200; return when it did."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert api.running(), f"the API exited:\n{api.output()[-3000:]}"
        try:
            if httpx.get(f"{base_url}/ready", timeout=2).status_code == 200:
                return time.monotonic()
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail(f"the API was not ready within {seconds:.0f} s:\n{api.output()[-3000:]}")


def _organization(
    base_url: str, smtp: SmtpServer, provider: IdempotentProvider
) -> tuple[dict[str, str], httpx.Cookies]:
    """Sign up an organization with e-mail and SMS configured; its owner's headers, and the cookies of the
    owner's portal session."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        slug, email = create_organization_over_http(http, "faults", "Fault Clinic")
        headers = log_in_over_http(http, slug, email)
        portal_login_over_http(http, slug, email)
        cookies = httpx.Cookies(http.cookies)
        channels = {
            "email": {
                "options": {
                    "from_address": "clinic@example.org",
                    "smtp_host": smtp.host,
                    "smtp_port": smtp.port,
                    "security": "none",
                    "username": SMTP_USER,
                },
                "secrets": {"smtp_password": SMTP_PASSWORD},
            },
            "sms": {
                "options": {
                    "base_url": provider.base_url,
                    "account_sid": "AC0123456789abcdef",
                    "from_number": "+15550009999",
                    "apply_quiet_hours": False,
                },
                "secrets": {"auth_token": "provider-auth-token-0123456789"},
            },
        }
        for channel, body in channels.items():
            configured = http.put(f"/api/v1/admin/channels/{channel}", headers=headers, json={"enabled": True, **body})
            assert configured.status_code == 200, configured.text
    return headers, cookies


def _deliveries(smtp: SmtpServer, provider: IdempotentProvider) -> list[float]:
    """When each message reached the SMTP server or a handset (the provider's accept time is its request's)."""
    return [mail.at for mail in smtp.received] + list(provider.accepted_at)


async def _sending(admin_url: str) -> set[str]:
    conn = await asyncpg.connect(admin_url)
    try:
        return {str(r["id"]) for r in await conn.fetch("select id from notifications where status = 'sending'")}
    finally:
        await conn.close()


async def test_the_service_rides_out_kills_and_restarts_under_load(
    stack: Stack,
    smtp_server: SmtpServer,  # noqa: F811 - the fixture imported above
) -> None:
    with running_idempotent_provider() as provider:
        await _run(stack, smtp_server, provider)


async def _run(stack: Stack, smtp: SmtpServer, provider: IdempotentProvider) -> None:
    headers, cookies = await asyncio.to_thread(_organization, stack.base_url, smtp, provider)
    load = Load(stack.base_url, headers, WRITERS)
    running = asyncio.create_task(load.run())
    portal = PortalReader(stack.base_url, cookies)
    reading = asyncio.create_task(portal.run())
    faults: list[Fault] = []
    stranded: set[str] = set()
    """Notifications claimed (``sending``) when their worker died or PostgreSQL crashed: the only ones whose
    e-mail may go out twice."""

    async def between_faults() -> None:
        await asyncio.sleep(GAP_SECONDS)
        assert not running.done(), running.exception() if running.done() else ""

    async def restart(name: str, stop: Callable[[], None], start: Callable[[], None], pause: float = 0) -> Fault:
        if stop == stack.postgres.crash:
            # Claimed just before the crash: read now as well, in case PostgreSQL takes longer to come back than
            # a claim takes to go stale, and a retry has already sent the message again when it is read below.
            stranded.update(await _sending(stack.admin_url))
        injected = time.monotonic()
        await asyncio.to_thread(stop)
        if stop == stack.worker.kill:  # what the dead worker had claimed: its sends were cut off
            stranded.update(await _sending(stack.admin_url))
        await asyncio.sleep(pause)
        await asyncio.to_thread(start)
        fault = Fault(name, injected, time.monotonic())
        if stop == stack.postgres.crash:  # claimed before the crash, the outcome's commit lost with it
            fault.in_flight = len(cut := await _sending(stack.admin_url))
            stranded.update(cut)
        elif stop == stack.worker.kill:
            fault.in_flight = len(stranded)
        faults.append(fault)
        await between_faults()
        return fault

    await asyncio.sleep(WARMUP_SECONDS)
    await restart("API SIGKILL", stack.api.kill, stack.api.start)
    await restart("worker SIGKILL", stack.worker.kill, stack.worker.start)
    await restart("PostgreSQL crash and restart", stack.postgres.crash, stack.postgres.start, OUTAGE_SECONDS)
    await restart("Redis SIGKILL and restart", stack.redis.kill, stack.redis.start, OUTAGE_SECONDS)
    load.stop()
    portal.stop()
    await asyncio.wait_for(running, 180)
    await asyncio.wait_for(reading, 30)
    stopped = time.monotonic()

    settled = await _drain(stack.admin_url)
    await asyncio.sleep(SETTLE_SECONDS)
    drained = time.monotonic()
    for fault in faults:
        if fault.name == "worker SIGKILL":
            later = [t for t in _deliveries(smtp, provider) if t >= fault.restored]
            fault.recovered = min(later) if later else None
        else:
            fault.recovered = load.first_success_after(fault.restored)
            fault.portal_recovered = portal.first_success_after(fault.restored)

    rows = await _rows(stack.admin_url)
    visits = [v for v in load.visits if v.done]
    mail_ids = Counter(str(mail.message["Message-ID"]) for mail in smtp.received)
    handsets = Counter(key for _, key in provider.handsets)
    email_notifications = {v.notification_id for v in visits if v.channel == "email"}
    sms_notifications = {v.notification_id for v in visits if v.channel == "sms"}
    duplicates_email = sum(n - 1 for n in mail_ids.values())
    server_errors = [a for a in load.attempts if a.outcome.isdigit() and int(a.outcome) >= 500 and a.outcome != "503"]

    figures = {
        "writers": WRITERS,
        "load_seconds": round(stopped - faults[0].injected + WARMUP_SECONDS, 1),
        "visits": len(load.visits),
        "visits_done": len(visits),
        "requests": len(load.attempts),
        "requests_ok": sum(a.succeeded for a in load.attempts),
        "answers_503": sum(a.outcome == "503" for a in load.attempts),
        "no_answer": sum(not a.outcome.isdigit() for a in load.attempts),
        "registrations_found_by_mrn": sum(v.found_by_mrn for v in visits),
        "faults": [f.figures() for f in faults],
        "patients_acknowledged": len(visits),
        "patients_lost": len({v.patient_id for v in visits} - rows["patients"]),
        "notifications_acknowledged": len(email_notifications | sms_notifications),
        "notifications_not_sent": len((email_notifications | sms_notifications) - rows["sent"]),
        "outbox_committed": rows["outbox"],
        "outbox_unpublished": rows["unpublished"],
        "emails_received": len(smtp.received),
        "email_duplicates_same_message_id": duplicates_email,
        "sms_requests": len(provider.requests),
        "sms_handset_duplicates": sum(n - 1 for n in handsets.values()),
        "portal_requests": len(portal.answers),
        "portal_pages_served": sum(a.succeeded for a in portal.answers),
        "portal_answers_503": sum(a.outcome == "503" for a in portal.answers),
        "portal_no_answer": sum(not a.outcome.isdigit() for a in portal.answers),
        "drain_seconds": round(settled, 1),
        "run_seconds": round(drained - faults[0].injected + WARMUP_SECONDS, 1),
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps({"figures": figures, "faults": [asdict(f) for f in faults]}, indent=2))
    print(json.dumps(figures, indent=2))

    assert not load.unexpected, load.unexpected[:5]
    assert not server_errors, f"answers other than 503 among the 5xx: {server_errors[:5]}"
    assert len(visits) >= 40, f"only {len(visits)} visits finished: the load proves little"
    assert all(f.recovered is not None for f in faults), figures["faults"]
    assert figures["answers_503"] + figures["no_answer"] > 0, "no client noticed any fault: the test proves nothing"
    # nothing acknowledged is lost
    assert figures["patients_lost"] == 0
    assert figures["notifications_not_sent"] == 0, figures
    assert rows["unpublished"] == 0
    # every message reached its patient; none twice (see the module docstring for the e-mail window)
    sms_keys = {f"carecoord-{n}" for n in sms_notifications}
    assert set(handsets) == sms_keys
    assert figures["sms_handset_duplicates"] == 0
    assert set(mail_ids) == {f"<{n}.{rows['tenant']}@notifications.carecoord>" for n in email_notifications}
    redelivered = {k for k, n in mail_ids.items() if n > 1}
    cut_off = {f"<{n}.{rows['tenant']}@notifications.carecoord>" for n in stranded}
    assert redelivered <= cut_off, f"sent twice though no fault cut its send off: {redelivered - cut_off}"
    assert all(mail_ids[k] == 2 for k in redelivered), "a cut-off send went out more than twice"
    # no request was answered 500 and no process logged one
    assert "unhandled error" not in stack.api.output()
    # the portal: the outage page or no answer while a fault lasted, never an error page; the session survived
    odd = [a for a in portal.answers if a.outcome.isdigit() and a.outcome not in ("200", "503")]
    assert not odd, odd[:5]
    assert all(a.retry_after and a.html for a in portal.answers if a.outcome == "503")
    assert not any(a.logged_out for a in portal.answers)
    assert figures["portal_answers_503"] > 0, "the portal met no outage: its part proves nothing"
    assert all(f.portal_recovered is not None for f in faults if f.name != "worker SIGKILL"), figures["faults"]
    assert "portal page failed" not in stack.api.output()


async def _drain(admin_url: str) -> float:
    """Wait until every outbox row is published and every notification has its outcome; seconds it took."""
    started = time.monotonic()
    deadline = started + DRAIN_SECONDS
    conn = await asyncpg.connect(admin_url)
    try:
        while True:
            pending = await conn.fetchval(
                "select (select count(*) from outbox where published_at is null)"
                " + (select count(*) from notifications where status in ('queued', 'sending', 'deferred'))"
            )
            if pending == 0:
                return time.monotonic() - started
            if time.monotonic() > deadline:
                statuses = await conn.fetch("select status, count(*) from notifications group by status")
                pytest.fail(f"not drained after {DRAIN_SECONDS:.0f} s: {pending} pending, {statuses}")
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


async def _rows(admin_url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(admin_url)
    try:
        tenant = await conn.fetchval("select id from tenants where slug like 'faults-%'")
        patients = {str(r["id"]) for r in await conn.fetch("select id from patients where tenant_id = $1", tenant)}
        sent = {
            str(r["id"])
            for r in await conn.fetch("select id from notifications where tenant_id = $1 and status = 'sent'", tenant)
        }
        outbox = await conn.fetchval("select count(*) from outbox where tenant_id = $1", tenant)
        unpublished = await conn.fetchval("select count(*) from outbox where published_at is null")
    finally:
        await conn.close()
    return {
        "tenant": str(tenant),
        "patients": patients,
        "sent": sent,
        "outbox": int(outbox),
        "unpublished": int(unpublished),
    }
