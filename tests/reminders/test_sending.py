"""Sending: exactly once under overlapping sweeps, channel fallback, one task when nothing gets through, resend."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from core.db.tenant import tenant_transaction
from core.jobs.context import system_principal
from core.plugins.context import PluginContext
from core.testing.fixtures import enable_module
from plugins.reminders import sending
from tests.notifications.conftest import SmtpServer
from tests.notifications.helpers import configure_email
from tests.reminders.conftest import (
    NO_QUIET_HOURS,
    REMINDERS,
    book,
    grant,
    new_patient,
    plugin_failures,
    reminder_notifications,
    run_periodic,
    run_queued,
    run_twice_at_once,
    tasks_about,
    touches,
)


def _soon() -> datetime:
    return (datetime.now(UTC) + timedelta(minutes=90)).replace(microsecond=0)


async def _due_touch(client: Any, org: Any, patient_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A booking 90 minutes ahead: its catch-up touch is due now. Returns (appointment, touch)."""
    appointment = await book(client, org, patient_id, _soon())
    touch = next(t for t in await touches(client, org, appointment["id"]) if t["status"] == "planned")
    return appointment, touch


async def test_two_sweeps_at_once_and_the_dispatch_job_send_each_touch_once(
    client: Any, reminding: Any, owner_db: Any, app_loop: Any
) -> None:
    patient = await new_patient(client, reminding)
    await grant(client, reminding, patient["id"], "sms")
    appointments = [await _due_touch(client, reminding, patient["id"]) for _ in range(1)]
    other = await new_patient(client, reminding)
    await grant(client, reminding, other["id"], "sms")
    appointments.append(await _due_touch(client, reminding, other["id"]))

    assert await run_twice_at_once(app_loop, reminding) == ["done", "done"]
    assert set(await run_queued(app_loop, owner_db, reminding, "reminders.dispatch")) == {"done"}
    assert await run_periodic(app_loop, reminding) == "done"

    sent = await reminder_notifications(owner_db, reminding)
    assert sorted(n["idempotency_key"] for n in sent) == sorted(
        f"reminders:reminder:{touch['id']}:sms" for _, touch in appointments
    )
    queued_sends = await owner_db.fetchval(
        "select count(*) from outbox where tenant_id = $1 and actor_name = 'notifications.send'", reminding.tenant_id
    )
    assert queued_sends == 2
    deliveries = await owner_db.fetchval(
        "select count(*) from reminder_deliveries where tenant_id = $1", reminding.tenant_id
    )
    assert deliveries == 2
    assert await plugin_failures(owner_db, reminding) == []


async def test_no_sms_consent_falls_back_to_email_and_the_sent_mail_marks_the_touch(
    client: Any, reminding: Any, owner_db: Any, app_loop: Any, smtp_server: SmtpServer
) -> None:
    await configure_email(client, reminding, smtp_server)
    patient = await new_patient(client, reminding, email="ada@example.net")
    await grant(client, reminding, patient["id"], "email")
    appointment, touch = await _due_touch(client, reminding, patient["id"])
    await run_periodic(app_loop, reminding)

    [row] = [t for t in await touches(client, reminding, appointment["id"]) if t["id"] == touch["id"]]
    assert [(d["channel"], d["status"]) for d in row["deliveries"]] == [("sms", "suppressed"), ("email", "queued")]
    assert row["deliveries"][0]["detail"] == "no active consent"
    assert (row["status"], row["channel"]) == ("sending", "email")

    assert await run_queued(app_loop, owner_db, reminding, "notifications.send") == ["done"]
    assert len(smtp_server.received) == 1
    mail = smtp_server.received[0].message
    assert mail["Subject"] == "Appointment reminder"
    body = mail.get_payload(decode=True) if not mail.is_multipart() else mail.get_body().get_content()
    text = body.decode() if isinstance(body, bytes) else str(body)
    assert "Reply C to confirm or R to reschedule." in text
    assert "at Riverside Clinic, 12 Main St" in text

    [row] = [t for t in await touches(client, reminding, appointment["id"]) if t["id"] == touch["id"]]
    assert row["status"] == "sent"
    assert [(d["channel"], d["status"]) for d in row["deliveries"]] == [("sms", "suppressed"), ("email", "sent")]
    assert await plugin_failures(owner_db, reminding) == []


