"""``carecoord scheduler``: the outbox relay, its sweep, and periodic jobs.

Run one or more: the relay claims rows with ``skip locked`` and every periodic occurrence
has a unique outbox key, so extra schedulers add availability, never duplicates. One of
them (the holder of a PostgreSQL advisory lock) does the periodic work; if it dies its
connection goes and another takes over at its next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from core.db.engine import close_pool, start_pool
from core.db.tenant import platform_transaction, tenant_transaction
from core.jobs.catalog import CORE_MODULES, actor_catalog
from core.outbox.relay import NOTIFY_CHANNEL, Publish, publish_pending, purge_published, sweep
from core.outbox.service import insert_message
from core.plugins.manager import PluginHost, get_host
from core.plugins.records import PeriodicJob
from core.plugins.tenant_modules import tenant_modules
from core.settings import Settings
from core.tenancy.lifecycle import purge_due
from workers.cron import Occurrence, due_occurrences

log = logging.getLogger("carecoord.scheduler")

MAINTENANCE_SECONDS = 3600.0
LEADER_LOCK = 0x63617265  # "care": the advisory lock whose holder runs periodic jobs


def core_periodic_jobs() -> list[tuple[str, PeriodicJob]]:
    """Core's own periodic jobs (per tenant). Maintenance that is not per tenant runs in the tick."""
    return []


@dataclass(frozen=True)
class TenantSweep:
    """Work the leader queues each tick for exactly the tenants that need it.

    ``finder`` is a SECURITY DEFINER function returning tenant ids only, so the scheduler can look
    across tenants without reading anyone's rows; each tenant gets one message per minute at most.
    """

    actor_name: str
    finder: str
    """A call returning ``setof uuid``; ``$1`` in it is bound to ``argument(settings)``."""
    argument: Callable[[Settings], Any] | None = None


CORE_SWEEPS = (
    TenantSweep(
        "notifications.release_deferred",
        "notifications_due_tenants(make_interval(secs => $1))",
        lambda settings: float(settings.notification_send_timeout_seconds),
    ),
)


def maintenance_tasks() -> list[Callable[[], Awaitable[Any]]]:
    """Platform housekeeping of core areas, run by the leader each tick."""
    tasks: list[Callable[[], Awaitable[Any]]] = []
    for path, name in (("core.reports.purge", "purge_expired_reports"),):
        with contextlib.suppress(ImportError):
            task = getattr(importlib.import_module(path), name, None)
            if task is not None:
                tasks.append(task)
    return tasks


