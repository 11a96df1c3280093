"""Real `carecoord worker` processes: crashes, broker restarts, duplicates, dead letters, shutdown.

Effects are ``core.ping`` rows (``job_pings``), counted as the owner; every message goes
through the outbox and the relay as in production.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import dramatiq
import httpx
import pytest

from core.outbox.relay import OutboundMessage, publish_pending
from tests.workers.conftest import enqueue_pings, wait_for
from workers.broker import build_broker, publisher

FAST_REQUEUE = {"worker_heartbeat_timeout_ms": "2000", "worker_maintenance_chance": "1000000"}
"""A dead worker's unacked messages come back after 2 s (production: 60 s)."""


async def pings(owner_db: Any, tenant_id: Any) -> list[str]:
    rows = await owner_db.fetch("select note from job_pings where tenant_id = $1 order by note", tenant_id)
    return [r["note"] for r in rows]


async def test_sigkill_in_the_middle_of_a_batch_loses_nothing_and_duplicates_nothing(
    org: Any, redis_server: Any, worker_settings: Any, start_worker: Any, owner_db: Any, app_loop: Any
) -> None:
    settings = worker_settings(redis_server().url)
    notes = [f"batch-{i:02d}" for i in range(40)]
    await app_loop(enqueue_pings, org.tenant_id, notes, sleep_ms=100)
    assert await app_loop(publish_pending, org.tenant_id, publisher(build_broker(settings))) == 40

    first = start_worker(settings, threads=4, **FAST_REQUEUE)
    await wait_for(lambda: pings(owner_db, org.tenant_id), lambda done: len(done) >= 8, what="some effects")
    first.kill()
    done_before_the_crash = len(await pings(owner_db, org.tenant_id))
    assert done_before_the_crash < 40, "the worker finished before it was killed; the test proves nothing"

    start_worker(settings, threads=4, **FAST_REQUEUE)
    done = await wait_for(lambda: pings(owner_db, org.tenant_id), lambda d: len(d) >= 40, what="all 40 effects")
    await asyncio.sleep(3)  # past the heartbeat timeout: any late redelivery would show now
    assert await pings(owner_db, org.tenant_id) == notes == done
    effects = await owner_db.fetchval(
        "select count(*) from job_effects where tenant_id = $1 and actor_name = 'core.ping'", org.tenant_id
    )
    assert effects == 40


async def test_messages_queued_in_redis_survive_a_redis_crash_with_aof(
    org: Any, redis_server: Any, worker_settings: Any, start_worker: Any, owner_db: Any, app_loop: Any
) -> None:
    server = redis_server(aof=True)
    settings = worker_settings(server.url)
    notes = [f"aof-{i:02d}" for i in range(25)]
    await app_loop(enqueue_pings, org.tenant_id, notes)
    assert await app_loop(publish_pending, org.tenant_id, publisher(build_broker(settings))) == 25

    server.kill()  # SIGKILL: nothing is flushed on the way down
    server.start()
    start_worker(settings)
    await wait_for(lambda: pings(owner_db, org.tenant_id), lambda d: len(d) >= 25, what="25 effects")
    assert await pings(owner_db, org.tenant_id) == notes


async def test_a_message_delivered_five_times_has_one_effect(
    org: Any, redis_server: Any, worker_settings: Any, start_worker: Any, owner_db: Any, app_loop: Any
) -> None:
    settings = worker_settings(redis_server().url)
    publish = publisher(build_broker(settings))
    (outbox_id,) = await app_loop(enqueue_pings, org.tenant_id, ["once"])
    message = OutboundMessage(outbox_id, org.tenant_id, "core.ping", "default", {"note": "once"}, f"outbox:{outbox_id}")
    for _ in range(5):
        publish(message)
    await app_loop(enqueue_pings, org.tenant_id, ["after"])
    await app_loop(publish_pending, org.tenant_id, publish)  # "once" again (from the outbox) and "after"

    start_worker(settings, threads=2)
    await wait_for(lambda: pings(owner_db, org.tenant_id), lambda d: "after" in d, what="the marker")
    await asyncio.sleep(1)
    assert await pings(owner_db, org.tenant_id) == ["after", "once"]


