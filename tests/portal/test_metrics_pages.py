"""The metrics module's portal pages over HTTP: the KPI dashboard with sparklines, reports with progress."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from core.testing.fixtures import Org, create_patient, enable_module, run_queued_jobs
from core.testing.portal import csrf_of, portal_login, submit

DASHBOARD = "/portal/metrics/dashboard"
REPORTS = "/portal/metrics/reports"
METRIC = "documentation_completeness_pct"


def card(page: str, metric: str) -> str:
    found = re.search(rf'<article class="card" data-metric="{metric}">(.*?)</article>', page, re.S)
    assert found, f"no card for {metric}"
    return found.group(1)


@pytest.fixture
async def measured(client: AsyncTestClient[Any], org: Org) -> Org:
    await enable_module(client, org, "metrics")
    return org


async def logged_in(portal: AsyncTestClient[Any], org: Org) -> AsyncTestClient[Any]:
    assert (await portal_login(portal, org.slug, org.email, org.password)).status_code == 303
    return portal


async def test_the_dashboard_shows_each_metric_against_its_target_with_a_sparkline(
    client: AsyncTestClient[Any], portal: AsyncTestClient[Any], measured: Org, owner_db: Any
) -> None:
    last_week = await create_patient(client, measured)
    await create_patient(client, measured)
    await owner_db.execute(
        "update patients set created_at = now() - interval '7 days' where id = $1", uuid.UUID(last_week["id"])
    )
    await logged_in(portal, measured)
    page = await portal.get(DASHBOARD)
    assert page.status_code == 200, page.text
    assert "text/html" in page.headers["content-type"]
    assert '<a href="/portal/metrics/dashboard?period=week" aria-current="page">By week</a>' in page.text
    shown = card(page.text, METRIC)
    assert "Patients registered in the period whose record has every required field" in shown
    assert '<p class="figure">0 %</p>' in shown  # registered this week, no primary-care physician yet
    assert "Target 95 % (higher is better)" in shown
    assert '<span class="badge bad">Off target</span>' in shown  # in words, not by colour alone
    assert "Previous week: 0 %" in shown
    line = re.search(r'<polyline class="line" points="([^"]+)"', shown)
    assert line, shown
    assert len(line.group(1).split()) == 2  # the last two weeks have a value; the six before have none
    assert f'aria-labelledby="t-{METRIC} d-{METRIC}"' in shown
    assert re.search(rf'<title id="t-{METRIC}">[^<]+the last 8 weeks</title>', shown)
    assert re.search(rf'<desc id="d-{METRIC}">(Week of [^;]+: [^;]+; ){{7}}Week of [^;]+: 0 %</desc>', shown)
    assert '<line class="target"' in shown
    assert " style=" not in page.text
    assert "<script>" not in page.text

    months = await portal.get(DASHBOARD, params={"period": "month"})
    assert months.status_code == 200
    assert '<a href="/portal/metrics/dashboard?period=month" aria-current="page">By month</a>' in months.text
    assert "Previous month:" in card(months.text, METRIC)
    assert (await portal.get(DASHBOARD, params={"period": "year"})).status_code == 400


async def test_a_report_is_started_followed_until_built_and_downloaded(
    client: AsyncTestClient[Any], portal: AsyncTestClient[Any], measured: Org, owner_db: Any, app_loop: Any
) -> None:
    await logged_in(portal, measured)
    listing = await portal.get(REPORTS)
    assert listing.status_code == 200
    for name in ("appointments_by_status_per_day", "metrics.weekly_referral_report"):
        assert f'href="/portal/metrics/reports/{name}"' in listing.text
    form_url = f"{REPORTS}/appointments_by_status_per_day"
    form = await portal.get(form_url)
    assert form.status_code == 200
    for name in ("format", "start", "end", "time_zone", "practitioner_id"):
        assert f'<label for="f-{name}">' in form.text

    refused = await submit(portal, form_url, form_url, {"format": "csv", "start": "2026-02-30"})
    assert refused.status_code == 422
    assert re.search(r'<p class="error" id="e-start">[^<]+</p>', refused.text)
    started = await submit(
        portal, form_url, form_url, {"format": "csv", "start": "2026-01-01", "end": "2026-01-31"},
        follow_redirects=False,
    )  # fmt: skip
    assert started.status_code == 303, started.text
    run_url = started.headers["location"]
    run_id = run_url.rsplit("/", 1)[-1]
    page = await portal.get(run_url)
    assert page.status_code == 200
    assert "Appointments by status per day" in page.text
    assert "From: 2026-01-01; To (included): 2026-01-31" in page.text
    assert re.search(rf'hx-get="{run_url}/progress" hx-trigger="every 1s" hx-swap="outerHTML" data-passive', page.text)
    assert re.search(r'<progress id="run-bar" max="100" value="0">', page.text)
    assert "Queued" in page.text

    assert await run_queued_jobs(app_loop, owner_db, measured, "reports.build") == ["done"]
    progress = await portal.get(f"{run_url}/progress", headers={"HX-Request": "true"})
    assert progress.status_code == 200
    assert '<span class="badge ok">Built</span>' in progress.text
    assert "the report is built" in progress.text
    assert "hx-trigger" not in progress.text  # finished: the page stops asking
    assert f'href="{run_url}/file"' in progress.text
    download = await portal.get(f"{run_url}/file")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.content.startswith(b"\xef\xbb\xbf")  # CSV with a byte-order mark
    assert b"Booked" in download.content.splitlines()[0]
    audited = await owner_db.fetchval(
        "select count(*) from audit_events where tenant_id = $1 and action = 'report.downloaded' "
        "and resource_id = $2",
        measured.tenant_id,
        run_id,
    )
    assert audited == 1
    assert f'href="{run_url}"' in (await portal.get(REPORTS)).text  # among my recent runs


async def test_the_pages_answer_404_without_the_module_and_for_another_organization(
    client: AsyncTestClient[Any], portal: AsyncTestClient[Any], make_portal: Any, measured: Org, other_org: Org
) -> None:
    await logged_in(portal, measured)
    form_url = f"{REPORTS}/tasks_overdue_by_owner"
    started = await submit(portal, form_url, form_url, {"format": "csv"}, follow_redirects=False)
    assert started.status_code == 303, started.text
    run_url = started.headers["location"]

    other = await logged_in(make_portal(), other_org)
    for url in (DASHBOARD, REPORTS, form_url, run_url):
        assert (await other.get(url)).status_code == 404, url
    menu = (await other.get("/portal/mfa")).text
    assert "Metrics dashboard" not in menu
    await enable_module(client, other_org, "metrics")
    assert (await other.get(DASHBOARD)).status_code == 200
    assert (await other.get(REPORTS)).status_code == 200
    for url in (run_url, f"{run_url}/progress", f"{run_url}/file"):
        assert (await other.get(url)).status_code == 404, url
    page = await other.get(REPORTS)
    unknown = await other.post(f"{REPORTS}/no_such_report", data={"format": "csv", "_csrf_token": csrf_of(page.text)})
    assert unknown.status_code == 404


def test_a_sparkline_breaks_at_periods_without_a_value_and_scales_to_the_target() -> None:
    from plugins.metrics.portal.charts import HEIGHT, PAD, sparkline

    chart = sparkline([None, 10.0, 20.0, None, 15.0, None, 30.0, 40.0], target=50.0)
    assert [len(line.split()) for line in chart.lines] == [2, 2]  # weeks 2-3 and 7-8
    assert len(chart.dots) == 1  # week 5 stands alone
    assert chart.target_y == PAD  # the target is the highest value drawn: at the top
    lowest = float(chart.lines[0].split()[0].split(",")[1])
    assert lowest == HEIGHT - PAD  # 10, the lowest value, at the bottom
    flat = sparkline([5.0, 5.0])
    assert flat.lines == ["4,20 156,20"]  # a flat series sits in the middle
    assert sparkline([None, None]).lines == []
