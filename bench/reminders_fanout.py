"""Reminder fan-out: planning and sending reminders for 10,000 appointments of one tenant.

Data: 10,000 patients with an SMS consent and one booked appointment each, five days ahead, written
with COPY as the owner (seconds). Then, timed:

(a) planning: ``planning.plan_appointment`` (what ``appointment_booked`` and the sweep's repair call)
    for every appointment, 500 per tenant transaction, one connection: 3 touches per appointment;
(b) sending: one touch per appointment made due, then the ``reminders.sweep`` job run as a worker runs
    it (``run_job``: tenant transaction, effect key): claim, re-read the appointment, consent check,
    a ``reminder_deliveries`` row, ``request_notification`` (notification + outbox row), audit;
(c) relay + worker: the relay publishing the 10,000 ``notifications.send`` messages, then a Dramatiq
    worker (8 threads, one process) sending them to a local Twilio-style endpoint and following each
    back to its touch (``notification_status_changed``), within ``BENCH_DRAIN_SECONDS``.

Baselines in the same run: raw asyncpg ``executemany`` inserts of touch-sized rows (the floor of any
planning or sending that writes rows), ``redis-benchmark`` LPUSH (the floor of publishing), and bare
HTTP POSTs to the same endpoint with a new client per request, as the SMS channel does (the floor of
sending).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

APPOINTMENTS = int(os.environ.get("BENCH_APPOINTMENTS", "10000"))
BATCH = 500
DRAIN_SECONDS = float(os.environ.get("BENCH_DRAIN_SECONDS", "60"))
THREADS = 8
SINK_POSTS = 500
WORKER_BOOT_SECONDS = 4.0
NO_QUIET_HOURS = '{"quiet_hours_start": null, "quiet_hours_end": null}'


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _owner() -> Any:
    import asyncpg

    return await asyncpg.connect(os.environ["DATABASE_URL"])


async def _setup(sink_url: str) -> tuple[UUID, list[UUID]]:
    """A tenant with the module on, SMS configured to the sink, 10,000 consenting patients and bookings."""
    from core.db.engine import close_pool, start_pool
    from core.db.tenant import tenant_transaction
    from core.jobs.context import JobContext
    from core.notifications.channels.sms_provider import SmsChannel
    from core.notifications.config import save_config
    from core.platform import create_tenant
    from core.tenancy.schemas import SignupRequest

    await start_pool(2)
    try:
        tenant = await create_tenant(
            SignupRequest(
                organization_name="Bench reminders",
                slug=f"bench-reminders-{os.getpid()}",
                owner_email="bench@bench.example",
                owner_password="bench-password-123",
            )
        )
        tenant_id = tenant.id
        async with tenant_transaction(tenant_id) as tx:
            ctx = JobContext(
                module="notifications", tx=tx, tenant_id=tenant_id, settings=None, actor_name="bench", message_id="b"
            )
            await save_config(
                ctx.request_context(),
                SmsChannel(),
                enabled=True,
                options={"base_url": sink_url, "account_sid": "ACbench", "from_number": "+15550009999"},
                secret_changes={"auth_token": "bench-token-0123456789"},
            )
    finally:
        await close_pool()

    conn = await _owner()
    try:
        owner_id = await conn.fetchval("select id from users where tenant_id = $1 limit 1", tenant_id)
        await conn.execute(
            "insert into tenant_modules (tenant_id, module, enabled, settings) values ($1, 'reminders', true, $2)",
            tenant_id,
            NO_QUIET_HOURS,
        )
        await conn.execute("update tenants set modules_version = modules_version + 1 where id = $1", tenant_id)
        patients = [uuid.uuid4() for _ in range(APPOINTMENTS)]
        appointments = [uuid.uuid4() for _ in range(APPOINTMENTS)]
        start = (datetime.now(UTC) + timedelta(days=5)).replace(minute=0, second=0, microsecond=0)
        await conn.copy_records_to_table(
            "patients",
            columns=["tenant_id", "id", "mrn", "given_name", "family_name", "birth_date", "phone", "phone_digits"],
            records=[
                (
                    tenant_id,
                    p,
                    f"B{i:07d}",
                    "Bench",
                    f"Patient {i}",
                    datetime(1970, 1, 1).date(),
                    f"+1555{i:07d}",
                    f"1555{i:07d}",
                )
                for i, p in enumerate(patients)
            ],
        )
        await conn.copy_records_to_table(
            "patient_consents",
            columns=["tenant_id", "patient_id", "kind", "channel", "status", "recorded_by"],
            records=[(tenant_id, p, "channel", "sms", "granted", owner_id) for p in patients],
        )
        await conn.copy_records_to_table(
            "appointments",
            columns=[
                "tenant_id",
                "id",
                "patient_id",
                "location",
                "start_at",
                "end_at",
                "time_zone",
                "status",
                "created_by",
            ],
            records=[
                (
                    tenant_id,
                    a,
                    p,
                    "Bench Clinic",
                    start + timedelta(minutes=i % 600),
                    start + timedelta(minutes=i % 600 + 30),
                    "UTC",
                    "booked",
                    owner_id,
                )
                for i, (a, p) in enumerate(zip(appointments, patients, strict=True))
            ],
        )
        # Statistics as a live database has them (autovacuum), not those of the empty tables of a new one.
        await conn.execute("analyze patients, patient_consents, appointments")
    finally:
        await conn.close()
    return tenant_id, appointments


async def _raw_insert_rate(tenant_id: UUID) -> float:
    """Rows per second of asyncpg executemany into a temporary table shaped like reminder_touches."""
    conn = await _owner()
    try:
        await conn.execute(
            "create temporary table bench_touches (tenant_id uuid, id uuid default gen_random_uuid(), kind text, "
            "subject_id uuid, subject_at timestamptz, patient_id uuid, touch_key text, send_at timestamptz, "
            "status text)"
        )
        now = datetime.now(UTC)
        rows = [
            (tenant_id, "appointment", uuid.uuid4(), now, uuid.uuid4(), "72h", now, "planned")
            for _ in range(APPOINTMENTS)
        ]
        started = time.perf_counter()
        async with conn.transaction():
            await conn.executemany(
                "insert into bench_touches (tenant_id, kind, subject_id, subject_at, patient_id, touch_key, send_at, "
                "status) values ($1, $2, $3, $4, $5, $6, $7, $8)",
                rows,
            )
        return APPOINTMENTS / (time.perf_counter() - started)
    finally:
        await conn.close()


async def _plan(tenant_id: UUID, appointments: list[UUID]) -> float:
    """Seconds to plan every appointment, ``BATCH`` per tenant transaction."""
    from core.db.engine import close_pool, start_pool
    from core.db.tenant import tenant_transaction
    from core.jobs.context import JobContext
    from core.plugins.manager import get_host
    from core.plugins.tenant_modules import tenant_modules
    from plugins.reminders.planning import plan_appointment

    host = get_host()
    await start_pool(2)
    try:
        now = datetime.now(UTC)
        started = time.perf_counter()
        for first in range(0, len(appointments), BATCH):
            async with tenant_transaction(tenant_id) as tx:
                modules = await tenant_modules(host, tx, tenant_id)
                ctx = JobContext(
                    module="reminders",
                    tx=tx,
                    tenant_id=tenant_id,
                    settings=modules.settings.get("reminders"),
                    actor_name="bench.plan",
                    message_id=f"plan-{first}",
                    plugins=host,
                )
                for appointment_id in appointments[first : first + BATCH]:
                    await plan_appointment(ctx, appointment_id, now=now)
        return time.perf_counter() - started
    finally:
        await close_pool()


async def _sweep(tenant_id: UUID) -> tuple[float, int]:
    """Make one touch per appointment due, then time the ``reminders.sweep`` job; (seconds, notifications)."""
    from core.db.engine import close_pool, start_pool
    from core.jobs.runner import run_job

    conn = await _owner()
    try:
        await conn.execute(
            "update reminder_touches set send_at = now() - interval '1 second' where id in (select distinct on "
            "(subject_id) id from reminder_touches where tenant_id = $1 and status = 'planned' "
            "order by subject_id, send_at)",
            tenant_id,
        )
        # Planning just wrote 30,000 touches into an empty table; autovacuum would have analyzed it by the
        # time they fall due. Without statistics the sweep's claim is planned for an empty table (minutes).
        await conn.execute("analyze reminder_touches")
    finally:
        await conn.close()
    await start_pool(2)
    try:
        started = time.perf_counter()
        await run_job("reminders.sweep", tenant_id=str(tenant_id), payload={}, message_id=uuid.uuid4().hex)
        seconds = time.perf_counter() - started
    finally:
        await close_pool()
    conn = await _owner()
    try:
        count = int(await conn.fetchval("select count(*) from notifications where tenant_id = $1", tenant_id))
    finally:
        await conn.close()
    return seconds, count


async def _relay(tenant_id: UUID, publish: Any) -> tuple[float, int]:
    from core.db.engine import close_pool, start_pool
    from core.outbox.relay import publish_pending

    await start_pool(2)
    try:
        started = time.perf_counter()
        published = 0
        while (batch := await publish_pending(tenant_id, publish)) > 0:
            published += batch
        return time.perf_counter() - started, published
    finally:
        await close_pool()


def _sink_count(url: str) -> int:
    import httpx

    return int(httpx.get(f"{url}/count", timeout=5).text)


async def _sink_rate(url: str) -> float:
    """Bare POSTs per second to the endpoint, 8 at a time, a new client per request (as the channel does)."""
    import httpx

    semaphore = asyncio.Semaphore(THREADS)

    async def post(i: int) -> None:
        async with semaphore, httpx.AsyncClient(timeout=20) as client:
            await client.post(f"{url}/2010-04-01/Accounts/ACbench/Messages.json", data={"To": f"+1{i}", "Body": "x"})

    started = time.perf_counter()
    await asyncio.gather(*(post(i) for i in range(SINK_POSTS)))
    return SINK_POSTS / (time.perf_counter() - started)


async def _settled(tenant_id: UUID) -> tuple[int, int]:
    conn = await _owner()
    try:
        row = await conn.fetchrow(
            "select count(*) filter (where status in ('sent', 'delivered')) as sent, "
            "count(*) filter (where status = 'sending') as sending from reminder_touches where tenant_id = $1",
            tenant_id,
        )
        return int(row["sent"]), int(row["sending"])
    finally:
        await conn.close()


def _worker(settings: Any) -> subprocess.Popen[bytes]:
    """A real ``carecoord worker`` process on the notifications queue."""
    env = {
        **os.environ,
        "REDIS_URL": settings.redis_url or "",
        "QUEUE_NAMESPACE": settings.queue_namespace,
        "LOG_LEVEL": "WARNING",
    }
    command = ["worker", "--processes", "1", "--threads", str(THREADS), "--queues", "notifications"]
    return subprocess.Popen(
        [sys.executable, "-m", "core.cli", *command],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _drain(tenant_id: UUID, expected: int, started: float) -> tuple[float, int]:
    """Wait until ``expected`` touches are sent (or the deadline); (seconds since ``started``, sent)."""
    sent = 0
    while time.perf_counter() - started < DRAIN_SECONDS:
        sent, _ = asyncio.run(_settled(tenant_id))
        if sent >= expected:
            break
        time.sleep(0.25)
    return time.perf_counter() - started, sent


def main() -> None:
    from core.testing import services

    started = services.start()
    try:
        run()
    finally:
        from core.testing.services import drop_database

        asyncio.run(drop_database(started.admin_url, started.database))
        started.embedded.stop()


@dataclass
class Figures:
    """What one fan-out measured; rates are derived by the caller (``run`` prints them, the suite adds rows)."""

    appointments: int
    setup_seconds: float
    raw_insert: float
    """asyncpg executemany of touch-sized rows, rows/s (the floor of planning and sending)."""
    plan_seconds: float
    sweep_seconds: float
    notifications: int
    relay_seconds: float
    published: int
    publish_seconds: float = 0.0
    """The relay's time in ``Publisher.many`` alone (the Redis side of the relay)."""
    sink_rate: float | None = None
    drain_seconds: float | None = None
    sent: int = 0
    posts: int = 0


