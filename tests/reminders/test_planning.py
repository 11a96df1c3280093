"""Planning through the appointment hooks and the sweep: booking, same-day booking, reschedule, cancel, repair."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from core.testing.fixtures import enable_module
from tests.reminders.conftest import (
    book,
    grant,
    new_patient,
    plugin_failures,
    reminder_notifications,
    run_periodic,
    run_queued,
    touches,
)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _by_key(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {t["touch_key"]: t for t in rows}


async def test_booking_plans_three_touches_on_the_patients_clock(client: Any, reminding: Any, owner_db: Any) -> None:
    """Appointment 11:00 in New York (15:00 UTC) for a patient in Tokyo with quiet hours 23:00-07:00:
    the 72 h and 24 h touches fall at midnight in Tokyo and move to 07:00 JST (22:00 UTC the day
    before); the 2 h touch is 22:00 JST, not quiet. Read in New York, none of them would move."""
    patient = await new_patient(
        client,
        reminding,
        communication={"time_zone": "Asia/Tokyo", "quiet_hours_start": "23:00:00", "quiet_hours_end": "07:00:00"},
    )
    start = datetime(2030, 6, 12, 15, 0, tzinfo=UTC)  # 11:00 in New York, midnight in Tokyo
    appointment = await book(client, reminding, patient["id"], start, time_zone="America/New_York")
    planned = _by_key(await touches(client, reminding, appointment["id"]))
    assert set(planned) == {"72h", "24h", "2h"}
    assert {k: t["status"] for k, t in planned.items()} == {"72h": "planned", "24h": "planned", "2h": "planned"}
    assert _at(planned["72h"]["send_at"]) == datetime(2030, 6, 9, 22, 0, tzinfo=UTC)
    assert _at(planned["24h"]["send_at"]) == datetime(2030, 6, 11, 22, 0, tzinfo=UTC)
    assert _at(planned["2h"]["send_at"]) == datetime(2030, 6, 12, 13, 0, tzinfo=UTC)
    assert all(_at(t["subject_at"]) == datetime(2030, 6, 12, 15, 0, tzinfo=UTC) for t in planned.values())
    assert await plugin_failures(owner_db, reminding) == []


async def test_a_booking_90_minutes_ahead_gets_one_immediate_touch(
    client: Any, reminding: Any, owner_db: Any, app_loop: Any
) -> None:
    patient = await new_patient(client, reminding, communication={"language": "es", "time_zone": "America/Chicago"})
    await grant(client, reminding, patient["id"], "sms")
    start = (datetime.now(UTC) + timedelta(minutes=90)).replace(microsecond=0)
    appointment = await book(client, reminding, patient["id"], start, time_zone="America/Chicago")
    planned = _by_key(await touches(client, reminding, appointment["id"]))
    assert {k: (t["status"], t["reason"]) for k, t in planned.items()} == {
        "72h": ("skipped", "in_past"),
        "24h": ("skipped", "in_past"),
        "2h": ("planned", None),
    }
    assert planned["2h"]["immediate"] is True
    assert _at(planned["2h"]["send_at"]) <= datetime.now(UTC)

    # The booking queued a dispatch: the patient does not wait for the next sweep.
    assert await run_queued(app_loop, owner_db, reminding, "reminders.dispatch") == ["done"]
    sent = await reminder_notifications(owner_db, reminding)
    assert len(sent) == 1
    notification = sent[0]
    assert notification["channel"] == "sms"
    assert notification["template"] == "generic"
    assert notification["idempotency_key"] == f"reminders:reminder:{planned['2h']['id']}:sms"
    text = notification["context"]["text"]
    assert text.startswith("Le recordamos su cita el ")
    local = start.astimezone(ZoneInfo("America/Chicago"))
    assert f"a las {local.hour:02d}:{local.minute:02d}" in text
    assert "en Riverside Clinic, 12 Main St" in text
    assert "Responda C para confirmar o R para reprogramar." in text
    assert "CANCEL" not in text.upper().replace("CANCELAR", "")
    after = _by_key(await touches(client, reminding, appointment["id"]))
    assert after["2h"]["status"] == "sending"
    assert after["2h"]["channel"] == "sms"
    assert after["2h"]["deliveries"][0]["notification_id"] == str(notification["id"])


async def test_a_reschedule_cancels_the_old_touches_and_plans_the_new_time(client: Any, reminding: Any) -> None:
    patient = await new_patient(client, reminding)
    first = datetime(2031, 3, 20, 15, 0, tzinfo=UTC)
    appointment = await book(client, reminding, patient["id"], first)
    moved = await client.post(
        f"/api/v1/appointments/{appointment['id']}/reschedule",
        headers=reminding.headers,
        json={"start": "2031-03-25T17:00:00+00:00", "end": "2031-03-25T17:30:00+00:00"},
    )
    assert moved.status_code == 200, moved.text
    rows = await touches(client, reminding, appointment["id"])
    old = [t for t in rows if _at(t["subject_at"]) == first]
    new = _by_key([t for t in rows if _at(t["subject_at"]) != first])
    assert {(t["touch_key"], t["status"], t["reason"]) for t in old} == {
        ("72h", "cancelled", "rescheduled"),
        ("24h", "cancelled", "rescheduled"),
        ("2h", "cancelled", "rescheduled"),
    }
    assert {k: t["status"] for k, t in new.items()} == {"72h": "planned", "24h": "planned", "2h": "planned"}
    assert _at(new["24h"]["send_at"]) == datetime(2031, 3, 24, 17, 0, tzinfo=UTC)
    assert not any(t["rescheduled"] for t in new.values())  # the patient had heard nothing of the old time


async def test_after_a_reminder_went_out_the_new_time_is_announced_as_rescheduled(
    client: Any, reminding: Any, owner_db: Any, app_loop: Any
) -> None:
    patient = await new_patient(client, reminding)
    await grant(client, reminding, patient["id"], "sms")
    soon = (datetime.now(UTC) + timedelta(minutes=90)).replace(microsecond=0)
    appointment = await book(client, reminding, patient["id"], soon)
    await run_queued(app_loop, owner_db, reminding, "reminders.dispatch")
    later = datetime(2031, 5, 6, 14, 0, tzinfo=UTC)
    moved = await client.post(
        f"/api/v1/appointments/{appointment['id']}/reschedule",
        headers=reminding.headers,
        json={"start": later.isoformat(), "end": (later + timedelta(minutes=30)).isoformat()},
    )
    assert moved.status_code == 200, moved.text
    new = _by_key([t for t in await touches(client, reminding, appointment["id"]) if _at(t["subject_at"]) == later])
    assert all(t["rescheduled"] for t in new.values())
    await owner_db.execute(
        "update reminder_touches set send_at = now() - interval '1 minute' where tenant_id = $1 and id = $2",
        reminding.tenant_id,
        new["72h"]["id"],
    )
    await run_periodic(app_loop, reminding)
    texts = [n["context"]["text"] for n in await reminder_notifications(owner_db, reminding)]
    assert len(texts) == 2
    assert texts[1].startswith("Your appointment has been rescheduled: it is now on Tuesday, May 6 at 2:00 PM")
    assert "Reply C to confirm or R to reschedule." in texts[1]


async def test_cancelling_or_a_no_show_cancels_the_unsent_touches(client: Any, reminding: Any) -> None:
    patient = await new_patient(client, reminding)
    for status in ("cancelled", "entered-in-error"):
        start = datetime(2031, 7, 1, 15, 0, tzinfo=UTC) + timedelta(days=1 if status == "cancelled" else 2)
        appointment = await book(client, reminding, patient["id"], start)
        moved = await client.post(
            f"/api/v1/appointments/{appointment['id']}/transition",
            headers=reminding.headers,
            json={"status": status, "reason": "patient called"},
        )
        assert moved.status_code == 200, moved.text
        rows = await touches(client, reminding, appointment["id"])
        assert {t["status"] for t in rows} == {"cancelled"}
        assert {t["reason"] for t in rows} == {f"the appointment is {status}"}


async def test_the_sweep_plans_appointments_booked_before_the_module_was_on(
    client: Any, org: Any, owner_db: Any, app_loop: Any
) -> None:
    patient = await new_patient(client, org)
    near = await book(client, org, patient["id"], (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0))
    far = await book(client, org, patient["id"], (datetime.now(UTC) + timedelta(days=9)).replace(microsecond=0))
    await enable_module(client, org, "reminders", {"quiet_hours_start": None, "quiet_hours_end": None})
    assert await touches(client, org, near["id"]) == []
    assert await run_periodic(app_loop, org) == "done"
    assert {t["touch_key"]: t["status"] for t in await touches(client, org, near["id"])} == {
        "72h": "skipped",
        "24h": "planned",
        "2h": "planned",
    }
    assert await touches(client, org, far["id"]) == []  # beyond the 4-day horizon: the next sweeps plan it
    assert await run_periodic(app_loop, org) == "done"
    assert len(await touches(client, org, near["id"])) == 3  # planning again adds nothing


async def test_the_touches_of_several_appointments_come_in_one_audited_read(
    client: Any, reminding: Any, other_org: Any, owner_db: Any
) -> None:
    first = await new_patient(client, reminding)
    second = await new_patient(client, reminding)
    start = datetime(2030, 6, 12, 15, 0, tzinfo=UTC)
    one = await book(client, reminding, first["id"], start)
    two = await book(client, reminding, second["id"], start + timedelta(hours=1))
    await enable_module(client, other_org, "reminders")
    theirs = await book(client, other_org, (await new_patient(client, other_org))["id"], start)
    answer = await client.get(
        "/api/v1/reminders/touches",
        headers=reminding.headers,
        params={"appointment_ids": [one["id"], two["id"], theirs["id"], str(uuid4())]},
    )
    assert answer.status_code == 200, answer.text
    together = answer.json()
    one_by_one = await touches(client, reminding, one["id"]) + await touches(client, reminding, two["id"])
    assert sorted(t["id"] for t in together) == sorted(t["id"] for t in one_by_one)  # none of theirs
    assert {t["subject_id"] for t in together} == {one["id"], two["id"]}
    audited = await owner_db.fetchval(
        "select details from audit_events where tenant_id = $1 and action = 'reminders.touches.read' "
        "and resource_id is null order by seq desc limit 1",
        reminding.tenant_id,
    )
    details = json.loads(audited) if isinstance(audited, str) else audited
    assert sorted(details["ids"]) == sorted([one["id"], two["id"]])
    too_many = await client.get(
        "/api/v1/reminders/touches",
        headers=reminding.headers,
        params={"appointment_ids": [str(uuid4()) for _ in range(201)]},
    )
    assert too_many.status_code == 400
