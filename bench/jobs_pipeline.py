"""Job pipeline throughput: outbox enqueue, relay publish and worker processing.

Baselines measured in the same run, on the same Redis:
- ``redis-benchmark`` LPUSH and RPOP (raw Redis operations per second), when the binary is installed;
- bare Dramatiq: ``broker.enqueue`` of a no-op actor's messages, and a worker draining them.

carecoord's figures: committing outbox rows (one transaction each, as a request does), the relay
publishing them, and a worker running ``core.ping`` (tenant transaction + effect key + one insert).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "2000"))
THREADS = 8


def redis_benchmark(url: str) -> dict[str, float]:
    """Requests per second of LPUSH and RPOP, or an empty dict if redis-benchmark is not installed."""
    binary = shutil.which("redis-benchmark")
    if binary is None:
        return {}
    parts = urlsplit(url)
    target = (
        ["-s", parts.path]
        if parts.scheme == "unix"
        else ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 6379)]
    )
    out = subprocess.run(
        [binary, *target, "-t", "lpush,rpop", "-n", "50000", "-q"], capture_output=True, text=True, check=True
    ).stdout
    found = {}
    for name in ("LPUSH", "RPOP"):
        match = re.search(rf"{name}: ([\d.]+) requests per second", out)
        if match:
            found[name.lower()] = float(match.group(1))
    return found


async def _outbox_and_relay(tenant_id: UUID, publish: Any) -> dict[str, float]:
    from core.db.engine import close_pool, start_pool
    from core.db.tenant import tenant_transaction
    from core.outbox.relay import publish_pending
    from core.outbox.service import enqueue_message

    await start_pool(4)
    try:
        start = time.perf_counter()
        for i in range(MESSAGES):
            async with tenant_transaction(tenant_id) as tx:
                await enqueue_message(tx, tenant_id=tenant_id, actor_name="core.ping", payload={"note": f"b{i}"})
        enqueue_seconds = time.perf_counter() - start
        start = time.perf_counter()
        published = 0
        while published < MESSAGES:
            published += await publish_pending(tenant_id, publish)
        relay_seconds = time.perf_counter() - start
    finally:
        await close_pool()
    return {"outbox_commit": MESSAGES / enqueue_seconds, "relay_publish": MESSAGES / relay_seconds}


def _drain(broker: Any, queue: str, messages: int = MESSAGES) -> float:
    import dramatiq

    worker = dramatiq.Worker(broker, queues={queue}, worker_threads=THREADS)
    start = time.perf_counter()
    worker.start()
    broker.join(queue, timeout=600_000)
    seconds = time.perf_counter() - start
    worker.stop()
    return messages / seconds


def bare_dramatiq(broker: Any, messages: int = MESSAGES) -> tuple[float, float]:
    """The baseline on ``broker``: enqueue rate and drain rate (one worker, THREADS threads) of a no-op actor."""
    import dramatiq

    @dramatiq.actor(queue_name="bench_noop", broker=broker)
    def noop(n: int) -> None:
        return None

    start = time.perf_counter()
    for i in range(messages):
        noop.send(i)
    enqueue = messages / (time.perf_counter() - start)
    return enqueue, _drain(broker, "bench_noop", messages)


def noop_drain(messages: int = MESSAGES) -> dict[str, float]:
    """``bare_dramatiq`` on a broker of its own (a queue namespace of its own, flushed afterwards)."""
    import msgspec

    from core.settings import get_settings
    from workers.broker import build_broker

    settings = msgspec.structs.replace(get_settings(), queue_namespace=f"bench-noop-{os.getpid()}")
    broker = build_broker(settings, with_worker_middleware=True)
    try:
        enqueue, drain = bare_dramatiq(broker, messages)
    finally:
        broker.flush_all()
        broker.close()
    return {"enqueue": enqueue, "drain": drain, "messages": messages, "threads": THREADS}


def main() -> None:
    from core.testing import services

    started = services.start()
    try:
        run()
    finally:
        from core.testing.services import drop_database

        asyncio.run(drop_database(started.admin_url, started.database))
        started.embedded.stop()


def run() -> None:
    import msgspec

    from core.db.engine import close_pool, start_pool
    from core.platform import create_tenant
    from core.plugins.manager import get_host
    from core.settings import get_settings
    from core.tenancy.schemas import SignupRequest
    from workers.actors import bind_actors
    from workers.broker import build_broker, publisher

    settings = msgspec.structs.replace(get_settings(), queue_namespace=f"bench-{os.getpid()}")

    async def tenant() -> UUID:
        await start_pool(2)
        try:
            created = await create_tenant(
                SignupRequest(
                    organization_name="Bench jobs",
                    slug=f"bench-jobs-{os.getpid()}",
                    owner_email="bench@bench.example",
                    owner_password="bench-password-123",
                )
            )
            return created.id
        finally:
            await close_pool()

    tenant_id = asyncio.run(tenant())
    raw = redis_benchmark(settings.redis_url or "")

    broker = build_broker(settings, with_worker_middleware=True)
    bind_actors(broker, get_host())

    bare_enqueue, bare_process = bare_dramatiq(broker)

    ours = asyncio.run(_outbox_and_relay(tenant_id, publisher(broker)))
    ours_process = _drain(broker, "default")

    print(f"job pipeline, messages per second ({MESSAGES} messages, {THREADS} worker threads, one process)")
    rows = [
        ("redis-benchmark LPUSH (raw Redis op)", raw.get("lpush"), None),
        ("redis-benchmark RPOP (raw Redis op)", raw.get("rpop"), None),
        ("dramatiq enqueue, no-op actor (baseline)", bare_enqueue, None),
        ("dramatiq worker, no-op actor (baseline)", bare_process, None),
        ("carecoord outbox commit (1 row per transaction)", ours["outbox_commit"], bare_enqueue),
        ("carecoord relay publish", ours["relay_publish"], bare_enqueue),
        ("carecoord worker, core.ping (tenant tx + effect + insert)", ours_process, bare_process),
    ]
    print(f"{'':60} {'msg/s':>10} {'vs baseline':>12}")
    for name, value, baseline in rows:
        shown = f"{value:>10.0f}" if value else f"{'n/a':>10}"
        ratio = f"{value / baseline:>12.2f}" if value and baseline else f"{'':>12}"
        print(f"{name:60} {shown} {ratio}")


if __name__ == "__main__":
    main()