class Scheduler:
    """The relay listener, the sweep and the periodic tick, on one event loop."""

    def __init__(self, settings: Settings, publish: Publish, host: PluginHost | None = None) -> None:
        self.settings = settings
        self.publish = publish
        self.host = host or get_host()
        self.stop = asyncio.Event()
        self.wake: asyncio.Queue[UUID] = asyncio.Queue()
        self.leader_conn: Any = None
        self.queue_depth: Callable[[], None] | None = None
        self.published = 0
        self.seen: set[tuple[UUID, str]] = set()
        """Occurrences this process already made sure of (per tenant); saves a transaction per tick."""
        self.last_maintenance = float("-inf")
        self.listening = False
        """The relay hears commits now (a notification sent before it did is left to the sweep)."""

    # -- relay ------------------------------------------------------------------------------------

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: object) -> None:
        with contextlib.suppress(ValueError):
            self.wake.put_nowait(UUID(str(payload)))

    async def relay(self) -> None:
        """Publish a tenant's rows as soon as the transaction that wrote them commits."""
        while not self.stop.is_set():
            conn = None
            try:
                conn = await asyncpg.connect(self.settings.app_dsn())
                await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
                self.listening = True
                log.info("outbox relay listening")
                while not self.stop.is_set() and not conn.is_closed():
                    try:
                        tenant = await asyncio.wait_for(self.wake.get(), timeout=1.0)
                    except TimeoutError:
                        continue
                    pending = {tenant}
                    while not self.wake.empty():
                        pending.add(self.wake.get_nowait())
                    for tenant_id in pending:
                        self.published += await publish_pending(tenant_id, self.publish)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("outbox relay lost its connection (%s); the sweep covers until it is back", exc)
                await self._sleep(2.0)
            finally:
                self.listening = False
                if conn is not None and not conn.is_closed():
                    await conn.close()

    async def sweeper(self) -> None:
        """Publish rows a notification missed: relay down, broker down when they committed."""
        while not self.stop.is_set():
            try:
                self.published += await sweep(self.publish)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("outbox sweep failed: %s", exc)
            await self._sleep(self.settings.outbox_sweep_seconds)

    # -- periodic jobs ----------------------------------------------------------------------------

    async def is_leader(self) -> bool:
        if self.leader_conn is not None and not self.leader_conn.is_closed():
            return True
        conn = await asyncpg.connect(self.settings.app_dsn())
        if await conn.fetchval("select pg_try_advisory_lock($1)", LEADER_LOCK):
            self.leader_conn = conn
            log.info("this scheduler now runs the periodic jobs")
            return True
        await conn.close()
        return False

    def periodic_jobs(self) -> list[tuple[str, PeriodicJob]]:
        return [*core_periodic_jobs(), *self.host.contributions.module_periodic_jobs]

    async def tick(self, now: datetime | None = None) -> int:
        """Enqueue every due occurrence for every tenant; returns how many were new.

        Occurrences are computed once per time zone; a tenant's transaction is opened only
        when one of its occurrences has not been seen by this process yet.
        """
        now = now or datetime.now(UTC)
        jobs = self.periodic_jobs()
        if not jobs:
            return 0
        catalog = actor_catalog(self.host)
        async with platform_transaction() as tx:
            tenants = await tx.fetch("select id, time_zone from tenants where status in ('trial', 'active')")
        due_by_zone: dict[str, list[Occurrence]] = {}
        for zone in {t["time_zone"] for t in tenants}:
            due_by_zone[zone] = [
                Occurrence(job, module, at) for module, job in jobs for at in due_occurrences(job.cron, zone, now)
            ]
        created = 0
        for tenant in tenants:
            due = [o for o in due_by_zone[tenant["time_zone"]] if (tenant["id"], o.idempotency_key) not in self.seen]
            if due:
                created += await self._enqueue_due(tenant["id"], due, catalog)
        if len(self.seen) > 1_000_000:
            self.seen.clear()
        return created

    async def _enqueue_due(self, tenant_id: UUID, due: list[Occurrence], catalog: Any) -> int:
        created = 0
        async with tenant_transaction(tenant_id) as tx:
            enabled = (await tenant_modules(self.host, tx, tenant_id)).enabled
            for occurrence in due:
                module, job = occurrence.module, occurrence.job
                if module not in CORE_MODULES and module not in enabled:
                    continue  # not marked seen: enabling the module later picks up a due occurrence
                actor = catalog.get(job.actor_name)
                if actor is None:
                    log.warning("periodic job %s.%s names unknown actor %s", module, job.name, job.actor_name)
                    continue
                # the outbox's unique (tenant, idempotency key) is the lock between schedulers
                inserted = await insert_message(
                    tx,
                    tenant_id=tenant_id,
                    actor_name=actor.name,
                    payload=dict(job.payload),
                    queue=actor.queue,
                    idempotency_key=occurrence.idempotency_key,
                )
                created += inserted is not None
                self.seen.add((tenant_id, occurrence.idempotency_key))
        return created

    async def sweeps(self, now: datetime | None = None) -> int:
        """Queue each core sweep for the tenants its finder names; returns how many were new."""
        minute = (now or datetime.now(UTC)).replace(second=0, microsecond=0).isoformat()
        catalog = actor_catalog(self.host)
        created = 0
        for sweep_spec in CORE_SWEEPS:
            actor = catalog.get(sweep_spec.actor_name)
            if actor is None:
                continue
            async with platform_transaction() as tx:
                arguments = () if sweep_spec.argument is None else (sweep_spec.argument(self.settings),)
                rows = await tx.fetch(f"select {sweep_spec.finder} as tenant_id", *arguments)
            for row in rows:
                async with tenant_transaction(row["tenant_id"]) as tx:
                    inserted = await insert_message(
                        tx,
                        tenant_id=row["tenant_id"],
                        actor_name=actor.name,
                        payload={},
                        queue=actor.queue,
                        idempotency_key=f"sweep:{actor.name}:{minute}",
                    )
                created += inserted is not None
        return created

    async def maintenance(self) -> None:
        """Housekeeping the leader does each tick: outbox retention, expired report files, and the purge of
        deleted organizations whose grace period is over."""
        async with platform_transaction() as tx:
            tenant_ids = [r["id"] for r in await tx.fetch("select id from tenants")]
        for tenant_id in tenant_ids:
            await purge_published(tenant_id)
        for purge in maintenance_tasks():
            await purge()
        for tenant_id, rows in (await purge_due()).items():  # organizations deleted past their grace period
            log.info("purged tenant %s: %d rows", tenant_id, rows)

    async def periodic(self) -> None:
        while not self.stop.is_set():
            try:
                if await self.is_leader():
                    created = await self.tick() + await self.sweeps()
                    if created:
                        log.info("periodic jobs: %d occurrence(s) enqueued", created)
                    if time.monotonic() - self.last_maintenance >= MAINTENANCE_SECONDS:
                        await self.maintenance()
                        self.last_maintenance = time.monotonic()
                if self.queue_depth is not None:
                    await asyncio.to_thread(self.queue_depth)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("periodic tick failed: %s", exc)
                if self.leader_conn is not None:
                    with contextlib.suppress(Exception):
                        await self.leader_conn.close()
                    self.leader_conn = None
            await self._sleep(self.settings.scheduler_tick_seconds)

    # -- running ----------------------------------------------------------------------------------

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)

    async def run(self) -> None:
        await start_pool(self.settings.worker_db_pool_size)
        try:
            await asyncio.gather(self.relay(), self.sweeper(), self.periodic())
        finally:
            if self.leader_conn is not None and not self.leader_conn.is_closed():
                await self.leader_conn.close()
            await close_pool()


def main(settings: Settings) -> int:
    """Run the scheduler until SIGINT or SIGTERM."""
    from workers.broker import build_broker, publisher
    from workers.queues import queue_depth_reporter

    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    broker = build_broker(settings)
    scheduler = Scheduler(settings, publisher(broker))
    if settings.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.metrics_port, addr=settings.host)
        scheduler.queue_depth = queue_depth_reporter(broker, settings.queue_namespace)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, scheduler.stop.set)
        await scheduler.run()

    asyncio.run(run())
    log.info("scheduler stopped")
    return 0
