"""Worker middleware: the database pool on the async loop, dead-letter copies, per-tenant metrics, and one
graceful stop for a stop signal delivered twice."""

from __future__ import annotations

import logging
import os
import signal
import time
from typing import Any
from uuid import UUID

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from core.db.engine import close_pool, start_pool
from core.jobs.dead_letters import record_dead_letter
from core.jobs.errors import PermanentError, TenantMissingError
from core.jobs.runner import parse_tenant

log = logging.getLogger("carecoord.worker")


def run_on_loop(coroutine: Any) -> Any:
    """Run ``coroutine`` on the worker's asyncio loop thread (where the pool lives) and wait."""
    thread = get_event_loop_thread()
    if thread is None:
        raise RuntimeError("the AsyncIO middleware must come before this one")
    return thread.run_coroutine(coroutine)


class DatabasePool(Middleware):
    """Opens the app role's connection pool on the worker's event loop, closes it at shutdown.

    A job holds its tenant transaction's connection and may open one more beside it (a notification
    claims its send, a report records progress, in committed transactions of their own), so the pool
    has at least two connections per worker thread and one to spare, whatever ``WORKER_DB_POOL_SIZE``
    says: fewer, and busy threads each holding one would wait for ever on the second.
    """

    def __init__(self, size: int) -> None:
        self.size = size

    @staticmethod
    def size_for(configured: int, threads: int) -> int:
        return max(configured, 2 * threads + 1)

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        # before, not after: worker threads start consuming during the boot, and a transaction
        # begun without the pool would be handed back to it afterwards
        run_on_loop(start_pool(self.size_for(self.size, worker.worker_threads)))

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        try:
            run_on_loop(close_pool())
        except Exception:
            log.warning("closing the database pool failed", exc_info=True)


def _tenant(kwargs: dict[str, Any]) -> UUID | None:
    """The message's tenant as the runner reads it, or None when it names none."""
    try:
        return parse_tenant(kwargs.get("tenant_id"))
    except TenantMissingError:
        return None


class DeadLetters(Middleware):
    """Copies every message Dramatiq gives up on into PostgreSQL, where admins list and replay it.

    Dramatiq keeps its own dead-letter queue in Redis for a week; the copy makes failures visible
    per tenant through the API and survives Redis.
    """

    def after_nack(self, broker: dramatiq.Broker, message: Any) -> None:
        exception = getattr(message, "_exception", None)
        error = f"{type(exception).__name__}: {exception}" if exception is not None else "failed"
        # Dramatiq's Retries counts the failure that exhausted the retries too, but not one it
        # aborted because the actor ``throws`` it: report the retries actually made.
        retries = int(message.options.get("retries", 0))
        try:
            throws = broker.get_actor(message.actor_name).options.get("throws") or ()
        except dramatiq.errors.ActorNotFound:
            throws = ()
        if exception is not None and not isinstance(exception, throws):
            retries = max(0, retries - 1)
        kwargs = message.kwargs if isinstance(message.kwargs, dict) else {}
        try:
            run_on_loop(
                record_dead_letter(
                    tenant_id=_tenant(kwargs),
                    message_id=message.message_id,
                    actor_name=message.actor_name,
                    queue=message.queue_name,
                    payload=kwargs.get("payload"),
                    effect_key=kwargs.get("effect_key"),
                    error=error,
                    retries=retries,
                    raw_message=message.asdict(),
                )
            )
        except Exception:
            log.exception("could not copy dead letter %s to PostgreSQL", message.message_id)


class JobMetrics(Middleware):
    """Prometheus counters per actor and tenant (dramatiq's own middleware has no tenant label)."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}
        self._metrics: Any = None

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        from workers.metrics import job_metrics

        self._metrics = job_metrics()

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        self._started[message.message_id] = time.monotonic()

    def after_process_message(
        self, broker: dramatiq.Broker, message: Any, *, result: Any = None, exception: BaseException | None = None
    ) -> None:
        started = self._started.pop(message.message_id, None)
        if self._metrics is None:
            return
        tenant = str(message.kwargs.get("tenant_id", "-")) if isinstance(message.kwargs, dict) else "-"
        if exception is None:
            outcome = "ok"
        elif isinstance(exception, PermanentError) or message.failed:
            outcome = "dead"
        else:
            outcome = "retry"
        self._metrics.processed.labels(actor=message.actor_name, tenant=tenant, outcome=outcome).inc()
        if started is not None:
            self._metrics.duration.labels(actor=message.actor_name).observe(time.monotonic() - started)

    def after_skip_message(self, broker: dramatiq.Broker, message: Any) -> None:
        self._started.pop(message.message_id, None)


REPEATED_SIGNAL_SECONDS = 5.0
"""A second SIGTERM this soon after the first is the same request to stop, delivered twice."""
KILLED_EXIT_STATUS = 1
"""dramatiq's exit status for a killed worker process."""


class StopSignalOnce(Middleware):
    """A worker process asked to stop twice at once stops gracefully, as when asked once.

    SIGTERM sent to the whole process group (systemd's default ``KillMode=control-group``, ``kill -TERM
    -PGID``) reaches a worker process twice: directly, and again a moment later from dramatiq's main process,
    which passes it on to its children. dramatiq takes the second as "kill now" and exits the main thread,
    but its worker and consumer threads are not daemons: the process then waits for them forever, stopping
    neither gracefully nor at all until a SIGKILL. Here a second SIGTERM within
    :data:`REPEATED_SIGNAL_SECONDS` of the first is dropped, and a later one ends the process at once (what
    dramatiq's "kill" means).
    """

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        graceful = signal.getsignal(signal.SIGTERM)
        if not callable(graceful):
            return
        first_signal: float | None = None

        def on_sigterm(signum: int, frame: Any) -> None:
            nonlocal first_signal
            if first_signal is None:
                first_signal = time.monotonic()
                graceful(signum, frame)
            elif time.monotonic() - first_signal >= REPEATED_SIGNAL_SECONDS:
                log.warning("asked again to stop: ending the worker process now")
                os._exit(KILLED_EXIT_STATUS)

        signal.signal(signal.SIGTERM, on_sigterm)