async def test_a_channel_skipped_at_send_time_falls_back_through_the_status_hook(
    client: Any, reminding: Any, owner_db: Any, app_loop: Any, smtp_server: SmtpServer
) -> None:
    """SMS consent is there but the organization has no SMS provider: core skips it when sending."""
    await configure_email(client, reminding, smtp_server)
    patient = await new_patient(client, reminding)
    await grant(client, reminding, patient["id"], "sms")
    await grant(client, reminding, patient["id"], "email")
    appointment, touch = await _due_touch(client, reminding, patient["id"])
    await run_periodic(app_loop, reminding)
    assert await run_queued(app_loop, owner_db, reminding, "notifications.send") == ["done"]  # sms: skipped
    [row] = [t for t in await touches(client, reminding, appointment["id"]) if t["id"] == touch["id"]]
    assert [(d["channel"], d["status"]) for d in row["deliveries"]] == [("sms", "skipped"), ("email", "queued")]
    assert "not enabled" in row["deliveries"][0]["detail"]
    assert await run_queued(app_loop, owner_db, reminding, "notifications.send") == ["done"]  # email: sent
    assert len(smtp_server.received) == 1
    [row] = [t for t in await touches(client, reminding, appointment["id"]) if t["id"] == touch["id"]]
    assert row["status"] == "sent"
    keys = [n["idempotency_key"] for n in await reminder_notifications(owner_db, reminding)]
    assert keys == [f"reminders:reminder:{touch['id']}:sms", f"reminders:reminder:{touch['id']}:email"]
    assert await plugin_failures(owner_db, reminding) == []


async def test_when_every_channel_fails_one_task_is_raised_however_often_it_happens(
    client: Any, reminding: Any, owner_db: Any, app_loop: Any
) -> None:
    patient = await new_patient(
        client,
        reminding,
        address={"line": ["12 Main St"], "city": "Springfield", "postal_code": "12345", "country": "US"},
    )
    appointment, touch = await _due_touch(client, reminding, patient["id"])
    other = next(t for t in await touches(client, reminding, appointment["id"]) if t["touch_key"] == "24h")
    await owner_db.execute(  # a second touch of the same appointment due too (as if the 24 h one were pending)
        "update reminder_touches set status = 'planned', reason = null, send_at = now() - interval '1 hour' "
        "where tenant_id = $1 and id = $2",
        reminding.tenant_id,
        other["id"],
    )
    await run_twice_at_once(app_loop, reminding)
    rows = {t["id"]: t for t in await touches(client, reminding, appointment["id"])}
    assert rows[other["id"]]["status"] == "skipped"  # superseded by the later touch due at the same time
    failed = rows[touch["id"]]
    assert failed["status"] == "failed"
    assert [(d["channel"], d["status"]) for d in failed["deliveries"]] == [
        ("sms", "suppressed"),
        ("email", "suppressed"),
        ("voice", "suppressed"),
        ("letter", "suppressed"),
    ]
    tasks = await tasks_about(client, reminding, appointment["id"])
    assert [t["title"] for t in tasks] == ["Reminder could not be delivered"]
    assert tasks[0]["patient_id"] == patient["id"]
    assert tasks[0]["focus_type"] == "appointment"

    # Another touch of the appointment failing, and more sweeps: still one task.
    await owner_db.execute(
        "update reminder_touches set status = 'planned', send_at = now() where tenant_id = $1 and id = $2",
        reminding.tenant_id,
        other["id"],
    )
    await run_periodic(app_loop, reminding)
    await run_periodic(app_loop, reminding)
    rows = {t["id"]: t for t in await touches(client, reminding, appointment["id"])}
    assert rows[other["id"]]["status"] == "failed"
    assert len(await tasks_about(client, reminding, appointment["id"])) == 1
    assert await plugin_failures(owner_db, reminding) == []


async def test_max_failures_stops_before_the_last_channels(client: Any, org: Any, owner_db: Any, app_loop: Any) -> None:
    await enable_module(
        client, org, "reminders", {"quiet_hours_start": None, "quiet_hours_end": None, "max_failures": 2}
    )
    patient = await new_patient(client, org)
    appointment, touch = await _due_touch(client, org, patient["id"])
    await run_periodic(app_loop, org)
    [row] = [t for t in await touches(client, org, appointment["id"]) if t["id"] == touch["id"]]
    assert row["status"] == "failed"
    assert [d["channel"] for d in row["deliveries"]] == ["sms", "email"]
    assert len(await tasks_about(client, org, appointment["id"])) == 1