def measure(*, drain: bool = True) -> Figures:
    """Set up the tenant and run (a), (b) and (c); with ``drain=False`` no worker or SMS endpoint runs
    and (c) stops after the relay (the suite's form: the worker's sending is not part of its table)."""
    import msgspec

    from core.settings import get_settings
    from workers.broker import build_broker, publisher

    settings = msgspec.structs.replace(get_settings(), queue_namespace=f"bench-fanout-{os.getpid()}")
    port = _free_port()
    sink_url = f"http://127.0.0.1:{port}"
    sink = subprocess.Popen([sys.executable, "-m", "bench.sms_sink", str(port)]) if drain else None
    try:
        deadline = time.monotonic() + 10
        while sink is not None:
            try:
                _sink_count(sink_url)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        begun = time.perf_counter()
        tenant_id, appointments = asyncio.run(_setup(sink_url))
        setup_seconds = time.perf_counter() - begun

        raw_insert = asyncio.run(_raw_insert_rate(tenant_id))
        sink_rate = asyncio.run(_sink_rate(sink_url)) if drain else None
        sink_before = _sink_count(sink_url) if drain else 0

        plan_seconds = asyncio.run(_plan(tenant_id, appointments))
        sweep_seconds, notifications = asyncio.run(_sweep(tenant_id))
        broker = build_broker(settings)
        publish = _TimedPublisher(publisher(broker))
        figures = Figures(
            len(appointments), setup_seconds, raw_insert, plan_seconds, sweep_seconds, notifications, 0.0, 0
        )
        if not drain:
            figures.relay_seconds, figures.published = asyncio.run(_relay(tenant_id, publish))
            figures.publish_seconds = publish.seconds
            _clear_queues(broker)
            return figures
        worker = _worker(settings)
        try:
            time.sleep(WORKER_BOOT_SECONDS)  # imports and pools: not part of the figure
            relay_started = time.perf_counter()
            figures.relay_seconds, figures.published = asyncio.run(_relay(tenant_id, publish))
            figures.publish_seconds = publish.seconds
            figures.drain_seconds, figures.sent = _drain(tenant_id, notifications, relay_started)
            figures.posts = _sink_count(sink_url) - sink_before
            figures.sink_rate = sink_rate
        finally:
            os.killpg(worker.pid, signal.SIGKILL)  # the figures are taken; nothing to finish
            worker.wait()
        return figures
    finally:
        if sink is not None:
            sink.terminate()
            sink.wait()


