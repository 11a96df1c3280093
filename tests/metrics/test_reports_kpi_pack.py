"""The monthly KPI pack, asked for on demand for a fixed past month and e-mailed to the caller ("me"):
every metric of the catalogue with the month before, the target and met/missed, as the API computes them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from core.testing.fixtures import run_queued_jobs
from tests.conftest import Org
from tests.metrics.test_reports_email import (
    MONTHLY,
    WEEKLY,
    api_total,
    kpi_org,  # noqa: F401 - the fixture
    pdf_row,
    pdf_text,
    scheduled_referral,
    tenant_zone,
)
from tests.metrics.test_reports_subscriptions import assert_problem
from tests.notifications.conftest import SmtpServer
from tests.notifications.conftest import smtp_server as smtp_server  # the fixture, re-exported for pytest

RUNS = "/api/v1/reports/{}/runs"
MARCH, FEBRUARY = date(2025, 3, 1), date(2025, 2, 1)


async def test_the_monthly_pack_shows_every_metric_beside_the_month_before(
    client: Any,
    kpi_org: Org,  # noqa: F811 - the fixture
    smtp_server: SmtpServer,
    app_loop: Callable[..., Any],
    owner_db: asyncpg.Connection,
) -> None:
    org = kpi_org
    zone = ZoneInfo(await tenant_zone(client, org))
    me = str(org.owner_id)
    # March 2025: sent-to-scheduled 10 h, 50 h, 100 h (2 of 3 within 72 h); February: one within 72 h.
    for hours, day in ((10, 5), (50, 12), (100, 19)):
        await scheduled_referral(client, org, owner_db, me, datetime(2025, 3, day, 12, tzinfo=zone), hours)
    await scheduled_referral(client, org, owner_db, me, datetime(2025, 2, 14, 12, tzinfo=zone), 20)
    settings = await client.put(
        "/api/v1/admin/modules/metrics",
        headers=org.headers,
        json={"enabled": True, "settings": {"targets": {"referrals_scheduled_within_72h_pct": 75}}},
    )
    assert settings.status_code == 200, settings.text

    started = await client.post(
        RUNS.format(MONTHLY),
        headers=org.headers,
        json={"format": "pdf", "params": {"start": MARCH.isoformat()}, "email_to": "me"},
    )
    assert started.status_code == 202, started.text
    assert started.json()["email_to"] == [me]
    assert await run_queued_jobs(app_loop, owner_db, org, "reports.build") == ["done"]
    assert await run_queued_jobs(app_loop, owner_db, org, "notifications.send") == ["done"]
    (mail,) = smtp_server.received
    assert mail.message["Subject"] == "Report: Monthly KPI pack"
    (body,) = [part for part in mail.message.walk() if part.get_content_type() == "text/plain"]
    assert "for the period starting 2025-03-01 is ready" in body.get_payload(decode=True).decode()
    (attachment,) = [part for part in mail.message.walk() if part.get_filename()]
    text = pdf_text(attachment.get_payload(decode=True))

    catalogue = (await client.get("/api/v1/metrics", headers=org.headers)).json()["items"]
    assert {m["module"] for m in catalogue} >= {"referrals"}
    for item in catalogue:
        month = await api_total(client, org, item["name"], MARCH, date(2025, 3, 31), "month")
        before = await api_total(client, org, item["name"], FEBRUARY, date(2025, 2, 28), "month")
        numbers, words = pdf_row(text, MARCH.isoformat(), item["category"], item["name"])
        expected = [month["total"]["value"], month["total"]["count"], before["total"]["value"], month["target"]]
        assert numbers == [round(float(x), 2) for x in expected if x is not None], item["name"]
        assert words == [w for w in (month["status"], item["unit"]) if w], item["name"]

    numbers, words = pdf_row(text, MARCH.isoformat(), "Referrals", "referrals_scheduled_within_72h_pct")
    assert (numbers, words) == ([66.67, 3, 100.0, 75.0], ["missed", "%"])  # the organization's own target
    numbers, _ = pdf_row(text, MARCH.isoformat(), "Referrals", "referral_median_hours_to_schedule")
    assert numbers == [50.0, 3, 20.0]


async def test_report_periods_must_start_a_week_or_a_month(client: Any, kpi_org: Org) -> None:  # noqa: F811
    for report, start in ((WEEKLY, "2025-03-04"), (MONTHLY, "2025-03-02"), (WEEKLY, "March")):
        body = assert_problem(
            await client.post(RUNS.format(report), headers=kpi_org.headers, json={"params": {"start": start}}), 400
        )
        assert body["errors"][0]["key"].startswith("params")
    unknown = await client.post(RUNS.format(WEEKLY), headers=kpi_org.headers, json={"params": {"weeks": 2}})
    assert_problem(unknown, 400)
    accepted = await client.post(RUNS.format(WEEKLY), headers=kpi_org.headers, json={"params": {"start": "2025-03-03"}})
    assert accepted.status_code == 202, accepted.text
