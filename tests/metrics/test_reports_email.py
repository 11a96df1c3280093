"""The metrics module's scheduled reports, end to end: the periodic job starts a run for the subscribers,
the real ``reports.build`` actor builds the PDF, ``notifications.send`` mails it to a real SMTP server
(aiosmtpd), and the numbers in the PDF are those of ``GET /api/v1/metrics/{name}`` for the same week.

Referral events are made through the API and then dated by SQL as the owner (past event times cannot be
produced any other way). The week the job reports on is the last complete one when the job runs: the
same referrals are placed in that week and in the current one, so the figures are known whichever of
the two the job picks (a test running across Monday midnight still passes).
"""

from __future__ import annotations

import io
import json
import re
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from pypdf import PdfReader

from core.metrics.periods import floor
from core.testing.fixtures import run_periodic_job, run_queued_jobs
from tests.conftest import Org, add_user, create_patient, enable_module
from tests.notifications.conftest import SmtpServer
from tests.notifications.conftest import smtp_server as smtp_server  # the fixture, re-exported for pytest
from tests.notifications.helpers import configure_email
from tests.referrals.test_metrics_facts import refresh_from_log
from tests.referrals.test_referrals_api import move, new_referral

SUBSCRIPTIONS = "/api/v1/metrics/report-subscriptions"
WEEKLY = "metrics.weekly_referral_report"
MONTHLY = "metrics.monthly_kpi_pack"
ELAPSED_HOURS = {"coordinator": (10, 100), "owner": (50,)}
"""Hours from sent to scheduled of the referrals each user coordinates: 2 of 3 within 72 h, median 50 h."""


