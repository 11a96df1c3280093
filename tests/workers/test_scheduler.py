"""The scheduler's periodic tick: once per occurrence and tenant, only where the module is enabled."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from core.jobs.context import JobContext
from core.plugins.manager import PluginHost
from core.plugins.sdk import ActorSpec, ModuleSpec, PeriodicJob, actor, hookimpl
from workers.scheduler import Scheduler


async def nightly(ctx: JobContext, scope: str) -> None:
    await ctx.tx.execute("select 1")


NIGHTLY = actor(name="nightly", queue="reports")(nightly)


class Digest:
    @hookimpl
    def register_module(self) -> ModuleSpec:
        return ModuleSpec(name="digest", title="Digest")

    @hookimpl
    def register_actors(self) -> list[ActorSpec]:
        return [NIGHTLY]

    @hookimpl
    def register_periodic_jobs(self) -> list[PeriodicJob]:
        return [PeriodicJob("nightly", "0 2 * * *", "digest.nightly", payload={"scope": "all"})]


def digest_host() -> PluginHost:
    host = PluginHost(load_entry_points=False, plugins=[("digest", Digest())], environ={})
    assert host.records["digest"].status == "loaded", host.records["digest"].error
    return host


async def enable_digest(owner_db: Any, tenant_id: Any) -> None:
    await owner_db.execute(
        "insert into tenant_modules (tenant_id, module, enabled) values ($1, 'digest', true)", tenant_id
    )
    await owner_db.execute("update tenants set modules_version = modules_version + 1 where id = $1", tenant_id)


async def cron_rows(owner_db: Any, tenant_id: Any) -> list[Any]:
    return list(
        await owner_db.fetch(
            "select actor_name, queue, payload::text, idempotency_key from outbox "
            "where tenant_id = $1 and idempotency_key like 'cron:%'",
            tenant_id,
        )
    )


async def test_two_schedulers_ticking_twice_fire_each_occurrence_once_per_enabled_tenant(
    org: Any, other_org: Any, owner_db: Any, settings: Any, app_loop: Any
) -> None:
    await enable_digest(owner_db, org.tenant_id)
    await owner_db.execute("update tenants set time_zone = 'Asia/Tokyo' where id = $1", org.tenant_id)
    host = digest_host()
    first, second = Scheduler(settings, print, host), Scheduler(settings, print, host)
    now = datetime(2026, 1, 4, 17, 3, tzinfo=UTC)  # 02:03 on 5 January in Tokyo

    created = [await app_loop(s.tick, now) for s in (first, second, first, second)]

    assert sum(created) >= 1  # other tenants in Tokyo with the module enabled would add to it
    rows = await cron_rows(owner_db, org.tenant_id)
    assert [(r["actor_name"], r["queue"], r["idempotency_key"]) for r in rows] == [
        ("digest.nightly", "reports", "cron:digest.nightly:2026-01-05T02:00:00+09:00")
    ]
    assert rows[0]["payload"] == '{"scope": "all"}'
    assert await cron_rows(owner_db, other_org.tenant_id) == []  # module not enabled there


async def test_a_tenant_enabling_the_module_later_still_gets_the_due_occurrence(
    org: Any, owner_db: Any, settings: Any, app_loop: Any
) -> None:
    await owner_db.execute("update tenants set time_zone = 'Europe/Lisbon' where id = $1", org.tenant_id)
    scheduler = Scheduler(settings, print, digest_host())
    now = datetime(2026, 6, 1, 1, 1, tzinfo=UTC)  # 02:01 in Lisbon (summer time)
    await app_loop(scheduler.tick, now)
    assert await cron_rows(owner_db, org.tenant_id) == []

    await enable_digest(owner_db, org.tenant_id)
    await app_loop(scheduler.tick, now)
    rows = await cron_rows(owner_db, org.tenant_id)
    assert [r["idempotency_key"] for r in rows] == ["cron:digest.nightly:2026-06-01T02:00:00+01:00"]


def test_the_leaders_housekeeping_includes_purging_expired_report_files() -> None:
    from core.reports.purge import purge_expired_reports
    from workers.scheduler import maintenance_tasks

    assert purge_expired_reports in maintenance_tasks()


async def test_deferred_notifications_that_fell_due_are_released_once_a_minute_only_where_needed(
    client: Any, org: Any, other_org: Any, owner_db: Any, settings: Any, app_loop: Any
) -> None:
    from datetime import timedelta

    from tests.conftest import create_patient
    from tests.notifications.conftest import ProviderServer  # noqa: F401 - the fixtures' module
    from tests.notifications.helpers import grant, notify

    patient = await create_patient(client, org)
    await grant(client, org, patient["id"], "sms")
    due = datetime.now(UTC) + timedelta(seconds=3)  # still ahead when the request is handled, on a busy machine
    deferred = await notify(client, org, patient["id"], "sms", context={"text": "hi"}, not_before=due.isoformat())
    assert deferred["status"] == "deferred"
    await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.2)

    scheduler = Scheduler(settings, print, digest_host())
    now = datetime.now(UTC)
    assert await app_loop(scheduler.sweeps, now) >= 1
    assert await app_loop(scheduler.sweeps, now) == 0  # same minute: nothing new

    async def releases(tenant_id: Any) -> list[str]:
        rows = await owner_db.fetch(
            "select idempotency_key from outbox where tenant_id = $1 and actor_name = 'notifications.release_deferred'",
            tenant_id,
        )
        return [r["idempotency_key"] for r in rows]

    minute = now.replace(second=0, microsecond=0).isoformat()
    assert await releases(org.tenant_id) == [f"sweep:notifications.release_deferred:{minute}"]
    assert await releases(other_org.tenant_id) == []