class _TimedPublisher:
    """The relay's publisher, timing its batches (``many``): how much of the relay is Redis."""

    def __init__(self, publish: Any) -> None:
        self.publish = publish
        self.seconds = 0.0

    def __call__(self, message: Any) -> None:
        self.publish(message)

    def many(self, messages: Any) -> None:
        started = time.perf_counter()
        try:
            self.publish.many(messages)
        finally:
            self.seconds += time.perf_counter() - started


def _clear_queues(broker: Any) -> None:
    """The published messages have no worker in the suite: delete the run's queues from Redis."""
    keys = list(broker.client.scan_iter(match=f"{broker.namespace}:*", count=1000))
    if keys:
        broker.client.delete(*keys)


def run() -> None:
    from bench.jobs_pipeline import redis_benchmark
    from core.settings import get_settings

    lpush = redis_benchmark(get_settings().redis_url or "").get("lpush")
    figures = measure(drain=True)
    n, notifications = figures.appointments, figures.notifications
    raw_insert, sink_rate = figures.raw_insert, figures.sink_rate or 0.0
    plan_seconds, sweep_seconds, relay_seconds = figures.plan_seconds, figures.sweep_seconds, figures.relay_seconds
    drain_seconds, sent, published = figures.drain_seconds or 0.0, figures.sent, figures.published
    print(
        f"reminder fan-out: {n} appointments of one tenant (data written with COPY in {figures.setup_seconds:.1f} s), "
        f"planning and sweep on one connection, one `carecoord worker` process with {THREADS} threads"
    )
    rows: list[tuple[str, float | None, str, float | None]] = [
        ("asyncpg executemany, touch-sized rows (baseline)", raw_insert, "rows/s", None),
        ("redis-benchmark LPUSH (baseline)", lpush, "ops/s", None),
        ("HTTP POST to the SMS endpoint, new client each (baseline)", sink_rate, "req/s", None),
        ("(a) planning: plan_appointment, 500 per tx", n / plan_seconds, "appts/s", raw_insert / 3),
        ("    touch rows written by planning", 3 * n / plan_seconds, "rows/s", raw_insert),
        (f"(b) sending: reminders.sweep -> {notifications} notifications", notifications / sweep_seconds,
         "touches/s", raw_insert),
        (f"(c) relay: {published} notifications.send published", published / relay_seconds, "msg/s", lpush),
        (f"(c) relay + worker: {sent} touches sent and followed", sent / drain_seconds, "touches/s",
         sink_rate),
    ]  # fmt: skip
    print(f"{'':66} {'rate':>10} {'unit':>10} {'vs baseline':>12}")
    for name, value, unit, baseline in rows:
        shown = f"{value:>10.0f}" if value else f"{'n/a':>10}"
        ratio = f"{value / baseline:>12.3f}" if value and baseline else f"{'':>12}"
        print(f"{name:66} {shown} {unit:>10} {ratio}")
    posts = figures.posts
    print(
        f"timings: planning {plan_seconds:.1f} s, sweep {sweep_seconds:.1f} s, relay {relay_seconds:.1f} s, "
        f"relay + worker {drain_seconds:.1f} s ({sent}/{notifications} touches sent, {posts} POSTs received"
        f"{'' if sent >= notifications else f', stopped at BENCH_DRAIN_SECONDS={DRAIN_SECONDS:.0f}'})"
    )


if __name__ == "__main__":
    main()
