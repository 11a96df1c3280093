"""The transactional outbox and its relay, against real PostgreSQL and a Redis of the test's own."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import msgspec
import pytest

from core.db.tenant import tenant_transaction
from core.outbox.relay import pending_tenants, publish_pending, sweep
from core.outbox.service import enqueue_message
from tests.workers.conftest import enqueue_pings, queued_for, wait_for
from workers.broker import build_broker, publisher
from workers.scheduler import Scheduler


class RollbackError(Exception):
    pass


async def test_a_committed_row_becomes_exactly_one_message(
    org: Any, redis_server: Any, worker_settings: Any, app_loop: Any
) -> None:
    server = redis_server()
    settings = worker_settings(server.url)
    publish = publisher(build_broker(settings))
    (outbox_id,) = await app_loop(enqueue_pings, org.tenant_id, ["committed"])

    assert await app_loop(publish_pending, org.tenant_id, publish) == 1
    assert await app_loop(publish_pending, org.tenant_id, publish) == 0  # published rows are not sent again

    (message,) = queued_for(server.client(), settings.queue_namespace, "default", org.tenant_id)
    assert message["message_id"] == str(outbox_id)
    assert message["actor_name"] == "core.ping"
    assert message["kwargs"] == {
        "tenant_id": str(org.tenant_id),
        "payload": {"note": "committed"},
        "effect_key": f"outbox:{outbox_id}",
    }


async def test_a_rolled_back_transaction_sends_nothing(
    org: Any, redis_server: Any, worker_settings: Any, app_loop: Any
) -> None:
    server = redis_server()
    settings = worker_settings(server.url)

    async def write_then_fail() -> None:
        async with tenant_transaction(org.tenant_id) as tx:
            await enqueue_message(tx, tenant_id=org.tenant_id, actor_name="core.ping", payload={"note": "never"})
            raise RollbackError

    with pytest.raises(RollbackError):
        await app_loop(write_then_fail)
    assert await app_loop(publish_pending, org.tenant_id, publisher(build_broker(settings))) == 0
    assert org.tenant_id not in await app_loop(pending_tenants)
    assert queued_for(server.client(), settings.queue_namespace, "default", org.tenant_id) == []


async def test_redis_down_at_commit_delays_the_message_and_the_sweep_sends_it(
    org: Any, redis_server: Any, worker_settings: Any, owner_db: Any, app_loop: Any
) -> None:
    server = redis_server()
    settings = worker_settings(server.url)
    publish = publisher(build_broker(settings))
    server.kill()
    (outbox_id,) = await app_loop(enqueue_pings, org.tenant_id, ["while redis was down"])

    assert await app_loop(publish_pending, org.tenant_id, publish) == 0
    row = await owner_db.fetchrow("select published_at, attempts, last_error from outbox where id = $1", outbox_id)
    assert row["published_at"] is None
    assert row["attempts"] == 1
    assert "Error" in row["last_error"]
    assert org.tenant_id in await app_loop(pending_tenants)

    server.start()
    assert await app_loop(sweep, publish, older_than_seconds=0) >= 1
    (message,) = queued_for(server.client(), settings.queue_namespace, "default", org.tenant_id)
    assert message["message_id"] == str(outbox_id)
    assert await owner_db.fetchval("select published_at is not null from outbox where id = $1", outbox_id)


async def test_the_relay_publishes_on_commit_without_waiting_for_the_sweep(
    org: Any, redis_server: Any, worker_settings: Any, app_loop: Any, client: Any
) -> None:
    server = redis_server()
    settings = worker_settings(server.url)
    scheduler = Scheduler(settings, publisher(build_broker(settings)))
    relay = client.blocking_portal.start_task_soon(scheduler.relay)
    try:
        # a commit before the relay listens is the sweep's (not running here): wait for it, not a fixed delay
        await wait_for(lambda: asyncio.sleep(0, scheduler.listening), bool, what="the relay to listen")
        await app_loop(enqueue_pings, org.tenant_id, ["a", "b", "c"])
        messages = await wait_for(
            lambda: asyncio.to_thread(queued_for, server.client(), settings.queue_namespace, "default", org.tenant_id),
            lambda found: len(found) == 3,
            seconds=10,
            what="the relay to publish 3 messages",
        )
        assert sorted(m["kwargs"]["payload"]["note"] for m in messages) == ["a", "b", "c"]
    finally:
        client.blocking_portal.call(scheduler.stop.set)
        await asyncio.wrap_future(relay)


async def test_the_sweep_only_reveals_tenant_ids_to_the_app_role(owner_db: Any) -> None:
    """The relay's cross-tenant finder is a SECURITY DEFINER function that returns ids, nothing else."""
    definition = await owner_db.fetchrow(
        "select prosecdef, pg_get_function_result(oid) as result from pg_proc where proname = 'outbox_pending_tenants'"
    )
    assert definition["prosecdef"] is True
    assert definition["result"] == "SETOF uuid"
    assert not await owner_db.fetchval(
        "select has_function_privilege('public', 'outbox_pending_tenants(interval)', 'execute')"
    )


async def test_a_batch_is_one_round_trip_and_writes_what_enqueue_writes(
    org: Any, redis_server: Any, worker_settings: Any, app_loop: Any
) -> None:
    """The relay hands a batch to Redis in one pipeline (``Publisher.many``); the stored messages and
    the queue must be exactly what dramatiq's own ``enqueue`` would have left, in outbox order."""
    server = redis_server()
    settings = worker_settings(server.url)
    publish = publisher(build_broker(settings))
    client = server.client()
    ids = await app_loop(enqueue_pings, org.tenant_id, [f"n{i}" for i in range(30)])
    client.config_resetstat()

    assert await app_loop(publish_pending, org.tenant_id, publish) == 30

    stats = client.info("commandstats")
    assert stats["cmdstat_evalsha"]["calls"] == 30  # dramatiq's enqueue script, once per message
    queue = [raw.decode() for raw in client.lrange(f"{settings.queue_namespace}:default", 0, -1)]
    stored = {
        key.decode(): msgspec.json.decode(raw)
        for key, raw in client.hgetall(f"{settings.queue_namespace}:default.msgs").items()
    }
    assert sorted(queue) == sorted(stored)
    in_order = [stored[key] for key in queue]
    # the relay's order: created_at, then id (one transaction wrote them all, so by id)
    assert [message["message_id"] for message in in_order] == sorted(str(i) for i in ids)
    single = dramatiq_enqueue_of(publish, server, settings)
    assert {key for message in in_order for key in message} == set(single)
    assert {message["options"].keys() == single["options"].keys() for message in in_order} == {True}


def dramatiq_enqueue_of(publish: Any, server: Any, settings: Any) -> dict[str, Any]:
    """What ``broker.enqueue`` (the one-message path) stores, for comparison."""
    from core.outbox.relay import OutboundMessage

    marker = OutboundMessage(uuid.uuid4(), uuid.uuid4(), "core.ping", "default", {"note": "single"}, "k")
    publish(marker)
    found = [
        msgspec.json.decode(value)
        for value in server.client().hvals(f"{settings.queue_namespace}:default.msgs")
        if msgspec.json.decode(value)["message_id"] == str(marker.id)
    ]
    assert len(found) == 1
    return dict(found[0])