async def test_failures_are_dead_lettered_per_tenant_and_a_replay_runs_the_job(
    org: Any,
    redis_server: Any,
    worker_settings: Any,
    start_worker: Any,
    owner_db: Any,
    app_loop: Any,
    client: Any,
) -> None:
    settings = worker_settings(redis_server().url)
    publish = publisher(build_broker(settings))
    await app_loop(enqueue_pings, org.tenant_id, ["permanent"], fail="permanent")
    await app_loop(publish_pending, org.tenant_id, publish)
    publish(OutboundMessage(org.tenant_id, org.tenant_id, "core.ping", "default", {"note": "x"}, "k"))
    # a message with no tenant at all: it can only be dead-lettered, to the operators' table
    orphan = dramatiq.Message(
        queue_name="default", actor_name="core.ping", args=(), kwargs={"payload": {"note": "orphan"}}, options={}
    )
    build_broker(settings).enqueue(orphan)

    start_worker(settings, threads=2)
    # The flaky job's failure window opens only once the worker runs jobs: its four attempts (backoff
    # 0.1-1 s) must all fall inside it, however long the worker took to boot on a busy machine.
    await wait_for(lambda: pings(owner_db, org.tenant_id), lambda d: "x" in d, what="the worker to run a job")
    soon = (datetime.now(UTC) + timedelta(seconds=8)).isoformat()
    await app_loop(enqueue_pings, org.tenant_id, ["flaky"], fail_until=soon)
    await app_loop(publish_pending, org.tenant_id, publish)

    async def letters() -> list[dict[str, Any]]:
        response = await client.get("/api/v1/admin/dead-letters", headers=org.headers)
        assert response.status_code == 200, response.text
        return list(response.json())

    found = await wait_for(letters, lambda rows: len(rows) >= 2, seconds=30, what="two dead letters")
    by_note = {row["payload"]["note"]: row for row in found}
    assert by_note["permanent"]["retries"] == 0
    assert "asked to fail permanently" in by_note["permanent"]["error"]
    assert by_note["flaky"]["retries"] == 3  # core.ping's max_retries, then given up
    assert "TransientPingError" in by_note["flaky"]["error"]
    assert await pings(owner_db, org.tenant_id) == ["x"]
    unrouted = await wait_for(
        lambda: owner_db.fetchrow(
            "select reason, message from unrouted_messages where message->'kwargs'->'payload'->>'note' = 'orphan'"
        ),
        lambda row: row is not None,
        what="the tenantless message in unrouted_messages",
    )
    assert "no valid tenant_id" in unrouted["reason"]

    await asyncio.sleep(max(0.0, (datetime.fromisoformat(soon) - datetime.now(UTC)).total_seconds()))
    replay = await client.post(f"/api/v1/admin/dead-letters/{by_note['flaky']['id']}/replay", headers=org.headers)
    assert replay.status_code == 202, replay.text
    assert replay.json()["dead_letter"]["replay_count"] == 1
    await app_loop(publish_pending, org.tenant_id, publish)
    await wait_for(lambda: pings(owner_db, org.tenant_id), lambda d: "flaky" in d, what="the replayed job")
    assert await pings(owner_db, org.tenant_id) == ["flaky", "x"]