async def test_resend_is_guarded_against_duplicates(client: Any, reminding: Any, owner_db: Any, app_loop: Any) -> None:
    patient = await new_patient(client, reminding)
    _, touch = await _due_touch(client, reminding, patient["id"])
    url = f"{REMINDERS}/touches/{touch['id']}/resend"
    refused = await client.post(url, headers=reminding.headers, json={})
    assert refused.status_code == 409  # not sent yet
    assert "not gone out" in refused.json()["detail"]

    await run_periodic(app_loop, reminding)  # no consent anywhere: failed
    refused = await client.post(url, headers=reminding.headers, json={"channel": "email"})
    assert refused.status_code == 409  # it went out less than 10 minutes ago
    assert "10 minutes" in refused.json()["detail"]

    await grant(client, reminding, patient["id"], "email")
    await owner_db.execute(
        "update reminder_touches set claimed_at = now() - interval '11 minutes' where tenant_id = $1 and id = $2",
        reminding.tenant_id,
        touch["id"],
    )
    resent = await client.post(url, headers=reminding.headers, json={"channel": "email"})
    assert resent.status_code == 200, resent.text
    body = resent.json()
    assert (body["status"], body["round"], body["channel"]) == ("sending", 1, "email")
    assert [(d["round"], d["channel"], d["status"]) for d in body["deliveries"] if d["round"] == 1] == [
        (1, "email", "queued")
    ]
    keys = [n["idempotency_key"] for n in await reminder_notifications(owner_db, reminding)]
    assert keys[-1] == f"reminders:reminder:{touch['id']}:resend1:email"

    again = await client.post(url, headers=reminding.headers, json={"channel": "email"})
    assert again.status_code == 409  # a resend is under way (and was just made)
    await owner_db.execute(
        "update reminder_touches set resend_requested_at = now() - interval '11 minutes', claimed_at = null "
        "where tenant_id = $1 and id = $2",
        reminding.tenant_id,
        touch["id"],
    )
    in_flight = await client.post(url, headers=reminding.headers, json={})
    assert in_flight.status_code == 409
    assert "under way" in in_flight.json()["detail"]

    await owner_db.execute(
        "update reminder_touches set status = 'delivered' where tenant_id = $1 and id = $2",
        reminding.tenant_id,
        touch["id"],
    )
    delivered = await client.post(url, headers=reminding.headers, json={})
    assert delivered.status_code == 409
    assert "delivered" in delivered.json()["detail"]

    log = await client.get(f"{REMINDERS}/patients/{patient['id']}/deliveries", headers=reminding.headers)
    assert log.status_code == 200, log.text
    newest = log.json()[0]["delivery"]
    assert (newest["round"], newest["channel"]) == (1, "email")
    audited = await owner_db.fetchval(
        "select count(*) from audit_events where tenant_id = $1 and action = 'reminders.resend'", reminding.tenant_id
    )
    assert audited == 1


async def test_caregiver_copies_go_only_to_consenting_contacts(client: Any, reminding: Any, app_loop: Any) -> None:
    patient = await new_patient(client, reminding)
    contacts = {}
    for name, may_receive in (("Carla", ["appointment_reminders"]), ("Dan", ["appointment_reminders"]), ("Eve", [])):
        response = await client.post(
            f"/api/v1/patients/{patient['id']}/contacts",
            headers=reminding.headers,
            json={"name": name, "relationship": "child", "phone": "+1 555 201 0199", "may_receive": may_receive},
        )
        assert response.status_code == 201, response.text
        contacts[name] = response.json()["id"]
    for name in ("Carla", "Eve"):  # Dan may receive reminders but has no sharing consent
        response = await client.post(
            f"/api/v1/patients/{patient['id']}/consents",
            headers=reminding.headers,
            json={"kind": "sharing", "contact_id": contacts[name]},
        )
        assert response.status_code == 201, response.text

    async def recipients() -> list[str]:
        async with tenant_transaction(reminding.tenant_id) as tx:
            ctx = PluginContext(
                module="reminders", tx=tx, principal=system_principal(reminding.tenant_id), settings=None
            )
            return [str(r["id"]) for r in await sending.caregiver_recipients(ctx, patient["id"])]

    assert await app_loop(recipients) == [contacts["Carla"]]
    assert sending.caregiver_channel({"phone": None, "email": "c@example.net"}, ["sms", "email"]) == "email"
    assert sending.caregiver_channel({"phone": None, "email": None}, ["sms", "email"]) is None
    touch_id, carla = uuid.uuid4(), uuid.UUID(contacts["Carla"])
    assert sending.idempotency_key(touch_id, "sms", 0, carla) == f"reminder:{touch_id}:contact:{carla}:sms"
    assert sending.idempotency_key(touch_id, "email", 2) == f"reminder:{touch_id}:resend2:email"

    if not sending.contact_notifications_supported():
        return  # core without request_notification(contact_id=): no copies yet
    await enable_module(client, reminding, "reminders", {**NO_QUIET_HOURS, "caregiver_copies": True})
    await grant(client, reminding, patient["id"], "sms")
    appointment, touch = await _due_touch(client, reminding, patient["id"])
    await run_periodic(app_loop, reminding)
    [row] = [t for t in await touches(client, reminding, appointment["id"]) if t["id"] == touch["id"]]
    assert [(d["channel"], d["contact_id"], d["status"]) for d in row["deliveries"]] == [
        ("sms", None, "queued"),
        ("sms", contacts["Carla"], "queued"),
    ]
    assert row["channel"] == "sms"
    assert len(row["notification_ids"]) == 1  # the patient's; the copy is logged but does not drive the touch
