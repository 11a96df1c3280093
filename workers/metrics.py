"""Prometheus metrics of the background processes.

Workers record per actor and tenant; with several worker processes prometheus_client's
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set by ``carecoord worker``) aggregates them
and the worker serves them on ``METRICS_PORT``. The scheduler reports queue depths.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from prometheus_client import Counter, Gauge, Histogram


@dataclass(frozen=True)
class JobMetricSet:
    processed: Any
    duration: Any


@lru_cache(maxsize=1)
def job_metrics() -> JobMetricSet:
    return JobMetricSet(
        processed=Counter(
            "carecoord_jobs_processed_total",
            "Deliveries processed, by actor, tenant and outcome (ok, retry, dead).",
            ["actor", "tenant", "outcome"],
        ),
        duration=Histogram("carecoord_job_duration_seconds", "Time an actor took, by actor.", ["actor"]),
    )


@lru_cache(maxsize=1)
def queue_gauges() -> dict[str, Any]:
    def gauge(name: str, text: str, labels: tuple[str, ...] = ("queue",)) -> Any:
        return Gauge(name, text, list(labels), multiprocess_mode="max")

    return {
        "depth": gauge("carecoord_queue_depth", "Messages waiting, by queue."),
        "delayed": gauge("carecoord_queue_delayed", "Messages delayed (retries), by queue."),
        "dead": gauge("carecoord_queue_dead", "Messages in the broker's dead-letter queue, by queue."),
    }
