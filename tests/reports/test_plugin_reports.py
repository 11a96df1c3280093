"""Plugin reports: offered only where the module is enabled, progress visible while building, failures."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from core.app import create_app
from core.jobs.errors import PermanentError
from core.plugins.manager import PluginHost
from core.plugins.sdk import ChartSpec, ModuleSpec, PluginContext, ReportColumn, ReportData, ReportSpec, hookimpl
from core.reports.actors import MAX_RETRIES
from tests.conftest import Org, enable_module
from tests.reports.helpers import REPORTS, RUNS, assert_problem, build, build_job, in_app_loop, read_run, start_run

AppClient = Callable[[Litestar], AsyncTestClient[Any]]


class SlowParams(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    chunks: int = 4


@dataclass(eq=False)
class SlowReports:
    """A plugin whose report yields chunks and waits for the test between them."""

    release: asyncio.Event | None = None
    failures_left: int = 0
    seen_settings: list[Any] = field(default_factory=list)

    @hookimpl
    def register_module(self) -> ModuleSpec:
        return ModuleSpec(name="slowrep", title="Slow reports")

    @hookimpl
    def register_reports(self) -> list[ReportSpec]:
        return [
            ReportSpec(
                name="weekly",
                title="Weekly numbers",
                query=self.weekly,
                params=SlowParams,
                chart=ChartSpec("line", x="week", y=("count",)),
            ),
            ReportSpec(name="broken_chart", title="Broken", query=self.broken, chart=ChartSpec("bar", "nope", ("x",))),
            ReportSpec(name="flaky", title="Flaky", query=self.flaky),
            ReportSpec(name="secret", title="Secret", query=self.flaky, permission="slowrep:secret"),
        ]

    async def weekly(self, ctx: PluginContext, params: SlowParams) -> ReportData:
        self.seen_settings.append((ctx.module, ctx.tenant_id))

        async def chunks() -> AsyncIterator[list[tuple[str, int]]]:
            for index in range(params.chunks):
                yield [(f"2026-W{index + 1:02d}", index * 10)]
                if index == 0 and self.release is not None:
                    await self.release.wait()  # the test reads the progress here

        return ReportData([ReportColumn("week"), ReportColumn("count", kind="integer")], chunks(), params.chunks)

    async def broken(self, ctx: PluginContext, params: None) -> ReportData:
        return ReportData([ReportColumn("x")], [(1,)])

    async def flaky(self, ctx: PluginContext, params: None) -> ReportData:
        if self.failures_left:
            self.failures_left -= 1
            raise ConnectionError("warehouse unreachable")
        return ReportData([ReportColumn("x")], [(1,)])


@pytest.fixture
def plugin() -> SlowReports:
    return SlowReports()


@pytest.fixture
def host(plugin: SlowReports) -> PluginHost:
    host = PluginHost(load_entry_points=False, plugins=[("slowrep", plugin)], environ={})
    assert host.records["slowrep"].status == "loaded", host.records["slowrep"].error
    return host


@pytest.fixture
def api(app_client: AppClient, settings: Any, host: PluginHost) -> AsyncTestClient[Any]:
    return app_client(create_app(settings, host=host))


async def test_plugin_reports_are_offered_only_to_tenants_that_enabled_the_module(
    api: AsyncTestClient[Any], host: PluginHost, org: Org, other_org: Org
) -> None:
    assert [spec.full_name for spec in host.contributions.reports] == [
        "slowrep.weekly",
        "slowrep.broken_chart",
        "slowrep.flaky",
        "slowrep.secret",
    ]
    assert {spec.module for spec in host.contributions.reports} == {"slowrep"}
    names = {r["name"] for r in (await api.get(f"{REPORTS}/", headers=org.headers)).json()}
    assert "slowrep.weekly" not in names
    assert_problem(await api.post(f"{REPORTS}/slowrep.weekly/runs", headers=org.headers, json={}), 404)

    await enable_module(api, org, "slowrep")
    catalogue = {r["name"]: r for r in (await api.get(f"{REPORTS}/", headers=org.headers)).json()}
    assert catalogue["slowrep.weekly"]["module"] == "slowrep"
    assert catalogue["slowrep.weekly"]["chart"]["kind"] == "line"
    assert "slowrep.secret" not in catalogue  # the owner lacks the plugin permission nobody registered
    assert "appointments_by_status_per_day" in catalogue
    other = {r["name"] for r in (await api.get(f"{REPORTS}/", headers=other_org.headers)).json()}
    assert "slowrep.weekly" not in other
    assert_problem(await api.post(f"{REPORTS}/slowrep.secret/runs", headers=org.headers, json={}), 403)

    # queued while enabled, built after the module was disabled: the build fails for good
    run = await start_run(api, org.headers, "slowrep.weekly", "csv")
    assert (
        await api.put("/api/v1/admin/modules/slowrep", headers=org.headers, json={"enabled": False})
    ).status_code == 200
    with pytest.raises(PermanentError, match="not enabled"):
        await build(api, org, run, host=host)
    failed = await read_run(api, org, run["id"])
    assert failed["status"] == "failed"
    assert "not enabled" in failed["error"]


async def test_progress_is_visible_from_another_connection_while_the_report_builds(
    api: AsyncTestClient[Any],
    host: PluginHost,
    plugin: SlowReports,
    org: Org,
    owner_db: asyncpg.Connection[Any],
) -> None:
    await enable_module(api, org, "slowrep")
    run = await start_run(api, org.headers, "slowrep.weekly", "xlsx", chunks=4)
    plugin.release = await in_app_loop(api, _new_event)
    job = api.blocking_portal.start_task_soon(build_job(org, run, host=host))
    try:
        deadline = time.monotonic() + 20
        while True:
            seen = await read_run(api, org, run["id"])
            if (seen["status"] == "running" and seen["progress"] > 0) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        # one chunk of four fetched: a quarter of the query's 80 %, committed while the job's transaction is open
        assert (seen["status"], seen["progress"]) == ("running", 20)
        assert seen["started_at"] is not None
        row = await owner_db.fetchrow("select status, progress from report_runs where id = $1", run["id"])
        assert (row["status"], row["progress"]) == ("running", 20)
        assert not job.done()
    finally:
        api.blocking_portal.call(plugin.release.set)
    assert await asyncio.wrap_future(job) == "done"
    done = await read_run(api, org, run["id"])
    assert (done["status"], done["progress"], done["rows"]) == ("done", 100, 4)
    assert plugin.seen_settings == [("slowrep", org.tenant_id)]
    response = await api.get(f"{RUNS}/{run['id']}/file", headers=org.headers)
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith('attachment; filename="slowrep-weekly-')


async def _new_event() -> asyncio.Event:
    return asyncio.Event()


async def test_a_report_that_cannot_succeed_fails_for_good(
    api: AsyncTestClient[Any], host: PluginHost, org: Org
) -> None:
    await enable_module(api, org, "slowrep")
    run = await start_run(api, org.headers, "slowrep.broken_chart", "pdf")
    with pytest.raises(PermanentError, match="nope"):
        await build(api, org, run, host=host)
    failed = await read_run(api, org, run["id"])
    assert failed["status"] == "failed"
    assert "the chart names column(s) the report does not have: nope" in failed["error"]
    assert_problem(await api.get(f"{RUNS}/{run['id']}/file", headers=org.headers), 409)
    # a redelivery after the failure does nothing
    assert await build(api, org, run, host=host, effect_key="again") == "done"
    assert (await read_run(api, org, run["id"]))["status"] == "failed"


async def test_transient_failures_are_retried_and_the_last_attempt_fails_the_run(
    api: AsyncTestClient[Any], host: PluginHost, plugin: SlowReports, org: Org
) -> None:
    await enable_module(api, org, "slowrep")
    run = await start_run(api, org.headers, "slowrep.flaky", "csv")
    plugin.failures_left = 1
    with pytest.raises(ConnectionError):
        await build(api, org, run, host=host)
    retrying = await read_run(api, org, run["id"])
    assert retrying["status"] == "running"
    assert retrying["error"] == "retrying after: ConnectionError: warehouse unreachable"
    assert await build(api, org, run, host=host, attempt=1) == "done"
    assert (await read_run(api, org, run["id"]))["status"] == "done"

    doomed = await start_run(api, org.headers, "slowrep.flaky", "csv")
    plugin.failures_left = 1
    with pytest.raises(ConnectionError):
        await build(api, org, doomed, host=host, attempt=MAX_RETRIES)
    assert (await read_run(api, org, doomed["id"]))["status"] == "failed"


async def test_a_run_id_that_does_not_exist_is_a_permanent_failure(api: AsyncTestClient[Any], org: Org) -> None:
    with pytest.raises(PermanentError, match="does not exist"):
        await build(api, org, {"id": "00000000-0000-4000-8000-000000000001"})
    with pytest.raises(PermanentError, match="not a UUID"):
        await build(api, org, {"id": "nope"})
