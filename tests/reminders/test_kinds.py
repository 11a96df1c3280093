"""Other reminder kinds through the same engine: screenings, referral follow-ups, documents to bring."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from core.testing.fixtures import enable_module
from tests.referrals.test_referrals_api import move, new_referral
from tests.reminders.conftest import (
    NO_QUIET_HOURS,
    REMINDERS,
    book,
    grant,
    new_patient,
    plugin_failures,
    reminder_notifications,
    run_periodic,
    touches,
)


async def test_a_screening_is_planned_before_and_on_its_due_date_and_each_touch_sent_once(
    client: Any, reminding: Any, owner_db: Any, app_loop: Any
) -> None:
    patient = await new_patient(client, reminding)
    await grant(client, reminding, patient["id"], "sms")
    due_on = date.today() + timedelta(days=30)
    url = f"{REMINDERS}/patients/{patient['id']}/screenings"
    created = await client.post(
        url, headers=reminding.headers, json={"name": "mammogram", "due_on": due_on.isoformat()}
    )
    assert created.status_code == 201, created.text
    screening = created.json()
    assert [(t["kind"], t["touch_key"], t["status"]) for t in screening["touches"]] == [
        ("screening", "14d", "planned"),
        ("screening", "due", "planned"),
    ]
    again = await client.post(url, headers=reminding.headers, json={"name": "mammogram", "due_on": due_on.isoformat()})
    assert again.status_code == 409

    await owner_db.execute(
        "update reminder_touches set send_at = now() where tenant_id = $1 and subject_id = $2 and touch_key = '14d'",
        reminding.tenant_id,
        screening["id"],
    )
    await run_periodic(app_loop, reminding)
    await run_periodic(app_loop, reminding)
    sent = [
        n for n in await reminder_notifications(owner_db, reminding) if n["context"]["reminder"]["kind"] == "screening"
    ]
    assert len(sent) == 1
    assert sent[0]["context"]["text"].startswith("Reminder: your mammogram is due on ")
    listed = (await client.get(url, headers=reminding.headers)).json()
    assert {t["touch_key"]: t["status"] for t in listed[0]["touches"]} == {"14d": "sending", "due": "planned"}

    removed = await client.delete(f"{url}/{screening['id']}", headers=reminding.headers)
    assert removed.status_code == 204
    rows = await owner_db.fetch(
        "select touch_key, status from reminder_touches where tenant_id = $1 and subject_id = $2",
        reminding.tenant_id,
        screening["id"],
    )
    assert {r["touch_key"]: r["status"] for r in rows} == {"14d": "sending", "due": "cancelled"}
    assert await plugin_failures(owner_db, reminding) == []


async def test_a_screening_due_date_out_of_range_is_a_400_not_a_500(client: Any, reminding: Any) -> None:
    """Found by fuzzing every route: a due date in the first days of year 1 has no date 14 days before it."""
    patient = await new_patient(client, reminding)
    url = f"{REMINDERS}/patients/{patient['id']}/screenings"
    for due_on in ("0001-01-01", "0001-01-09", "1899-12-31", "2201-01-01"):
        refused = await client.post(url, headers=reminding.headers, json={"name": "flu shot", "due_on": due_on})
        assert refused.status_code == 400, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert "due_on must be between 1900-01-01 and 2200-12-31" in refused.text
    edge = await client.post(url, headers=reminding.headers, json={"name": "flu shot", "due_on": "1900-01-01"})
    assert edge.status_code == 201, edge.text


async def test_a_referral_follow_up_is_planned_when_sent_and_cancelled_when_scheduled(
    client: Any, reminding: Any, owner_db: Any, app_loop: Any
) -> None:
    await enable_module(client, reminding, "referrals")
    await enable_module(client, reminding, "reminders", {**NO_QUIET_HOURS, "referral_followup_days": 3})
    patient = await new_patient(client, reminding)
    referral = await new_referral(client, reminding, patient=patient)
    assert (await move(client, reminding, referral["id"], "sent")).status_code == 200

    async def follow_ups() -> list[Any]:
        return list(
            await owner_db.fetch(
                "select touch_key, status, send_at, reason from reminder_touches where tenant_id = $1 "
                "and subject_id = $2 "
                "and kind = 'referral_followup'",
                reminding.tenant_id,
                referral["id"],
            )
        )

    [planned] = await follow_ups()
    assert (planned["touch_key"], planned["status"]) == ("3d", "planned")
    assert abs(planned["send_at"] - (datetime.now(UTC) + timedelta(days=3))) < timedelta(minutes=5)
    for step in ("received", "accepted"):
        assert (await move(client, reminding, referral["id"], step)).status_code == 200
    assert len(await follow_ups()) == 1  # still the one touch

    start = (datetime.now(UTC) + timedelta(days=6)).replace(microsecond=0)
    appointment = await book(client, reminding, patient["id"], start)
    moved = await move(client, reminding, referral["id"], "scheduled", appointment_id=appointment["id"])
    assert moved.status_code == 200, moved.text
    [cancelled] = await follow_ups()
    assert (cancelled["status"], cancelled["reason"]) == ("cancelled", "the referral is scheduled")
    assert await plugin_failures(owner_db, reminding) == []


async def test_a_referral_follow_up_goes_out_while_the_referral_is_open(
    client: Any, reminding: Any, owner_db: Any, app_loop: Any
) -> None:
    await enable_module(client, reminding, "referrals")
    patient = await new_patient(client, reminding)
    await grant(client, reminding, patient["id"], "sms")
    referral = await new_referral(client, reminding, patient=patient)
    assert (await move(client, reminding, referral["id"], "sent")).status_code == 200
    await owner_db.execute(
        "update reminder_touches set send_at = now() where tenant_id = $1 and subject_id = $2",
        reminding.tenant_id,
        referral["id"],
    )
    await run_periodic(app_loop, reminding)
    await run_periodic(app_loop, reminding)
    sent = [
        n
        for n in await reminder_notifications(owner_db, reminding)
        if n["context"]["reminder"]["kind"] == "referral_followup"
    ]
    assert len(sent) == 1
    assert "cardiology specialist" in sent[0]["context"]["text"]


async def test_documents_to_bring_are_listed_in_the_earlier_appointment_reminders(
    client: Any, org: Any, owner_db: Any, app_loop: Any
) -> None:
    await enable_module(
        client,
        org,
        "reminders",
        {**NO_QUIET_HOURS, "documents_by_reason": {"New patient visit": ["photo ID", "insurance card"]}},
    )
    patient = await new_patient(client, org)
    await grant(client, org, patient["id"], "sms")
    start = (datetime.now(UTC) + timedelta(days=4)).replace(microsecond=0)
    appointment = await book(client, org, patient["id"], start, reason="new patient visit")
    await owner_db.execute(
        "update reminder_touches set send_at = now() where tenant_id = $1 and subject_id = $2 and touch_key = '72h'",
        org.tenant_id,
        appointment["id"],
    )
    await run_periodic(app_loop, org)
    [sent] = await reminder_notifications(owner_db, org)
    assert sent["context"]["text"].endswith("Please bring: photo ID, insurance card.")
    assert sent["context"]["appointment"]["documents"] == ["photo ID", "insurance card"]
    assert len(await touches(client, org, appointment["id"])) == 3
