"""Replies applied over HTTP: a signed inbound SMS or e-mail after a reminder went out, then what changed."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from core.db.tenant import tenant_transaction
from core.jobs.context import system_principal
from core.notifications.inbound import COLUMNS as INBOUND_COLUMNS
from core.notifications.inbound import to_message
from core.plugins.context import PluginContext
from core.testing.fixtures import enable_module, sign_up
from plugins.reminders.applying import apply_message
from tests.notifications.conftest import ProviderServer, SmtpServer
from tests.notifications.helpers import configure_email, configure_provider
from tests.notifications.test_inbound import inbound_url, post_sms, sms_form
from tests.reminders.conftest import (
    NO_QUIET_HOURS,
    REMINDERS,
    book,
    grant,
    new_patient,
    plugin_failures,
    run_periodic,
    run_queued,
    tasks_about,
    touches,
)

NUMBER = "+15552010101"


async def reminded(
    client: Any, org: Any, owner_db: Any, app_loop: Any, patient: dict[str, Any], channel: str = "sms"
) -> dict[str, Any]:
    """An appointment four days ahead whose 72 h reminder went out (sent) on ``channel``."""
    start = (datetime.now(UTC) + timedelta(days=4, minutes=secrets.randbelow(600))).replace(microsecond=0)
    appointment = await book(client, org, patient["id"], start)
    await owner_db.execute(
        "update reminder_touches set send_at = now() - interval '1 minute' where tenant_id = $1 and subject_id = $2 "
        "and touch_key = '72h'",
        org.tenant_id,
        appointment["id"],
    )
    await run_periodic(app_loop, org)
    assert await run_queued(app_loop, owner_db, org, "notifications.send") == ["done"]
    by_key = {t["touch_key"]: t for t in await touches(client, org, appointment["id"])}
    assert by_key["72h"]["status"] == "sent", by_key["72h"]
    assert by_key["72h"]["channel"] == channel
    return appointment


async def sms_patient(client: Any, org: Any, provider: ProviderServer, **extra: Any) -> dict[str, Any]:
    await configure_provider(client, org, provider)
    patient = await new_patient(client, org, **extra)
    await grant(client, org, patient["id"], "sms")
    return patient


async def text(client: Any, org: Any, body: str, sender: str = NUMBER) -> None:
    await post_sms(client, await inbound_url(client, org, "sms"), sms_form(f"SM{secrets.token_hex(8)}", body, sender))


async def appointment_of(client: Any, org: Any, appointment_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/appointments/{appointment_id}", headers=org.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def opted_out(owner_db: Any, org: Any, patient_id: str, channel: str = "sms") -> bool:
    return bool(
        await owner_db.fetchval(
            "select exists (select 1 from channel_opt_outs where tenant_id = $1 and patient_id = $2 and channel = $3)",
            org.tenant_id,
            patient_id,
            channel,
        )
    )


async def test_c_confirms_and_cancels_the_remaining_touches_but_the_last(
    client: Any, reminding: Any, owner_db: Any, app_loop: Any, provider_server: ProviderServer
) -> None:
    patient = await sms_patient(client, reminding, provider_server)
    appointment = await reminded(client, reminding, owner_db, app_loop, patient)
    await text(client, reminding, "C")

    confirmation = (
        await client.get(f"{REMINDERS}/appointments/{appointment['id']}/confirmation", headers=reminding.headers)
    ).json()
    assert (confirmation["confirmed"], confirmation["channel"], confirmation["text"]) == (True, "sms", "C")
    by_key = {t["touch_key"]: t for t in await touches(client, reminding, appointment["id"])}
    assert (by_key["24h"]["status"], by_key["24h"]["reason"]) == ("cancelled", "confirmed by the patient")
    assert by_key["2h"]["status"] == "planned"  # a confirmed patient still gets the last reminder
    assert all(t["confirmed_at"] == confirmation["confirmed_at"] for t in by_key.values())
    assert (await appointment_of(client, reminding, appointment["id"]))["status"] == "booked"
    audited = await owner_db.fetch(
        "select details from audit_events where tenant_id = $1 and action = 'reminders.reply'", reminding.tenant_id
    )
    assert len(audited) == 1
    assert await plugin_failures(owner_db, reminding) == []


async def test_cancel_my_appointment_cancels_it_with_the_reason_and_its_touches(
    client: Any, reminding: Any, owner_db: Any, app_loop: Any, provider_server: ProviderServer
) -> None:
    patient = await sms_patient(client, reminding, provider_server)
    appointment = await reminded(client, reminding, owner_db, app_loop, patient)
    await text(client, reminding, "cancel my appointment")
    cancelled = await appointment_of(client, reminding, appointment["id"])
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancel_reason"] == "patient replied: cancel my appointment"
    by_key = {t["touch_key"]: t for t in await touches(client, reminding, appointment["id"])}
    assert (by_key["24h"]["status"], by_key["2h"]["status"]) == ("cancelled", "cancelled")
    assert await plugin_failures(owner_db, reminding) == []


async def test_spanish_si_confirms_and_cancelar_la_cita_cancels(
    client: Any, reminding: Any, owner_db: Any, app_loop: Any, provider_server: ProviderServer
) -> None:
    patient = await sms_patient(client, reminding, provider_server, communication={"language": "es"})
    first = await reminded(client, reminding, owner_db, app_loop, patient)
    await text(client, reminding, "sí")
    confirmation = (
        await client.get(f"{REMINDERS}/appointments/{first['id']}/confirmation", headers=reminding.headers)
    ).json()
    assert confirmation["confirmed"] is True
    await text(client, reminding, "cancelar la cita")
    cancelled = await appointment_of(client, reminding, first["id"])
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "patient replied: cancelar la cita")


async def test_r_raises_one_task_however_often_it_is_applied(
    client: Any, reminding: Any, owner_db: Any, app_loop: Any, provider_server: ProviderServer
) -> None:
    patient = await sms_patient(client, reminding, provider_server)
    appointment = await reminded(client, reminding, owner_db, app_loop, patient)
    await text(client, reminding, "R")
    await text(client, reminding, "can we move it?")  # another reschedule request: same task
    tasks = await tasks_about(client, reminding, appointment["id"])
    assert [t["title"] for t in tasks] == ["Patient asked to reschedule"]
    assert "“R”" in tasks[0]["description"]

    # Applying the same inbound message again (a replayed hook) does nothing more.
    row = await owner_db.fetchrow(
        f"select {INBOUND_COLUMNS} from inbound_messages where tenant_id = $1 and body = 'R'", reminding.tenant_id
    )

    async def again() -> str:
        async with tenant_transaction(reminding.tenant_id) as tx:
            ctx = PluginContext(
                module="reminders", tx=tx, principal=system_principal(reminding.tenant_id), settings=None
            )
            return await apply_message(ctx, to_message(row))

    assert await app_loop(again) == "already applied"
    assert len(await tasks_about(client, reminding, appointment["id"])) == 1
    assert (await appointment_of(client, reminding, appointment["id"]))["status"] == "booked"


async def test_stop_opts_out_acknowledges_once_and_later_reminders_fall_back_then_start_opts_in(
    client: Any, reminding: Any, owner_db: Any, app_loop: Any, provider_server: ProviderServer
) -> None:
    patient = await sms_patient(client, reminding, provider_server)
    await grant(client, reminding, patient["id"], "email")
    appointment = await reminded(client, reminding, owner_db, app_loop, patient)
    await text(client, reminding, "STOP")
    assert await opted_out(owner_db, reminding, patient["id"])
    assert await run_queued(app_loop, owner_db, reminding, "notifications.send") == ["done"]
    ack = provider_server.requests[-1].form
    assert ack["To"] == NUMBER
    assert ack["Body"].startswith("You will receive no more messages from ")
    assert ack["Body"].endswith("on this number. Reply START to resubscribe.")
    await text(client, reminding, "stop texting me")  # already opted out: no second acknowledgement
    acks = await owner_db.fetch(
        "select status from notifications where tenant_id = $1 and template = 'opt_out_confirmation'",
        reminding.tenant_id,
    )
    assert [r["status"] for r in acks] == ["sent"]

    # The next reminder: not on SMS any more, e-mail instead (consented).
    await owner_db.execute(
        "update reminder_touches set send_at = now() where tenant_id = $1 and subject_id = $2 and touch_key = '24h'",
        reminding.tenant_id,
        appointment["id"],
    )
    await run_periodic(app_loop, reminding)
    by_key = {t["touch_key"]: t for t in await touches(client, reminding, appointment["id"])}
    assert [(d["channel"], d["status"]) for d in by_key["24h"]["deliveries"]] == [
        ("sms", "suppressed"),
        ("email", "queued"),
    ]

    await text(client, reminding, "START")
    assert not await opted_out(owner_db, reminding, patient["id"])
    consent = await owner_db.fetchval(
        "select count(*) from patient_consents where tenant_id = $1 and patient_id = $2 and channel = 'sms' "
        "and status = 'granted'",
        reminding.tenant_id,
        patient["id"],
    )
    assert consent == 1
    assert await plugin_failures(owner_db, reminding) == []


async def test_the_acknowledgement_template_is_not_for_anything_else(
    client: Any, reminding: Any, provider_server: ProviderServer
) -> None:
    patient = await sms_patient(client, reminding, provider_server)
    response = await client.post(
        "/api/v1/notifications",
        headers=reminding.headers,
        json={"patient_id": patient["id"], "channel": "sms", "template": "opt_out_confirmation"},
    )
    assert response.status_code == 422, response.text


async def test_bare_cancel_on_sms_opts_out_and_asks_a_person_about_the_appointment(
    client: Any, reminding: Any, owner_db: Any, app_loop: Any, provider_server: ProviderServer
) -> None:
    patient = await sms_patient(client, reminding, provider_server)
    appointment = await reminded(client, reminding, owner_db, app_loop, patient)
    await text(client, reminding, "CANCEL")
    assert await opted_out(owner_db, reminding, patient["id"])
    assert (await appointment_of(client, reminding, appointment["id"]))["status"] == "booked"
    tasks = await tasks_about(client, reminding, appointment["id"])
    assert [t["title"] for t in tasks] == ["Patient texted CANCEL: messages or the appointment?"]


async def test_an_unknown_reply_becomes_a_task_with_the_text(
    client: Any, reminding: Any, owner_db: Any, app_loop: Any, provider_server: ProviderServer
) -> None:
    patient = await sms_patient(client, reminding, provider_server)
    appointment = await reminded(client, reminding, owner_db, app_loop, patient)
    await text(client, reminding, "Is there parking nearby?")
    tasks = await tasks_about(client, reminding, appointment["id"])
    assert [t["title"] for t in tasks] == ["Patient reply needs a person"]
    assert "Is there parking nearby?" in tasks[0]["description"]
    assert tasks[0]["patient_id"] == patient["id"]

    await text(client, reminding, "C", sender="+447700900123")  # nobody's number: nothing but an audit event
    assert (await appointment_of(client, reminding, appointment["id"]))["status"] == "booked"
    assert await owner_db.fetchval(
        "select count(*) from audit_events where tenant_id = $1 and action = 'reminders.reply_unmatched'",
        reminding.tenant_id,
    )


async def test_an_email_reply_with_quoted_history_confirms(
    client: Any, reminding: Any, owner_db: Any, app_loop: Any, smtp_server: SmtpServer
) -> None:
    await configure_email(client, reminding, smtp_server)
    patient = await new_patient(client, reminding, phone=None, email="ada@example.net")
    await grant(client, reminding, patient["id"], "email")
    appointment = await reminded(client, reminding, owner_db, app_loop, patient, channel="email")
    our_id = smtp_server.received[-1].message["Message-ID"]
    path = urlsplit(await inbound_url(client, reminding, "email")).path
    body = {
        "from": "Ada <ada@example.net>",
        "subject": "Re: Appointment reminder",
        "text": "Yes\n\nOn Mon, Jan 6, 2025 at 9:00 AM Clinic <clinic@example.org> wrote:\n> Reply C to confirm",
        "message_id": "<reply-ada-1@mail.example.net>",
        "in_reply_to": our_id,
    }
    assert (await client.post(path, json=body)).status_code == 204
    confirmation = (
        await client.get(f"{REMINDERS}/appointments/{appointment['id']}/confirmation", headers=reminding.headers)
    ).json()
    assert (confirmation["confirmed"], confirmation["channel"]) == (True, "email")


async def test_replies_of_another_tenants_patient_never_touch_this_tenant(
    client: Any, reminding: Any, owner_db: Any, app_loop: Any, provider_server: ProviderServer
) -> None:
    other = await sign_up(client)
    await enable_module(client, other, "reminders", NO_QUIET_HOURS)
    mine = await sms_patient(client, reminding, provider_server)
    theirs = await sms_patient(client, other, provider_server)  # the same phone number, in tenant B
    my_appointment = await reminded(client, reminding, owner_db, app_loop, mine)
    their_appointment = await reminded(client, other, owner_db, app_loop, theirs)

    await text(client, other, "cancel my appointment")  # to B's signed address
    assert (await appointment_of(client, other, their_appointment["id"]))["status"] == "cancelled"
    assert (await appointment_of(client, reminding, my_appointment["id"]))["status"] == "booked"
    await text(client, other, "STOP")
    assert await opted_out(owner_db, other, theirs["id"])
    assert not await opted_out(owner_db, reminding, mine["id"])
    replies = await owner_db.fetchval("select count(*) from reminder_replies where tenant_id = $1", reminding.tenant_id)
    assert replies == 0