@pytest.mark.parametrize("whole_group", [False, True], ids=["main-process", "process-group"])
async def test_sigterm_lets_the_running_job_finish_then_exits(
    org: Any,
    redis_server: Any,
    worker_settings: Any,
    start_worker: Any,
    owner_db: Any,
    app_loop: Any,
    whole_group: bool,
) -> None:
    """A container runtime signals the main process; systemd (``KillMode=control-group``) every process, so
    the worker process hears it twice (``workers.middleware.StopSignalOnce``): graceful either way."""
    settings = worker_settings(redis_server().url)
    await app_loop(enqueue_pings, org.tenant_id, ["slow"], sleep_ms=2500)
    await app_loop(publish_pending, org.tenant_id, publisher(build_broker(settings)))
    broker = build_broker(settings)
    worker = start_worker(settings, threads=1)

    def ready() -> int:
        from workers.queues import queue_depths

        return queue_depths(broker, settings.queue_namespace)["default"]["ready"]

    # Booted (its signal handlers installed) and the message taken: not a fixed delay, which a busy
    # machine can outlast before the worker has even started.
    await wait_for(lambda: asyncio.to_thread(ready), lambda n: n == 0, what="the worker took the message")
    await asyncio.sleep(0.5)  # inside the 2.5 s job
    assert await pings(owner_db, org.tenant_id) == []
    assert await asyncio.to_thread(worker.terminate, 30, whole_group=whole_group) == 0
    assert await pings(owner_db, org.tenant_id) == ["slow"]
    assert worker.process.returncode == 0


async def test_workers_export_per_actor_and_tenant_metrics_and_queues_report_depth(
    org: Any, redis_server: Any, worker_settings: Any, start_worker: Any, owner_db: Any, app_loop: Any
) -> None:
    from tests.workers.test_dev_command import free_port
    from workers.queues import queue_depths

    settings = worker_settings(redis_server().url)
    broker = build_broker(settings)
    await app_loop(enqueue_pings, org.tenant_id, ["m1", "m2"])
    await app_loop(enqueue_pings, org.tenant_id, ["m3"], fail="permanent")
    await app_loop(publish_pending, org.tenant_id, publisher(broker))
    assert queue_depths(broker, settings.queue_namespace)["default"]["ready"] == 3

    port = free_port()
    start_worker(settings, threads=2, worker_metrics_port=str(port), host="127.0.0.1")
    await wait_for(lambda: pings(owner_db, org.tenant_id), lambda d: len(d) == 2, what="two pings")

    async def scrape() -> str:
        try:
            async with httpx.AsyncClient() as http:
                return (await http.get(f"http://127.0.0.1:{port}/metrics")).text
        except httpx.HTTPError:
            return ""

    tenant = str(org.tenant_id)
    ok = f'carecoord_jobs_processed_total{{actor="core.ping",outcome="ok",tenant="{tenant}"}} 2.0'
    dead = f'carecoord_jobs_processed_total{{actor="core.ping",outcome="dead",tenant="{tenant}"}} 1.0'
    text = await wait_for(scrape, lambda t: ok in t and dead in t, seconds=20, what="the tenant's counters")
    assert "carecoord_job_duration_seconds_count" in text
    assert "dramatiq_messages_total" in text  # dramatiq's own per-queue and per-actor metrics
    depths = queue_depths(broker, settings.queue_namespace)["default"]
    assert depths["ready"] == 0
    assert depths["dead"] == 1


async def test_a_report_requested_over_http_is_built_by_a_real_worker_and_downloadable(
    client: Any, org: Any, redis_server: Any, worker_settings: Any, start_worker: Any, app_loop: Any
) -> None:
    settings = worker_settings(redis_server().url)
    started = await client.post(
        "/api/v1/reports/tasks_overdue_by_owner/runs", headers=org.headers, json={"format": "xlsx"}
    )
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    assert await app_loop(publish_pending, org.tenant_id, publisher(build_broker(settings))) == 1
    start_worker(settings, threads=2)

    async def status() -> dict[str, Any]:
        return dict((await client.get(f"/api/v1/reports/runs/{run_id}", headers=org.headers)).json())

    run = await wait_for(status, lambda r: r["status"] in {"done", "failed"}, what="the report run")
    assert run["status"] == "done", run
    assert run["progress"] == 100
    download = await client.get(f"/api/v1/reports/runs/{run_id}/file", headers=org.headers)
    assert download.status_code == 200
    assert download.content[:2] == b"PK"  # an XLSX (zip) file
