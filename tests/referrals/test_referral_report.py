"""The referrals module's report ``referrals.referral_list``, built by the real report job and downloaded."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import add_user, create_patient, enable_module
from tests.referrals.test_referrals_api import move, new_referral
from tests.reports.helpers import REPORTS, RUNS, assert_problem, build, read_run, start_run

REPORT = "referrals.referral_list"
TODAY = datetime.now(UTC).date().isoformat()
PERIOD = {"start": TODAY, "end": TODAY, "time_zone": "UTC"}
HEADER = [
    "Created (UTC)",
    "MRN",
    "Patient",
    "Specialty",
    "Sent to",
    "Priority",
    "Status",
    "First sent (UTC)",
    "Ended (UTC)",
    "SLA met",
]


@pytest.fixture
async def clinic(client: Any, org: Any) -> Any:
    await enable_module(client, org, "referrals")
    return org


async def csv_rows(client: Any, org: Any, run: dict[str, Any]) -> list[list[str]]:
    assert await build(client, org, run) == "done"
    response = await client.get(f"{RUNS}/{run['id']}/file", headers=org.headers)
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


async def test_the_referral_list_has_one_row_per_referral_of_the_period(client: Any, clinic: Any) -> None:
    ada = await create_patient(client, clinic, given_name="Ada", family_name="Lovelace")
    drafted = await new_referral(client, clinic, patient=ada, specialty="Dermatology", priority="routine")
    sent = await new_referral(client, clinic, patient=ada)
    assert (await move(client, clinic, sent["id"], "sent")).status_code == 200
    cancelled = await new_referral(client, clinic)
    assert (await move(client, clinic, cancelled["id"], "cancelled", reason="duplicate")).status_code == 200

    rows = await csv_rows(client, clinic, await start_run(client, clinic.headers, REPORT, **PERIOD))

    assert rows[0] == HEADER
    assert len(rows) == 4
    by_status = {row[6]: row for row in rows[1:]}
    assert set(by_status) == {"draft", "sent", "cancelled"}
    assert by_status["draft"][1:4] == [ada["mrn"], "Lovelace, Ada", "Dermatology"]
    assert by_status["draft"][5] == "routine"
    assert by_status["draft"][4].startswith("Cruz")  # the practitioner it is addressed to
    assert by_status["draft"][7:] == ["", "", ""]
    assert by_status["sent"][7].startswith(TODAY)
    assert by_status["cancelled"][8].startswith(TODAY)
    assert [row[0] for row in rows[1:]] == sorted(row[0] for row in rows[1:])

    only_sent = await start_run(client, clinic.headers, REPORT, status="sent", **PERIOD)
    assert [row[6] for row in (await csv_rows(client, clinic, only_sent))[1:]] == ["sent"]
    dermatology = await start_run(client, clinic.headers, REPORT, specialty="dermatology", **PERIOD)
    assert [row[0:4] for row in (await csv_rows(client, clinic, dermatology))[1:]] == [by_status["draft"][0:4]]
    assert drafted["id"] != sent["id"]
    assert (await read_run(client, clinic, only_sent["id"]))["rows"] == 1


async def test_the_referral_list_is_the_modules_and_needs_its_permission(
    client: Any, clinic: Any, other_org: Any
) -> None:
    listed = (await client.get(f"{REPORTS}/", headers=clinic.headers)).json()
    assert REPORT in {report["name"] for report in listed}
    assert REPORT not in {
        report["name"] for report in (await client.get(f"{REPORTS}/", headers=other_org.headers)).json()
    }
    url = f"{REPORTS}/{REPORT}/runs"
    assert_problem(await client.post(url, headers=other_org.headers, json={"params": PERIOD}), 404)  # module off
    assert_problem(await client.post(url, headers=clinic.headers, json={"params": {"status": "lost"}}), 400)
    viewer = await add_user(client, clinic, "viewer")
    assert_problem(await client.post(url, headers=viewer, json={"params": PERIOD}), 403)