async def user_id(client: Any, headers: dict[str, str]) -> str:
    response = await client.get("/api/v1/users/me", headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def subscribe(client: Any, headers: dict[str, str], report: str, **body: Any) -> Any:
    return await client.post(SUBSCRIPTIONS, headers=headers, json={"report": report, **body})


async def tenant_zone(client: Any, org: Org) -> str:
    response = await client.get("/api/v1/tenant", headers=org.headers)
    assert response.status_code == 200, response.text
    return str(response.json()["time_zone"])


async def appointment_for(client: Any, org: Org, patient_id: str) -> str:
    start = datetime(2031, 1, 6, 9, tzinfo=UTC) + timedelta(minutes=secrets.randbelow(500_000))
    response = await client.post(
        "/api/v1/appointments",
        headers=org.headers,
        json={
            "patient_id": patient_id,
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=30)).isoformat(),
            "time_zone": "UTC",
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def scheduled_referral(
    client: Any, org: Org, owner_db: asyncpg.Connection, coordinator_id: str, scheduled_at: datetime, hours: float
) -> str:
    """A referral sent ``hours`` before ``scheduled_at`` and scheduled then (event times set as the owner)."""
    patient = await create_patient(client, org)
    referral = await new_referral(client, org, patient=patient, coordinator_id=coordinator_id)
    rid = referral["id"]
    for step in ("sent", "received", "accepted"):
        assert (await move(client, org, rid, step)).status_code == 200
    moved = await move(client, org, rid, "scheduled", appointment_id=await appointment_for(client, org, patient["id"]))
    assert moved.status_code == 200, moved.text
    sent_at = scheduled_at - timedelta(hours=hours)
    times = {
        "draft": sent_at - timedelta(hours=1),
        "sent": sent_at,
        "received": sent_at + timedelta(minutes=10),
        "accepted": sent_at + timedelta(minutes=20),
        "scheduled": scheduled_at,
    }
    for status, at in times.items():
        await owner_db.execute(
            "update referral_transitions set occurred_at = $3 where referral_id = $1 and to_status = $2",
            uuid.UUID(rid),
            status,
            at,
        )
    await refresh_from_log(owner_db, rid)  # the event times the metrics read follow the backdated log
    return rid


async def referrals_in_week(
    client: Any, org: Org, owner_db: asyncpg.Connection, monday: date, zone: str, coordinators: dict[str, str]
) -> None:
    """The referrals of :data:`ELAPSED_HOURS`, all scheduled on the Wednesday of ``monday``'s week (local noon)."""
    wednesday_noon = datetime.combine(monday + timedelta(days=2), time(12), tzinfo=ZoneInfo(zone))
    for who, hours in ELAPSED_HOURS.items():
        for index, elapsed in enumerate(hours):
            at = wednesday_noon + timedelta(minutes=index)
            await scheduled_referral(client, org, owner_db, coordinators[who], at, elapsed)


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


NUMBER = r"(-?\d+(?:\.\d+)?)"


def pdf_row(text: str, *cells: str) -> tuple[list[float], list[str]]:
    """The numbers and the words that follow ``cells`` on one line of the PDF's table (empty cells vanish)."""
    prefix = r"\s+".join(re.escape(cell) for cell in cells)
    match = re.search(rf"^{prefix}\s+(.*)$", text, re.MULTILINE)
    assert match is not None, f"no row {cells!r} in:\n{text}"
    tokens = match.group(1).split()
    return [float(t) for t in tokens if re.fullmatch(NUMBER, t)], [t for t in tokens if not re.fullmatch(NUMBER, t)]


async def api_total(client: Any, org: Org, name: str, first: date, last: date, period: str) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/metrics/{name}",
        headers=org.headers,
        params={"from": first.isoformat(), "to": last.isoformat(), "period": period},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def expected_cells(body: dict[str, Any]) -> tuple[list[float], list[str]]:
    """What a report row shows for an API answer: value (2 places), count, target; status and unit."""
    cells = [round(body["total"]["value"], 2)] if body["total"]["value"] is not None else []
    cells.append(float(body["total"]["count"]))
    if body["target"] is not None:
        cells.append(float(body["target"]))
    return cells, [word for word in (body["status"], body["unit"]) if word]


@pytest.fixture
async def kpi_org(client: Any, org: Org, smtp_server: SmtpServer) -> Org:
    await enable_module(client, org, "referrals")
    await enable_module(client, org, "metrics")
    await configure_email(client, org, smtp_server)
    return org


async def test_the_weekly_report_arrives_by_email_as_a_pdf_whose_numbers_are_the_apis(
    client: Any,
    kpi_org: Org,
    smtp_server: SmtpServer,
    app_loop: Callable[..., Any],
    owner_db: asyncpg.Connection,
) -> None:
    org = kpi_org
    coordinator = await add_user(client, org, "coordinator")
    admin = await add_user(client, org, "admin")  # not subscribed: gets nothing
    ids = {"owner": str(org.owner_id), "coordinator": await user_id(client, coordinator)}
    assert (await subscribe(client, org.headers, WEEKLY)).status_code == 201
    assert (await subscribe(client, coordinator, WEEKLY, format="pdf")).status_code == 201
    assert (await subscribe(client, admin, MONTHLY)).status_code == 201  # another report: not this job's

    zone = await tenant_zone(client, org)
    this_monday = floor(datetime.now(UTC).astimezone(ZoneInfo(zone)).date(), "week")
    for monday in (this_monday - timedelta(days=7), this_monday):
        await referrals_in_week(client, org, owner_db, monday, zone, ids)

    assert await run_periodic_job(app_loop, org, "metrics.send_weekly_reports") == "done"
    (run,) = await owner_db.fetch(
        "select id, report, format, params, email_to, requested_by from report_runs where tenant_id = $1", org.tenant_id
    )
    assert (run["report"], run["format"], run["requested_by"]) == (WEEKLY, "pdf", None)
    assert sorted(map(str, run["email_to"])) == sorted(ids.values())
    start = date.fromisoformat(json.loads(run["params"])["start"])
    assert start.weekday() == 0
    assert start in (this_monday - timedelta(days=7), this_monday)  # the latter only if Monday 00:00 just passed

    assert await run_queued_jobs(app_loop, owner_db, org, "reports.build") == ["done"]
    assert smtp_server.received == []  # queued as notifications, not sent yet
    assert await run_queued_jobs(app_loop, owner_db, org, "notifications.send") == ["done", "done"]

    owner_email = (await client.get("/api/v1/users/me", headers=org.headers)).json()["email"]
    coordinator_email = (await client.get("/api/v1/users/me", headers=coordinator)).json()["email"]
    assert sorted(mail.rcpt_tos[0] for mail in smtp_server.received) == sorted([owner_email, coordinator_email])
    files = []
    for mail in smtp_server.received:
        assert mail.message["Subject"] == "Report: Weekly referral report"
        (attachment,) = [part for part in mail.message.walk() if part.get_filename()]
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_filename().startswith("metrics-weekly_referral_report-")
        files.append(attachment.get_payload(decode=True))
    assert files[0] == files[1]  # one run, one file, to both
    text = pdf_text(files[0])

    # Every referral KPI of the catalogue: the PDF's row is the API's figure for the same week.
    catalogue = (await client.get("/api/v1/metrics", headers=org.headers)).json()["items"]
    referral_metrics = [m for m in catalogue if m["module"] == "referrals"]
    assert referral_metrics
    sunday = start + timedelta(days=6)
    for item in referral_metrics:
        body = await api_total(client, org, item["name"], start, sunday, "week")
        assert pdf_row(text, start.isoformat(), item["name"], "All coordinators") == expected_cells(body), item
    # ... and the figures are the ones the referrals were made for.
    scheduled = await api_total(client, org, "referrals_scheduled_within_72h_pct", start, sunday, "week")
    median = await api_total(client, org, "referral_median_hours_to_schedule", start, sunday, "week")
    assert (round(scheduled["total"]["value"], 2), scheduled["total"]["count"]) == (66.67, 3)
    assert (median["total"]["value"], median["total"]["count"]) == (50.0, 3)
    assert pdf_row(text, start.isoformat(), "referrals_scheduled_within_72h_pct", "All coordinators")[0] == [66.67, 3]
    # Per coordinator (named by e-mail: they have no names): 1 of 2 within 72 h for the coordinator, 1 of 1 for
    # the owner, as the API groups them.
    by = await client.get(
        "/api/v1/metrics/referrals_scheduled_within_72h_pct",
        headers=org.headers,
        params={"from": start.isoformat(), "to": sunday.isoformat(), "period": "week", "by": "coordinator"},
    )
    groups = {s["dimension"]["id"]: s for s in by.json()["series"]}
    assert groups[ids["coordinator"]]["total"] == {"value": 50.0, "count": 2}
    assert groups[ids["owner"]]["total"] == {"value": 100.0, "count": 1}
    for email, figures in ((coordinator_email, [50.0, 2]), (owner_email, [100.0, 1])):
        assert pdf_row(text, start.isoformat(), "referrals_scheduled_within_72h_pct", email) == (figures, ["%"])


async def test_a_redelivered_build_or_a_second_job_sends_no_second_email(
    client: Any,
    kpi_org: Org,
    smtp_server: SmtpServer,
    app_loop: Callable[..., Any],
    owner_db: asyncpg.Connection,
) -> None:
    org = kpi_org
    assert (await subscribe(client, org.headers, WEEKLY, format="csv")).status_code == 201
    assert await run_periodic_job(app_loop, org, "metrics.send_weekly_reports") == "done"
    assert await run_periodic_job(app_loop, org, "metrics.send_weekly_reports") == "done"  # a second scheduler
    (run,) = await owner_db.fetch("select id from report_runs where tenant_id = $1", org.tenant_id)
    (message,) = await owner_db.fetch(
        "select payload, idempotency_key from outbox where tenant_id = $1 and actor_name = 'reports.build'",
        org.tenant_id,
    )
    assert await run_queued_jobs(app_loop, owner_db, org, "reports.build") == ["done"]

    # The broker delivers the build message again (same effect key), and once more as a new message.
    from core.jobs.runner import run_job

    for effect_key in (message["idempotency_key"], None):
        await app_loop(
            run_job,
            "reports.build",
            tenant_id=str(org.tenant_id),
            payload={"run_id": str(run["id"])},
            message_id=uuid.uuid4().hex,
            effect_key=effect_key,
        )
    assert await run_queued_jobs(app_loop, owner_db, org, "notifications.send") == ["done"]
    assert await run_queued_jobs(app_loop, owner_db, org, "notifications.send") == []
    (mail,) = smtp_server.received
    (attachment,) = [part for part in mail.message.walk() if part.get_filename()]
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_payload(decode=True).decode("utf-8-sig").startswith("Week,Metric,Coordinator,Value")
    notifications = await owner_db.fetch(
        "select recipient_kind, user_id, patient_id, status from notifications where tenant_id = $1", org.tenant_id
    )
    assert [tuple(n) for n in notifications] == [("user", org.owner_id, None, "sent")]


async def test_an_unsubscribed_or_disabled_user_gets_nothing(
    client: Any,
    kpi_org: Org,
    smtp_server: SmtpServer,
    app_loop: Callable[..., Any],
    owner_db: asyncpg.Connection,
) -> None:
    org = kpi_org
    coordinator = await add_user(client, org, "coordinator")
    coordinator_id = await user_id(client, coordinator)
    created = await subscribe(client, coordinator, WEEKLY)
    assert created.status_code == 201
    gone = await client.delete(f"{SUBSCRIPTIONS}/{created.json()['id']}", headers=coordinator)
    assert gone.status_code == 204
    assert await run_periodic_job(app_loop, org, "metrics.send_weekly_reports") == "done"
    assert await owner_db.fetchval("select count(*) from report_runs where tenant_id = $1", org.tenant_id) == 0

    # Subscribed again, then disabled after the run was requested: the build skips them.
    assert (await subscribe(client, coordinator, WEEKLY)).status_code == 201
    assert await run_periodic_job(app_loop, org, "metrics.send_weekly_reports") == "done"
    disabled = await client.patch(f"/api/v1/users/{coordinator_id}", headers=org.headers, json={"status": "disabled"})
    assert disabled.status_code == 200, disabled.text
    assert await run_queued_jobs(app_loop, owner_db, org, "reports.build") == ["done"]
    assert await run_queued_jobs(app_loop, owner_db, org, "notifications.send") == []
    assert smtp_server.received == []
    skipped = await owner_db.fetchval(
        "select details->>'reason' from audit_events where tenant_id = $1 and action = 'report.email_skipped'",
        org.tenant_id,
    )
    assert skipped == "disabled"
