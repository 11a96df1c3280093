"""Reminders exactly once with real processes: two schedulers, overlapping sweeps, a worker SIGKILLed mid-send.

An organization with the reminders module, SMS to a local Twilio-style endpoint and e-mail to aiosmtpd.
Twenty patients book appointments 90 minutes ahead (one catch-up touch each, due now): fourteen have SMS
consent, six only e-mail consent (SMS is refused at once, the touch falls back to e-mail). Two
``carecoord scheduler`` processes relay and sweep; the leader also fires the ``reminders.sweep`` cron
occurrence; two more sweeps and two more un-targeted dispatches are queued by hand so claims overlap.
The SMS endpoint holds the first requests it gets (the provider took them, the answer is still on its
way) and the worker is SIGKILLed then; a second worker finishes the work.

The provider dedupes by the ``Idempotency-Key`` header as an idempotent HTTP API does (core sends
``carecoord-{notification id}``): a repeated request gets the first message's sid and reaches no
handset. The test counts both: requests received and messages handed to handsets.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from core.db.tenant import tenant_transaction
from core.outbox.service import insert_message
from core.settings import Settings
from core.testing.fixtures import create_patient, enable_module
from tests.notifications.conftest import (  # noqa: F401 - smtp_server is a fixture
    IdempotentProvider,
    SmtpServer,
    running_idempotent_provider,
    smtp_server,
)
from tests.notifications.helpers import configure_email, configure_provider, grant
from tests.workers.conftest import wait_for
from tests.workers.test_worker_process import FAST_REQUEUE

SMS_PATIENTS = 14
EMAIL_ONLY_PATIENTS = 6
HELD = 2
"""SMS requests the endpoint accepts and then sits on: the sends in flight when the worker is killed."""
NO_QUIET_HOURS = {"quiet_hours_start": None, "quiet_hours_end": None}


@pytest.fixture
def idempotent_provider() -> Iterator[IdempotentProvider]:
    with running_idempotent_provider(hold=HELD) as provider:
        yield provider


class SchedulerProcess:
    def __init__(self, settings: Settings) -> None:
        env = {
            **os.environ,
            "REDIS_URL": settings.redis_url or "",
            "QUEUE_NAMESPACE": settings.queue_namespace,
            "SCHEDULER_TICK_SECONDS": "1",
            "OUTBOX_SWEEP_SECONDS": "1",
            "LOG_LEVEL": "WARNING",
        }
        self.process = subprocess.Popen([sys.executable, "-m", "core.cli", "scheduler"], env=env)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def start_scheduler() -> Iterator[Any]:
    started: list[SchedulerProcess] = []

    def start(settings: Settings) -> SchedulerProcess:
        scheduler = SchedulerProcess(settings)
        started.append(scheduler)
        return scheduler

    yield start
    for scheduler in started:
        scheduler.stop()


async def enqueue_extra_sweeps(tenant_id: UUID) -> None:
    """Two more sweeps and two more dispatches of every due touch, as overlapping schedulers would queue."""
    async with tenant_transaction(tenant_id) as tx:
        for n in range(2):
            for actor in ("reminders.sweep", "reminders.dispatch"):
                await insert_message(
                    tx, tenant_id=tenant_id, actor_name=actor, payload={}, idempotency_key=f"test:{actor}:{n}"
                )


async def test_each_touch_reaches_each_patient_once_with_two_schedulers_and_a_worker_killed_mid_send(
    client: Any,
    org: Any,
    owner_db: Any,
    smtp_server: SmtpServer,  # noqa: F811 - the fixture imported above
    idempotent_provider: IdempotentProvider,
    redis_server: Any,
    worker_settings: Any,
    start_worker: Any,
    start_scheduler: Any,
    app_loop: Any,
) -> None:
    provider = idempotent_provider
    await enable_module(client, org, "reminders", NO_QUIET_HOURS)
    await configure_provider(client, org, provider)  # type: ignore[arg-type] - same fields as ProviderServer
    await configure_email(client, org, smtp_server)

    start = (datetime.now(UTC) + timedelta(minutes=90)).replace(microsecond=0)
    phones: dict[str, str] = {}  # E.164 -> appointment id
    emails: dict[str, str] = {}
    for i in range(SMS_PATIENTS + EMAIL_ONLY_PATIENTS):
        phone, email = f"+1555301{i:04d}", f"patient{i}@example.net"
        patient = await create_patient(client, org, phone=phone, email=email, given_name=f"P{i}")
        await grant(client, org, patient["id"], "sms" if i < SMS_PATIENTS else "email")
        response = await client.post(
            "/api/v1/appointments",
            headers=org.headers,
            json={
                "patient_id": patient["id"],
                "start": (start + timedelta(minutes=i)).isoformat(),
                "end": (start + timedelta(minutes=i + 30)).isoformat(),
                "time_zone": "UTC",
                "location": "Riverside Clinic",
            },
        )
        assert response.status_code == 201, response.text
        (phones if i < SMS_PATIENTS else emails)[phone if i < SMS_PATIENTS else email] = response.json()["id"]
    touches = await owner_db.fetch(
        "select subject_id, status, send_at from reminder_touches where tenant_id = $1 and status = 'planned'",
        org.tenant_id,
    )
    assert len(touches) == SMS_PATIENTS + EMAIL_ONLY_PATIENTS  # one catch-up touch each, due now
    assert all(t["send_at"] <= datetime.now(UTC) + timedelta(minutes=1) for t in touches)
    await app_loop(enqueue_extra_sweeps, org.tenant_id)

    settings = worker_settings(redis_server().url)
    start_scheduler(settings)
    start_scheduler(settings)
    first = start_worker(settings, threads=4, **FAST_REQUEUE)

    async def progress() -> tuple[int, int, int]:
        mailed = await owner_db.fetchval(
            "select count(*) from notifications where tenant_id = $1 and channel = 'email' and status = 'sent'",
            org.tenant_id,
        )
        return len(provider.held), len(smtp_server.received), int(mailed)

    # The e-mails must be recorded sent, not only received: SMTP has no idempotency key, so an e-mail
    # whose worker dies between the server's 250 and the commit is sent again (documented, not tested here).
    await wait_for(
        progress,
        lambda p: p == (HELD, EMAIL_ONLY_PATIENTS, EMAIL_ONLY_PATIENTS),
        seconds=40,
        what="two SMS in flight and the fallback e-mails out and recorded",
    )
    first.kill()  # SIGKILL while the provider holds two accepted requests unanswered
    in_flight = list(provider.held)
    stranded = await owner_db.fetch(
        "select id from notifications where tenant_id = $1 and status = 'sending'", org.tenant_id
    )
    # the held ones, and maybe one claimed whose POST had not left yet
    assert set(in_flight) <= {f"carecoord-{r['id']}" for r in stranded}
    # The claims of the killed sends are fresh: a redelivery backs off, and the schedulers' release sweep
    # requeues them once they are older than NOTIFICATION_SEND_TIMEOUT_SECONDS (10 min). Age them instead of waiting.
    await owner_db.execute(
        "update notifications set claimed_at = now() - make_interval(secs => $2) where tenant_id = $1 "
        "and status = 'sending'",
        org.tenant_id,
        settings.notification_send_timeout_seconds + 1,
    )
    provider.release.set()
    start_worker(settings, threads=4, **FAST_REQUEUE)

    async def settled() -> list[str]:
        rows = await owner_db.fetch("select status from reminder_touches where tenant_id = $1", org.tenant_id)
        return sorted(r["status"] for r in rows)

    statuses = await wait_for(
        settled,
        lambda s: all(x in ("sent", "delivered", "failed", "skipped", "cancelled") for x in s),
        seconds=40,
        what="every touch settled",
    )
    await asyncio.sleep(3)  # past the 2 s heartbeat timeout: a late redelivery would show now
    total = SMS_PATIENTS + EMAIL_ONLY_PATIENTS
    assert statuses == ["sent"] * total + ["skipped"] * 2 * total  # the 72 h and 24 h touches: already past

    # both schedulers relayed; the leader fired one cron sweep; the sweeps and dispatches all ran
    cron = await owner_db.fetchval(
        "select count(*) from outbox where tenant_id = $1 and idempotency_key like 'cron:reminders.sweep:%'",
        org.tenant_id,
    )
    assert cron in (1, 2)  # the leader catches up on occurrences up to 10 min old: one or two of */5
    ran = await owner_db.fetch(
        "select actor_name, count(*) as n from job_effects where tenant_id = $1 and actor_name like 'reminders.%' "
        "group by actor_name",
        org.tenant_id,
    )
    ran_by_actor = {r["actor_name"]: r["n"] for r in ran}
    assert ran_by_actor["reminders.sweep"] == cron + 2
    assert ran_by_actor["reminders.dispatch"] == 2 + SMS_PATIENTS + EMAIL_ONLY_PATIENTS

    # touch of each notification (through the delivery log)
    rows = await owner_db.fetch(
        "select d.notification_id, d.channel, d.status, t.subject_id from reminder_deliveries d "
        "join reminder_touches t on t.id = d.touch_id where d.tenant_id = $1",
        org.tenant_id,
    )
    touch_of = {f"carecoord-{r['notification_id']}": str(r["subject_id"]) for r in rows}
    sms_per_touch: dict[tuple[str, str], int] = {}
    for to, key in provider.handsets:
        sms_per_touch[(to, touch_of[key])] = sms_per_touch.get((to, touch_of[key]), 0) + 1
    assert sms_per_touch == dict.fromkeys(phones.items(), 1)  # once, none missing

    # what went over the wire: the killed sends were requested again, under the same key, and deduped
    keys = [r.headers["Idempotency-Key"] for r in provider.requests]
    repeated = sorted(k for k in set(keys) if keys.count(k) > 1)
    assert repeated == sorted(in_flight)
    assert all(keys.count(k) == 2 for k in in_flight)
    assert len(provider.requests) == SMS_PATIENTS + HELD

    mail_per_recipient: dict[str, int] = {}
    for mail in smtp_server.received:
        for rcpt in mail.rcpt_tos:
            mail_per_recipient[rcpt] = mail_per_recipient.get(rcpt, 0) + 1
    assert mail_per_recipient == dict.fromkeys(emails, 1)

    by_channel = sorted((r["channel"], r["status"]) for r in rows)
    assert by_channel == sorted(
        [("sms", "sent")] * SMS_PATIENTS + [("sms", "suppressed"), ("email", "sent")] * EMAIL_ONLY_PATIENTS
    )
