"""The reminders KPIs: delivery and confirmation rates from the touches, in the organization's zone.

Patients and appointments are made over HTTP; the touches (what the send sweep and the channels
leave behind) and the confirmations (what a "C" reply leaves behind) are written as rows with fixed
times in March 2026, so every figure is worked out by hand below.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from core.testing.fixtures import add_user, create_patient, enable_module
from plugins.reminders.metrics import APPOINTMENT_CONFIRMATION_FACTS, REMINDER_DELIVERY_FACTS
from tests.metrics.kpi_support import (
    CHICAGO,
    local_window,
    metric,
    points,
    practitioner,
    primary_coordinator,
    run_facts,
    series_of,
    user_id,
    utc,
)

MARCH = local_window(date(2026, 3, 1), date(2026, 4, 1))
OFFSETS = {"72h": 72 * 3600, "24h": 24 * 3600, "2h": 2 * 3600}
_slots = itertools.count()


async def _appointment(client: Any, org: Any, patient_id: str, **extra: Any) -> str:
    """Booked over HTTP in a free future slot (the caller moves it)."""
    slot = datetime(2031, 3, 3, tzinfo=UTC) + timedelta(hours=next(_slots))
    response = await client.post(
        "/api/v1/appointments",
        headers=org.headers,
        json={
            "patient_id": patient_id,
            "start": slot.isoformat(),
            "end": (slot + timedelta(minutes=30)).isoformat(),
            "time_zone": CHICAGO,
            **extra,
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _touch(
    owner_db: Any,
    org: Any,
    appointment: tuple[str, str, datetime],
    key: str,
    status: str,
    claimed: datetime | None,
    sent: datetime | None = None,
) -> None:
    appointment_id, patient_id, subject_at = appointment
    due = subject_at - timedelta(seconds=OFFSETS[key])
    await owner_db.execute(
        "insert into reminder_touches (tenant_id, kind, subject_id, subject_at, patient_id, touch_key, offset_seconds, "
        "due_at, send_at, status, channel, claimed_at, sent_at) "
        "values ($1, 'appointment', $2, $3, $4, $5, $6, $7, $7, $8, 'sms', $9, $10)",
        org.tenant_id,
        uuid.UUID(appointment_id),
        subject_at,
        uuid.UUID(patient_id),
        key,
        OFFSETS[key],
        due,
        status,
        claimed,
        sent,
    )


async def _confirm(owner_db: Any, org: Any, appointment: tuple[str, str, datetime]) -> None:
    appointment_id, patient_id, subject_at = appointment
    await owner_db.execute(
        "insert into reminder_confirmations (tenant_id, appointment_id, subject_at, patient_id, channel, text) "
        "values ($1, $2, $3, $4, 'sms', 'C')",
        org.tenant_id,
        uuid.UUID(appointment_id),
        subject_at,
        uuid.UUID(patient_id),
    )


@pytest.fixture
async def reminded(client: Any, org: Any, owner_db: Any) -> dict[str, Any]:
    """March 2026 in a Chicago clinic: which touches went out, which reached the patient, who confirmed."""
    await enable_module(client, org, "metrics")
    zone = await client.patch("/api/v1/tenant", headers=org.headers, json={"time_zone": CHICAGO})
    assert zone.status_code == 200, zone.text
    coordinator = await user_id(client, await add_user(client, org, "coordinator"))
    house = await practitioner(client, org)
    pa, pb, gone = [str((await create_patient(client, org))["id"]) for _ in range(3)]
    await primary_coordinator(client, org, pa, coordinator)

    starts = {
        "x1": (pa, "2026-03-20T15:00", {"practitioner_id": house}),
        "x2": (pb, "2026-03-21T15:00", {}),
        "x3": (pb, "2026-03-25T15:00", {}),  # moved here from March 5
        "x4": (pa, "2026-03-23T15:00", {}),  # cancelled
        "x5": (pb, "2026-03-29T15:00", {}),
        "x6": (gone, "2026-03-24T15:00", {}),  # the patient is deleted
        "x7": (pa, "2026-04-03T15:00", {}),
    }
    slots: dict[str, tuple[str, str, datetime]] = {}
    for name, (patient, start, extra) in starts.items():
        appointment_id = await _appointment(client, org, patient, **extra)
        slots[name] = (appointment_id, patient, utc(start))
    cancelled = await client.post(
        f"/api/v1/appointments/{slots['x4'][0]}/transition", headers=org.headers, json={"status": "cancelled"}
    )
    assert cancelled.status_code == 200, cancelled.text
    for appointment_id, _, moved_to in slots.values():
        await owner_db.execute(
            "update appointments set start_at = $2, end_at = $2::timestamptz + interval '30 minutes' where id = $1",
            uuid.UUID(appointment_id),
            moved_to,
        )
    assert (await client.delete(f"/api/v1/patients/{gone}", headers=org.headers)).status_code == 204
    await enable_module(client, org, "reminders")  # after booking: the plan below is written by hand
    old_x3 = (slots["x3"][0], pb, utc("2026-03-05T15:00"))

    await _touch(owner_db, org, slots["x1"], "72h", "delivered", utc("2026-03-17T15:00"), utc("2026-03-17T15:00"))
    await _touch(owner_db, org, slots["x1"], "24h", "sent", utc("2026-03-19T15:00"), utc("2026-03-19T15:01"))
    await _touch(owner_db, org, slots["x1"], "2h", "cancelled", None)  # the patient confirmed
    await _touch(owner_db, org, slots["x2"], "72h", "failed", utc("2026-03-18T15:00"))
    await _touch(owner_db, org, slots["x2"], "24h", "sent", utc("2026-03-20T15:00"), utc("2026-03-20T15:00"))
    await _touch(owner_db, org, old_x3, "72h", "delivered", utc("2026-03-02T15:00"), utc("2026-03-02T15:00"))
    await _touch(owner_db, org, slots["x3"], "72h", "delivered", utc("2026-03-22T15:00"), utc("2026-03-22T15:00"))
    await _touch(owner_db, org, slots["x4"], "72h", "delivered", utc("2026-03-20T16:00"), utc("2026-03-20T16:00"))
    await _touch(owner_db, org, slots["x5"], "72h", "sending", utc("2026-03-26T15:00"))  # never came back
    await _touch(owner_db, org, slots["x5"], "24h", "delivered", utc("2026-03-28T15:00"), utc("2026-03-28T15:00"))
    await _touch(owner_db, org, slots["x5"], "2h", "skipped", utc("2026-03-29T13:00"))
    await _touch(owner_db, org, slots["x6"], "72h", "delivered", utc("2026-03-21T15:00"), utc("2026-03-21T15:00"))
    # 23:00 on March 31 in Chicago, 04:00 on April 1 in UTC.
    await _touch(owner_db, org, slots["x7"], "72h", "delivered", utc("2026-04-01T04:00"), utc("2026-04-01T04:00"))
    await _touch(owner_db, org, slots["x7"], "24h", "planned", None)
    for confirmed in (slots["x1"], old_x3, slots["x5"], slots["x7"], slots["x6"]):
        await _confirm(owner_db, org, confirmed)
    return {"coordinator": coordinator, "house": house, "slots": slots, "pb": pb}


async def test_delivery_facts_are_the_touches_that_went_out(
    client: Any, org: Any, app_loop: Any, reminded: dict[str, Any]
) -> None:
    rows = await run_facts(app_loop, org, REMINDER_DELIVERY_FACTS, *MARCH)
    assert [(r["at"], r["value"]) for r in rows] == [
        (utc("2026-03-02T15:00"), 1.0),  # the old time of x3: it went out and arrived
        (utc("2026-03-17T15:00"), 1.0),
        (utc("2026-03-18T15:00"), 0.0),  # failed on every channel
        (utc("2026-03-19T15:00"), 1.0),
        (utc("2026-03-20T15:00"), 1.0),
        (utc("2026-03-20T16:00"), 1.0),  # the appointment was cancelled later; the reminder still arrived
        (utc("2026-03-22T15:00"), 1.0),
        (utc("2026-03-26T15:00"), 0.0),  # still "sending" months later: not delivered
        (utc("2026-03-28T15:00"), 1.0),
        (utc("2026-04-01T04:00"), 1.0),
    ]  # skipped, cancelled and planned touches and the deleted patient's are not there
    assert str(rows[1]["provider_id"]) == reminded["house"]
    assert rows[1]["coordinator_id"] == reminded["coordinator"]
    assert rows[2]["coordinator_id"] is None


async def test_a_touch_in_flight_is_left_out_for_a_day(
    client: Any, org: Any, app_loop: Any, owner_db: Any, reminded: dict[str, Any]
) -> None:
    now = datetime.now(UTC)
    appointment_id = await _appointment(client, org, reminded["pb"])
    slot = (appointment_id, reminded["pb"], now + timedelta(days=3))
    await _touch(owner_db, org, slot, "72h", "sending", now - timedelta(hours=1))
    window = (now - timedelta(days=3), now + timedelta(days=1))
    assert await run_facts(app_loop, org, REMINDER_DELIVERY_FACTS, *window) == []
    await owner_db.execute(
        "update reminder_touches set claimed_at = $2 where subject_id = $1",
        uuid.UUID(appointment_id),
        now - timedelta(hours=25),
    )
    assert [r["value"] for r in await run_facts(app_loop, org, REMINDER_DELIVERY_FACTS, *window)] == [0.0]


async def test_confirmation_facts_are_appointments_at_their_current_time(
    client: Any, org: Any, app_loop: Any, reminded: dict[str, Any]
) -> None:
    rows = await run_facts(app_loop, org, APPOINTMENT_CONFIRMATION_FACTS, *MARCH)
    assert [(r["at"], r["value"]) for r in rows] == [
        (utc("2026-03-17T15:00"), 1.0),  # x1, dated by its first reminder, confirmed
        (utc("2026-03-20T15:00"), 0.0),  # x2: the first one that reached the patient (the 72 h one failed)
        (utc("2026-03-22T15:00"), 0.0),  # x3 at its new time; the confirmation was for the old one
        (utc("2026-03-28T15:00"), 1.0),  # x5
        (utc("2026-04-01T04:00"), 1.0),  # x7
    ]  # x4 was cancelled, x6's patient deleted
    assert str(rows[0]["provider_id"]) == reminded["house"]
    assert [r["coordinator_id"] for r in rows] == [reminded["coordinator"], None, None, None, reminded["coordinator"]]


async def test_reminder_rates_per_month_day_and_dimension(client: Any, org: Any, reminded: dict[str, Any]) -> None:
    months = {"first": "2026-02-01", "last": "2026-04-30", "period": "month"}
    delivery = await series_of(client, org, "reminder_delivery_rate_pct", **months)
    assert (delivery["unit"], delivery["target"], delivery["better"]) == ("%", 95.0, "higher")
    assert points(delivery) == {"2026-02-01": (None, 0), "2026-03-01": (80.0, 10), "2026-04-01": (None, 0)}
    in_utc = await series_of(client, org, "reminder_delivery_rate_pct", time_zone="UTC", **months)
    assert points(in_utc)["2026-03-01"] == (77.78, 9)
    assert points(in_utc)["2026-04-01"] == (100.0, 1)

    confirmation = await series_of(client, org, "appointment_confirmation_rate_pct", **months)
    assert points(confirmation)["2026-03-01"] == (60.0, 5)
    confirmation_utc = await series_of(client, org, "appointment_confirmation_rate_pct", time_zone="UTC", **months)
    assert points(confirmation_utc)["2026-03-01"] == (50.0, 4)

    days = await series_of(
        client, org, "reminder_delivery_rate_pct", first="2026-03-31", last="2026-04-01", period="day"
    )
    assert points(days) == {"2026-03-31": (100.0, 1), "2026-04-01": (None, 0)}
    weeks = await series_of(
        client, org, "reminder_delivery_rate_pct", first="2026-03-16", last="2026-03-22", period="week"
    )
    assert points(weeks) == {"2026-03-16": (83.33, 6)}  # Monday 16th to Sunday 22nd: one failure in six

    march = {"first": "2026-03-01", "last": "2026-03-31", "period": "month"}
    by_coordinator = await series_of(client, org, "reminder_delivery_rate_pct", by="coordinator", **march)
    assert points(by_coordinator, str(reminded["coordinator"]))["2026-03-01"] == (100.0, 4)
    assert points(by_coordinator, None)["2026-03-01"] == (66.67, 6)
    by_provider = await series_of(client, org, "appointment_confirmation_rate_pct", by="provider", **march)
    assert points(by_provider, reminded["house"])["2026-03-01"] == (100.0, 1)
    assert points(by_provider, None)["2026-03-01"] == (50.0, 4)


async def test_the_reminder_metrics_need_the_module(client: Any, org: Any) -> None:
    await enable_module(client, org, "metrics")
    assert (await metric(client, org, "reminder_delivery_rate_pct")).status_code == 404
    await enable_module(client, org, "reminders")
    listed = (await client.get("/api/v1/metrics", headers=org.headers)).json()["items"]
    mine = {m["name"]: m for m in listed if m["module"] == "reminders"}
    assert sorted(mine) == ["appointment_confirmation_rate_pct", "reminder_delivery_rate_pct"]
    assert {m["category"] for m in mine.values()} == {"Reminders"}
    assert (
        await metric(client, org, "reminder_delivery_rate_pct", first="2026-03-01", last="2026-03-31")
    ).status_code == 200
