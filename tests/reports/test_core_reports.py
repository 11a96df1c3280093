"""Core's reports end to end: request through the API, build with the real actor, check the files."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import openpyxl
import pypdf
from litestar.testing import AsyncTestClient

from core.reports.storage import report_storage
from tests.conftest import Org, add_user, create_patient
from tests.reports.helpers import REPORTS, RUNS, assert_problem, book, build, in_app_loop, read_run, start_run

DAY1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)
PERIOD = {"start": "2026-03-01", "end": "2026-03-05", "time_zone": "UTC"}


async def seed(client: AsyncTestClient[Any], org: Org) -> None:
    ada = await create_patient(client, org, given_name="Ada", family_name="Lovelace")
    zoë = await create_patient(client, org, given_name="Zoë", family_name="Åström")
    await book(client, org, ada["id"], DAY1)
    await book(client, org, zoë["id"], DAY1 + timedelta(hours=1), "cancelled")
    await book(client, org, ada["id"], DAY1 + timedelta(hours=2), "arrived", "fulfilled")
    await book(client, org, zoë["id"], DAY2, "noshow", reason='=HYPERLINK("http://x")')
    await book(client, org, ada["id"], DAY2 + timedelta(hours=3))


async def download(client: AsyncTestClient[Any], org: Org, run_id: str) -> Any:
    response = await client.get(f"{RUNS}/{run_id}/file", headers=org.headers)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-disposition"].startswith('attachment; filename="')
    return response


async def test_catalogue_lists_core_reports_with_their_parameter_schemas(
    client: AsyncTestClient[Any], org: Org
) -> None:
    response = await client.get(f"{REPORTS}/", headers=org.headers)
    assert response.status_code == 200, response.text
    reports = {report["name"]: report for report in response.json()}
    assert {"appointments_by_status_per_day", "appointment_list", "tasks_overdue_by_owner"} <= set(reports)
    daily = reports["appointments_by_status_per_day"]
    assert daily["module"] == "core"
    assert daily["formats"] == ["csv", "xlsx", "pdf"]
    assert daily["chart"] == {
        "kind": "bar",
        "x": "day",
        "y": ["booked", "fulfilled", "cancelled", "noshow"],
        "title": "Appointments",
    }
    schema = daily["parameters"]
    definition = schema["$defs"][schema["$ref"].rsplit("/", 1)[1]]
    assert {"start", "end", "time_zone", "practitioner_id"} <= set(definition["properties"])


async def test_appointments_per_day_in_csv_xlsx_and_pdf(
    client: AsyncTestClient[Any], org: Org, owner_db: asyncpg.Connection[Any]
) -> None:
    await seed(client, org)
    runs = {
        fmt: await start_run(client, org.headers, "appointments_by_status_per_day", fmt, **PERIOD)
        for fmt in ("csv", "xlsx", "pdf")
    }
    for fmt, run in runs.items():
        assert (run["status"], run["progress"], run["format"], run["file_url"]) == ("queued", 0, fmt, None)
        assert run["params"] == {**PERIOD, "practitioner_id": None}
        # the build message was written to the outbox in the same transaction, keyed by the run
        message = await owner_db.fetchrow(
            "select actor_name, queue from outbox where tenant_id = $1 and idempotency_key = $2",
            org.tenant_id,
            f"reports.build:{run['id']}",
        )
        assert message is not None
        assert (message["actor_name"], message["queue"]) == ("reports.build", "reports")
        assert await build(client, org, run) == "done"
        done = await read_run(client, org, run["id"])
        assert (done["status"], done["progress"], done["rows"]) == ("done", 100, 5)
        assert done["file_url"] == f"/api/v1/reports/runs/{run['id']}/file"
        assert done["expires_at"] > done["finished_at"] >= done["started_at"]

    csv_response = await download(client, org, runs["csv"]["id"])
    assert csv_response.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv_response.headers["content-disposition"].endswith('.csv"')
    table = list(csv.DictReader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    by_day = {row["Day"]: row for row in table}
    assert list(by_day) == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]
    assert (by_day["2026-03-02"]["Booked"], by_day["2026-03-02"]["Cancelled"], by_day["2026-03-02"]["Fulfilled"]) == (
        "1",
        "1",
        "1",
    )
    assert (by_day["2026-03-03"]["Noshow"], by_day["2026-03-03"]["Booked"], by_day["2026-03-03"]["Total"]) == (
        "1",
        "1",
        "2",
    )
    assert by_day["2026-03-01"]["Total"] == "0"

    xlsx_response = await download(client, org, runs["xlsx"]["id"])
    assert xlsx_response.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx_response.content))
    assert workbook.sheetnames == ["Data", "Chart"]
    data = workbook["Data"]
    header = [cell.value for cell in data[1]]
    assert header[0] == "Day"
    assert header[-1] == "Total"
    assert data.max_row == 6
    assert data.cell(row=4, column=header.index("Total") + 1).value == 2
    charts = workbook["Chart"]._charts
    assert len(charts) == 1
    assert charts[0].tagname == "barChart"
    assert len(charts[0].series) == 4

    pdf_response = await download(client, org, runs["pdf"]["id"])
    assert pdf_response.headers["content-type"] == "application/pdf"
    assert pdf_response.content.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(pdf_response.content))
    assert len(reader.pages) >= 1
    text = reader.pages[0].extract_text()
    assert "Appointments by status per day" in text
    assert "2026-03-03" in text
    assert "Noshow" in text
    assert reader.metadata is not None
    assert reader.metadata.title == "Appointments by status per day"

    actions = await owner_db.fetch(
        "select action, resource_id, actor_type from audit_events "
        "where tenant_id = $1 and resource_type = 'report_run'",
        org.tenant_id,
    )
    seen = {(row["action"], str(row["resource_id"])) for row in actions}
    for run in runs.values():
        assert {("report.requested", run["id"]), ("report.built", run["id"]), ("report.downloaded", run["id"])} <= seen
    assert {row["actor_type"] for row in actions if row["action"] == "report.built"} == {"system"}


async def test_appointment_list_reads_patients_in_chunks_and_defuses_formulas(
    client: AsyncTestClient[Any], org: Org
) -> None:
    await seed(client, org)
    run = await start_run(client, org.headers, "appointment_list", "csv", **PERIOD)
    assert await build(client, org, run) == "done"
    rows = list(csv.reader(io.StringIO((await download(client, org, run["id"])).content.decode("utf-8-sig"))))
    assert rows[0] == ["Start (UTC)", "MRN", "Patient", "Practitioner", "Location", "Status", "Reason"]
    assert [row[2] for row in rows[1:]] == [
        "Lovelace, Ada",
        "Åström, Zoë",
        "Lovelace, Ada",
        "Åström, Zoë",
        "Lovelace, Ada",
    ]
    assert rows[4][5:] == ["noshow", '\'=HYPERLINK("http://x")']

    only = await start_run(client, org.headers, "appointment_list", "pdf", status="cancelled", **PERIOD)
    assert await build(client, org, only) == "done"
    assert (await read_run(client, org, only["id"]))["rows"] == 1
    text = pypdf.PdfReader(io.BytesIO((await download(client, org, only["id"])).content)).pages[0].extract_text()
    assert "Åström, Zoë" in text  # the Unicode font keeps names intact


async def test_overdue_tasks_by_owner(client: AsyncTestClient[Any], org: Org) -> None:
    past = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    for due, priority in ((past, "urgent"), (past, "routine"), (future, "routine")):
        response = await client.post(
            "/api/v1/tasks",
            headers=org.headers,
            json={
                "title": "Call back",
                "due_at": past if due == past else future,
                "priority": priority,
                "owner_user_id": str(org.owner_id),
            },
        )
        assert response.status_code == 201, response.text
    run = await start_run(client, org.headers, "tasks_overdue_by_owner", "xlsx")
    assert await build(client, org, run) == "done"
    workbook = openpyxl.load_workbook(io.BytesIO((await download(client, org, run["id"])).content))
    values = [[cell.value for cell in row] for row in workbook["Data"].iter_rows()]
    assert values[0] == ["Owner", "Overdue", "Urgent or higher", "Oldest due"]
    assert values[1][:3] == [org.email, 2, 1]
    assert isinstance(values[1][3], datetime)


async def test_download_is_for_authorized_users_of_the_same_organization(
    client: AsyncTestClient[Any], org: Org, other_org: Org
) -> None:
    run = await start_run(client, org.headers, "appointments_by_status_per_day", "csv", **PERIOD)
    assert await build(client, org, run) == "done"
    file_url = f"{RUNS}/{run['id']}/file"

    # another organization: the run does not exist for it
    assert_problem(await client.get(f"{RUNS}/{run['id']}", headers=other_org.headers), 404)
    assert_problem(await client.get(file_url, headers=other_org.headers), 404)
    assert (await client.get(RUNS, headers=other_org.headers)).json()["items"] == []
    assert_problem(await client.get(f"{RUNS}/00000000-0000-4000-8000-000000000000/file", headers=org.headers), 404)

    # roles without the reports permissions
    for role in ("viewer", "clinician"):
        headers = await add_user(client, org, role)
        assert_problem(await client.get(file_url, headers=headers), 403)
        assert_problem(await client.get(f"{REPORTS}/", headers=headers), 403)
        assert_problem(
            await client.post(f"{REPORTS}/appointment_list/runs", headers=headers, json={"format": "csv"}), 403
        )
    assert_problem(await client.get(file_url), 401)

    coordinator = await add_user(client, org, "coordinator")
    assert (await client.get(file_url, headers=coordinator)).status_code == 200
    mine = await start_run(client, coordinator, "appointment_list", "csv")
    listed = await client.get(RUNS, headers=coordinator, params={"mine": "true"})
    assert [item["id"] for item in listed.json()["items"]] == [mine["id"]]
    everything = (await client.get(RUNS, headers=coordinator, params={"limit": 1})).json()
    assert everything["items"][0]["id"] == mine["id"]
    assert everything["next_cursor"]
    rest = (
        await client.get(RUNS, headers=coordinator, params={"limit": 1, "cursor": everything["next_cursor"]})
    ).json()
    assert [item["id"] for item in rest["items"]] == [run["id"]]
    assert rest["next_cursor"] is None
    assert_problem(await client.get(RUNS, headers=coordinator, params={"cursor": "nonsense!"}), 400)


async def test_not_built_is_409_expired_is_410_and_purge_deletes_the_file(
    client: AsyncTestClient[Any], org: Org, owner_db: asyncpg.Connection[Any]
) -> None:
    from core.reports.purge import purge_expired_reports

    run = await start_run(client, org.headers, "appointments_by_status_per_day", "pdf", **PERIOD)
    assert assert_problem(await client.get(f"{RUNS}/{run['id']}/file", headers=org.headers), 409)["status_of_run"] == (
        "queued"
    )
    assert await build(client, org, run) == "done"
    key = await owner_db.fetchval("select file_key from report_runs where id = $1", run["id"])
    storage = report_storage()
    assert await storage.exists(key)

    await owner_db.execute("update report_runs set expires_at = now() - interval '1 second' where id = $1", run["id"])
    expired = await read_run(client, org, run["id"])
    assert (expired["status"], expired["file_url"]) == ("expired", None)
    assert_problem(await client.get(f"{RUNS}/{run['id']}/file", headers=org.headers), 410)

    assert await in_app_loop(client, purge_expired_reports) >= 1
    assert not await storage.exists(key)
    row = await owner_db.fetchrow("select status, file_key from report_runs where id = $1", run["id"])
    assert (row["status"], row["file_key"]) == ("expired", None)
    assert_problem(await client.get(f"{RUNS}/{run['id']}/file", headers=org.headers), 410)


async def test_invalid_requests_are_problems(client: AsyncTestClient[Any], org: Org) -> None:
    url = f"{REPORTS}/appointments_by_status_per_day/runs"
    bad_type = assert_problem(await client.post(url, headers=org.headers, json={"params": {"start": "soon"}}), 400)
    assert bad_type["errors"][0]["key"] == "params.start"
    unknown = assert_problem(await client.post(url, headers=org.headers, json={"params": {"colour": "red"}}), 400)
    assert unknown["errors"][0]["key"] == "params"
    backwards = {"start": "2026-03-05", "end": "2026-03-01"}
    assert (
        "end must not be before start"
        in assert_problem(await client.post(url, headers=org.headers, json={"params": backwards}), 400)["detail"]
    )
    assert_problem(await client.post(url, headers=org.headers, json={"params": {"time_zone": "Mars/Olympus"}}), 400)
    assert_problem(await client.post(url, headers=org.headers, json={"format": "docx"}), 400)
    assert_problem(await client.post(url, headers=org.headers, json={"params": []}), 400)
    assert_problem(await client.post(f"{REPORTS}/no_such_report/runs", headers=org.headers, json={}), 404)
    assert (await client.get(RUNS, headers=org.headers)).json()["items"] == []  # nothing was queued


async def test_redelivery_does_nothing_twice(
    client: AsyncTestClient[Any], org: Org, owner_db: asyncpg.Connection[Any]
) -> None:
    run = await start_run(client, org.headers, "appointments_by_status_per_day", "csv", **PERIOD)
    assert await build(client, org, run) == "done"
    first = await read_run(client, org, run["id"])
    key = await owner_db.fetchval("select file_key from report_runs where id = $1", run["id"])
    path = report_storage().root / key  # type: ignore[attr-defined]
    stamp = path.stat().st_mtime_ns

    # the same message again: the effect key is already recorded
    assert await build(client, org, run) == "duplicate"
    # another message for the same run (e.g. a replay with a new key): the run is done, nothing happens
    assert await build(client, org, run, effect_key="replayed-by-hand") == "done"
    assert await read_run(client, org, run["id"]) == first
    assert path.stat().st_mtime_ns == stamp
    built = await owner_db.fetchval(
        "select count(*) from audit_events where tenant_id = $1 and action = 'report.built' and resource_id = $2",
        org.tenant_id,
        run["id"],
    )
    assert built == 1
