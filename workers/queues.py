"""Reading the broker's queues in Redis: depths for metrics and the admin API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workers.broker import QUEUES


def queue_depths(broker: Any, namespace: str, queues: tuple[str, ...] = QUEUES) -> dict[str, dict[str, int]]:
    """``{queue: {"ready": n, "delayed": n, "dead": n}}`` from the RedisBroker's keys."""
    client = broker.client
    depths = {}
    for queue in queues:
        depths[queue] = {
            "ready": int(client.llen(f"{namespace}:{queue}")),
            "delayed": int(client.llen(f"{namespace}:{queue}.DQ")),
            "dead": int(client.zcard(f"{namespace}:{queue}.XQ")),
        }
    return depths


def queue_depth_reporter(broker: Any, namespace: str) -> Callable[[], None]:
    """A function that copies the current depths into the Prometheus gauges."""
    from workers.metrics import queue_gauges

    gauges = queue_gauges()

    def report() -> None:
        for queue, depth in queue_depths(broker, namespace).items():
            gauges["depth"].labels(queue=queue).set(depth["ready"])
            gauges["delayed"].labels(queue=queue).set(depth["delayed"])
            gauges["dead"].labels(queue=queue).set(depth["dead"])

    return report
