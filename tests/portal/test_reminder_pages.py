"""The reminders module's portal page over HTTP: a day's appointments with each one's reminder status."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from litestar.testing import AsyncTestClient

from core.testing.fixtures import Org, enable_module
from core.testing.portal import portal_login
from tests.reminders.conftest import NO_QUIET_HOURS, book, new_patient, touches

DAY = "/portal/reminders/day"


def rows(page: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-appointment="([0-9a-f-]+)">(.*?)</tr>', page, re.S))


async def set_touch(owner_db: Any, appointment: dict[str, Any], key: str, status: str, **extra: Any) -> None:
    """What the workers would have recorded for one touch of the appointment (tests only)."""
    await owner_db.execute(
        "update reminder_touches set status = $3, channel = 'sms', sent_at = now(), reason = $4 "
        "where subject_id = $1 and touch_key = $2",
        uuid.UUID(appointment["id"]),
        key,
        status,
        extra.get("reason"),
    )


async def test_the_day_view_joins_each_appointment_with_its_reminder_status(
    client: AsyncTestClient[Any], portal: AsyncTestClient[Any], org: Org, other_org: Org, owner_db: Any
) -> None:
    await enable_module(client, org, "reminders", NO_QUIET_HOURS)
    day = date.today() + timedelta(days=10)  # the organization's zone is UTC
    at = [datetime.combine(day, time(9 + hour), UTC) for hour in range(5)]
    patient = await new_patient(client, org, given_name="Mary", family_name="Jackson")
    delivered, sent, failed, confirmed, waiting = [await book(client, org, patient["id"], start) for start in at]
    elsewhere = await book(client, org, patient["id"], at[0] + timedelta(days=1))
    assert {t["touch_key"] for t in await touches(client, org, waiting["id"])} == {"72h", "24h", "2h"}
    await set_touch(owner_db, delivered, "72h", "delivered")
    await set_touch(owner_db, sent, "72h", "sent")
    await set_touch(owner_db, failed, "72h", "failed", reason="sms: undelivered; email: bounced")
    await set_touch(owner_db, confirmed, "72h", "delivered")
    await owner_db.execute(
        "insert into reminder_confirmations (tenant_id, appointment_id, subject_at, patient_id, channel, text) "
        "values ($1, $2, $3, $4, 'sms', 'C')",
        org.tenant_id,
        uuid.UUID(confirmed["id"]),
        at[3],
        uuid.UUID(patient["id"]),
    )

    assert (await portal_login(portal, org.slug, org.email, org.password)).status_code == 303
    page = await portal.get(DAY, params={"day": day.isoformat()})
    assert page.status_code == 200, page.text
    assert "text/html" in page.headers["content-type"]
    shown = rows(page.text)
    assert list(shown) == [delivered["id"], sent["id"], failed["id"], confirmed["id"], waiting["id"]]
    assert elsewhere["id"] not in shown
    assert '<span class="badge ok">Delivered</span> no reply yet' in shown[delivered["id"]]
    assert '<span class="badge">Sent</span>' in shown[sent["id"]]
    assert '<span class="badge bad">Failed</span> sms: undelivered; email: bounced' in shown[failed["id"]]
    assert '<span class="badge ok">Confirmed</span> by reply' in shown[confirmed["id"]]
    assert '<span class="badge">None yet</span> next at' in shown[waiting["id"]]
    assert "<li>72h: delivered by sms</li>" in shown[delivered["id"]]
    assert "<li>24h: planned at " in shown[delivered["id"]]
    assert f'href="/portal/patients/{patient["id"]}">Mary Jackson</a>' in shown[waiting["id"]]
    assert re.search(r"<td>09:00.09:30</td>", shown[delivered["id"]])
    assert "Riverside Clinic" in shown[delivered["id"]]
    assert "5 appointments: 1 confirmed, 1 delivered, 1 sent, 1 failed, 1 not reminded yet." in page.text
    previous, following = (day - timedelta(days=1)).isoformat(), (day + timedelta(days=1)).isoformat()
    assert f'href="/portal/reminders/day?day={previous}" rel="prev"' in page.text
    assert f'href="/portal/reminders/day?day={following}" rel="next"' in page.text
    next_day = await portal.get(DAY, params={"day": following})
    assert list(rows(next_day.text)) == [elsewhere["id"]]
    assert " style=" not in page.text
    assert (await portal.get(DAY, params={"day": "2026-13-01"})).status_code == 400
    today = await portal.get(DAY)
    assert today.status_code == 200
    assert '<a href="/portal/reminders/day" aria-current="page">Reminders by day</a>' in today.text


async def test_the_day_view_answers_404_without_the_module_and_shows_no_other_organization(
    client: AsyncTestClient[Any], portal: AsyncTestClient[Any], org: Org, other_org: Org
) -> None:
    await enable_module(client, org, "reminders", NO_QUIET_HOURS)
    day = date.today() + timedelta(days=12)
    patient = await new_patient(client, org)
    theirs = await book(client, org, patient["id"], datetime.combine(day, time(10), UTC))
    assert (await portal_login(portal, other_org.slug, other_org.email, other_org.password)).status_code == 303
    assert (await portal.get(DAY)).status_code == 404
    assert "Reminders by day" not in (await portal.get("/portal/mfa")).text
    await enable_module(client, other_org, "reminders")
    page = await portal.get(DAY, params={"day": day.isoformat()})
    assert page.status_code == 200
    assert theirs["id"] not in page.text
    assert "No appointments on this day." in page.text
