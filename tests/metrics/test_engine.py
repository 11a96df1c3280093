"""The engine behind every metric: buckets, dimensions, backlogs, and SQL facts equal to Python facts.

Metrics are declared here over core's tasks table so the expected figures are computed by hand
from a handful of rows; the modules' own KPIs are tested against their fixtures elsewhere.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from core.db.tenant import tenant_transaction
from core.jobs.context import system_principal
from core.metrics.spec import MetricFact, MetricSpec
from core.plugins.context import PluginContext
from plugins.metrics.engine import DimensionError, MetricResult, compute
from tests.conftest import PASSWORD, login

CHICAGO = "America/Chicago"
URGENT_SQL = (
    "select due_at as at, (priority = 'urgent')::int::float8 as value, owner_user_id as coordinator_id, "
    "null::uuid as provider_id, null::timestamptz as until from tasks where due_at >= $1 and due_at < $2"
)
OVERDUE_SQL = (
    "select due_at as at, 1.0 as value, owner_user_id as coordinator_id, null::uuid as provider_id, "
    "completed_at as until from tasks where due_at < $2 and (completed_at is null or completed_at >= $1)"
)


async def _rows(ctx: PluginContext, start: datetime, end: datetime, backlog: bool) -> list[MetricFact]:
    rows = await ctx.tx.fetch(OVERDUE_SQL if backlog else URGENT_SQL, start, end)
    return [MetricFact(r["at"], r["value"], r["coordinator_id"], None, r["until"]) for r in rows]


async def urgent_facts(ctx: PluginContext, start: datetime, end: datetime) -> list[MetricFact]:
    return await _rows(ctx, start, end, False)


async def overdue_facts(ctx: PluginContext, start: datetime, end: datetime) -> list[MetricFact]:
    return await _rows(ctx, start, end, True)


DIMS: Any = ("coordinator", "team")
URGENT = MetricSpec("urgent_share", "Urgent tasks", "%", facts=URGENT_SQL, aggregate="pct", dimensions=DIMS)
URGENT_PY = MetricSpec("urgent_share_py", "Urgent tasks", "%", facts=urgent_facts, aggregate="pct", dimensions=DIMS)
OVERDUE = MetricSpec("overdue", "Overdue", "count", facts=OVERDUE_SQL, aggregate="open_at_end", dimensions=DIMS)
OVERDUE_PY = MetricSpec("overdue_py", "Overdue", "count", facts=overdue_facts, aggregate="open_at_end", dimensions=DIMS)


async def user(client: Any, org: Any, name: str, team: str | None) -> str:
    email = f"{name}@{org.slug}.example"
    body = {"email": email, "password": PASSWORD, "role": "coordinator", "full_name": name.capitalize()}
    created = await client.post("/api/v1/users", headers=org.headers, json=body)
    assert created.status_code == 201, created.text
    if team is not None:
        moved = await client.patch(f"/api/v1/users/{created.json()['id']}", headers=org.headers, json={"team_id": team})
        assert moved.status_code == 200, moved.text
        assert moved.json()["team_id"] == team
    await login(client, org.slug, email, PASSWORD)
    return str(created.json()["id"])


async def task(
    client: Any, org: Any, owner_db: Any, owner: str, due: datetime, urgent: bool = False, done: datetime | None = None
) -> None:
    body = {
        "title": "t",
        "owner_user_id": owner,
        "priority": "urgent" if urgent else "routine",
        "due_at": due.isoformat(),
    }
    created = await client.post("/api/v1/tasks", headers=org.headers, json=body)
    assert created.status_code == 201, created.text
    if done is not None:
        await owner_db.execute(
            "update tasks set status = 'completed', completed_at = $2 where id = $1",
            uuid.UUID(created.json()["id"]),
            done,
        )


@pytest.fixture
async def staffed(client: Any, org: Any, owner_db: Any) -> dict[str, str]:
    """Ann and Bob in team North, Cy in no team; tasks due around the Chicago DST change of March 2025."""
    north = await client.post("/api/v1/teams", headers=org.headers, json={"name": "North"})
    assert north.status_code == 201, north.text
    team = north.json()["id"]
    ann, bob, cy = [await user(client, org, n, t) for n, t in (("ann", team), ("bob", team), ("cy", None))]
    utc = UTC
    await task(client, org, owner_db, ann, datetime(2025, 3, 4, 5, 30, tzinfo=utc), urgent=True)  # Mon 3rd 23:30 local
    await task(client, org, owner_db, ann, datetime(2025, 3, 4, 15, tzinfo=utc), done=datetime(2025, 3, 20, tzinfo=utc))
    await task(client, org, owner_db, bob, datetime(2025, 3, 11, 15, tzinfo=utc), urgent=True)
    await task(client, org, owner_db, cy, datetime(2025, 3, 12, 15, tzinfo=utc), done=datetime(2025, 3, 13, tzinfo=utc))
    await task(client, org, owner_db, cy, datetime(2025, 3, 12, 16, tzinfo=utc), urgent=True)
    return {"team": team, "ann": ann, "bob": bob, "cy": cy}


async def run(app_loop: Any, org: Any, spec: MetricSpec, by: str | None, period: Any = "week") -> MetricResult:
    async def go() -> MetricResult:
        async with tenant_transaction(org.tenant_id) as tx:
            ctx = PluginContext(module="metrics", tx=tx, principal=system_principal(org.tenant_id), settings=None)
            return await compute(
                ctx, spec, first=date(2025, 3, 3), last=date(2025, 3, 23), period=period, time_zone=CHICAGO, by=by
            )

    result: MetricResult = await app_loop(go)
    return result


def table(result: MetricResult) -> dict[str | None, list[tuple[float | None, int]]]:
    return {s.label: [(p.value, p.count) for p in s.points] for s in result.series}


async def test_pct_per_week_and_per_coordinator(app_loop: Any, org: Any, staffed: dict[str, str]) -> None:
    whole = await run(app_loop, org, URGENT, None)
    # weeks of 3, 10 and 17 March (local): tasks 2 (1 urgent), 3 (2 urgent), none
    assert table(whole) == {None: [(50.0, 2), (pytest.approx(200 / 3), 3), (None, 0)]}
    assert (whole.total.value, whole.total.count) == (60.0, 5)
    per = await run(app_loop, org, URGENT, "coordinator")
    assert table(per) == {
        "Ann": [(50.0, 2), (None, 0), (None, 0)],
        "Bob": [(None, 0), (100.0, 1), (None, 0)],
        "Cy": [(None, 0), (50.0, 2), (None, 0)],
    }
    assert per.total.value == 60.0  # re-weighted by each coordinator's count
    teams = await run(app_loop, org, URGENT, "team")
    assert table(teams) == {"North": [(50.0, 2), (100.0, 1), (None, 0)], "(none)": [(None, 0), (50.0, 2), (None, 0)]}


async def test_the_local_day_decides_the_bucket(app_loop: Any, org: Any, staffed: dict[str, str]) -> None:
    days = await run(app_loop, org, URGENT, None, "day")
    points = {p.period: (p.value, p.count) for p in days.series[0].points}
    assert points[date(2025, 3, 3)] == (100.0, 1)  # 05:30 UTC on the 4th is 23:30 on the 3rd in Chicago
    assert points[date(2025, 3, 4)] == (0.0, 1)
    assert points[date(2025, 3, 5)] == (None, 0)


async def test_backlog_counts_what_is_open_at_each_period_end(app_loop: Any, org: Any, staffed: dict[str, str]) -> None:
    result = await run(app_loop, org, OVERDUE, None)
    # end of week 1 (Mon 10 Mar 05:00 UTC): both of Ann's; end of week 2: + Bob's and Cy's open urgent one
    # (Cy's other was done on the 13th); end of week 3: Ann's second was done on the 20th.
    assert table(result) == {None: [(2.0, 2), (4.0, 4), (3.0, 3)]}
    assert result.total.value == 3.0  # a backlog's figure for the window is the one at its end
    per = await run(app_loop, org, OVERDUE, "coordinator")
    assert table(per) == {
        "Ann": [(2.0, 2), (2.0, 2), (1.0, 1)],
        "Bob": [(0.0, 0), (1.0, 1), (1.0, 1)],
        "Cy": [(0.0, 0), (1.0, 1), (1.0, 1)],
    }


@pytest.mark.parametrize(("sql", "python"), [(URGENT, URGENT_PY), (OVERDUE, OVERDUE_PY)])
@pytest.mark.parametrize("by", [None, "coordinator", "team"])
@pytest.mark.parametrize("period", ["day", "week", "month"])
async def test_python_facts_give_the_same_figures_as_sql(
    app_loop: Any, org: Any, staffed: dict[str, str], sql: MetricSpec, python: MetricSpec, by: str | None, period: str
) -> None:
    from_sql, from_python = await run(app_loop, org, sql, by, period), await run(app_loop, org, python, by, period)
    assert table(from_sql) == table(from_python)
    assert from_sql.total == from_python.total


async def test_a_dimension_the_metric_lacks_is_refused(app_loop: Any, org: Any) -> None:
    with pytest.raises(DimensionError):
        await run(app_loop, org, URGENT, "provider")


def test_specs_are_checked_when_declared() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        MetricSpec("x_y", "d", "%")
    with pytest.raises(ValueError, match="aggregate"):
        MetricSpec("x_y", "d", "%", facts="select 1", aggregate="mode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="derived"):
        MetricSpec("x_y", "d", "%", facts="select 1", dimensions=("team",))
    with pytest.raises(ValueError, match="name"):
        MetricSpec("Bad Name", "d", "%", facts="select 1")
