"""Operators' gauges on the API's ``/metrics``: the broker's queue depths, read from Redis at scrape time.

Requests and latencies come from litestar's Prometheus middleware (paths grouped by route template,
so no id ever becomes a label). Nothing here carries a tenant, a patient or any other PHI: the
labels are queue names only. Tenant KPIs live in the metrics module's API, never here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector
from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger("carecoord.metrics")
CORE_QUEUES = ("notifications", "reports", "default")


class QueueDepthCollector(Collector):
    """Ready, delayed and dead messages per Dramatiq queue (keys of dramatiq's RedisBroker)."""

    def __init__(self, redis_url: str, namespace: str, queues: Iterable[str]) -> None:
        self._redis = Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._namespace = namespace
        self._queues = tuple(sorted(set(queues)))

    def collect(self) -> Iterator[GaugeMetricFamily]:
        ready = GaugeMetricFamily("carecoord_api_queue_depth", "Messages waiting, by queue.", labels=["queue"])
        delayed = GaugeMetricFamily("carecoord_api_queue_delayed", "Messages delayed (retries).", labels=["queue"])
        dead = GaugeMetricFamily("carecoord_api_queue_dead", "Messages dead-lettered, by queue.", labels=["queue"])
        up = GaugeMetricFamily("carecoord_api_queue_scrape_ok", "1 if the queues could be read from Redis.")
        try:
            pipe = self._redis.pipeline(transaction=False)
            for queue in self._queues:
                key = f"{self._namespace}:{queue}"
                pipe.llen(key)
                pipe.llen(f"{key}.DQ")
                pipe.zcard(f"{key}.XQ")
            counts: list[Any] = pipe.execute()
        except (RedisError, OSError) as exc:  # a scrape must answer even when Redis is away
            log.warning("queue depths unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        for index, queue in enumerate(self._queues):
            ready.add_metric([queue], counts[3 * index])
            delayed.add_metric([queue], counts[3 * index + 1])
            dead.add_metric([queue], counts[3 * index + 2])
        up.add_metric([], 1)
        yield from (ready, delayed, dead, up)


_registered: QueueDepthCollector | None = None


def register_queue_depths(redis_url: str, namespace: str, queues: Iterable[str]) -> None:
    """Add the collector to the process's default registry once (the app factory may run many times)."""
    global _registered
    if _registered is not None:
        REGISTRY.unregister(_registered)
    _registered = QueueDepthCollector(redis_url, namespace, [*CORE_QUEUES, *queues])
    REGISTRY.register(_registered)
