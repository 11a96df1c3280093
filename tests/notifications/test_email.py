"""E-mail: a real SMTP server (aiosmtpd) receives the rendered template; a redelivery sends nothing more."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from core.jobs.errors import PermanentError
from tests.conftest import Org, create_patient
from tests.notifications.conftest import SMTP_USER, SmtpServer, deliver, outbox_messages, run_queued
from tests.notifications.helpers import configure_email, grant, notify, read


async def test_an_appointment_reminder_arrives_at_the_smtp_server_rendered_in_spanish(
    client: AsyncTestClient[Any], org: Org, smtp_server: SmtpServer, owner_db: asyncpg.Connection
) -> None:
    await configure_email(client, org, smtp_server)
    patient = await create_patient(
        client, org, given_name="Lucía", email="lucia@example.net", communication={"language": "es-MX"}
    )
    await grant(client, org, patient["id"], "email")
    requested = await notify(
        client,
        org,
        patient["id"],
        "email",
        template="appointment_reminder",
        context={"appointment": {"when": "lunes 7 de diciembre, 10:30", "location": "Clínica Norte, sala 2"}},
    )
    assert requested["status"] == "queued"
    assert smtp_server.received == []  # nothing leaves before the worker runs

    assert await run_queued(client, org.tenant_id) == ["done"]

    assert len(smtp_server.received) == 1
    mail = smtp_server.received[0]
    assert mail.login == SMTP_USER  # the stored (encrypted) password was decrypted and used
    assert mail.rcpt_tos == ["lucia@example.net"]
    assert mail.mail_from == "clinic@example.org"
    assert mail.message["Subject"] == f"Recordatorio de cita de Clinic {org.slug}"
    body = mail.message.get_payload(decode=True).decode()
    assert "Hola Lucía:" in body
    assert "lunes 7 de diciembre, 10:30 en Clínica Norte, sala 2." in body
    assert mail.message["Content-Language"] == "es"

    done = await read(client, org, requested["id"])
    assert done["status"] == "sent"
    assert done["provider_message_id"] == mail.message["Message-ID"]
    assert done["sent_at"] is not None
    assert [(e["status"], e["source"]) for e in done["events"]] == [("queued", "api"), ("sent", "worker")]
    actions = {
        r["action"]
        for r in await owner_db.fetch(
            "select action from audit_events where tenant_id = $1 and resource_id = $2",
            org.tenant_id,
            UUID(requested["id"]),
        )
    }
    assert {"notification.request", "notification.sent", "notification.read"} <= actions


async def test_a_redelivered_or_replayed_message_never_sends_twice(
    client: AsyncTestClient[Any], org: Org, smtp_server: SmtpServer
) -> None:
    await configure_email(client, org, smtp_server)
    patient = await create_patient(client, org, email="ada@example.net")
    await grant(client, org, patient["id"], "email")
    requested = await notify(client, org, patient["id"], "email", context={"text": "Your results are in."})
    message = (await outbox_messages(client, org.tenant_id))[-1]
    assert message["queue"] == "notifications"
    assert message["payload"] == {"notification_id": requested["id"]}

    assert await run_queued(client, org.tenant_id) == ["done"]
    # The same message again (duplicate delivery): job_effects turns it away.
    again = await deliver(client, org.tenant_id, message)
    assert again == "duplicate"
    # A replay under a new effect key: the notification is already sent, so nothing is sent.
    replay = await deliver(client, org.tenant_id, message, message_id="replay-1", effect_key="replay-effect-1")
    assert replay == "done"
    assert len(smtp_server.received) == 1
    assert (await read(client, org, requested["id"]))["status"] == "sent"


async def test_an_unreachable_smtp_server_is_retried_then_failed_for_good(
    client: AsyncTestClient[Any], org: Org, smtp_server: SmtpServer
) -> None:
    await configure_email(client, org, smtp_server, smtp_port=1)  # nothing listens on port 1
    patient = await create_patient(client, org, email="ada@example.net")
    await grant(client, org, patient["id"], "email")
    requested = await notify(client, org, patient["id"], "email", context={"text": "hello"})
    message = (await outbox_messages(client, org.tenant_id))[-1]

    with pytest.raises(OSError):
        await run_queued(client, org.tenant_id)
    retrying = await read(client, org, requested["id"])
    assert retrying["status"] == "queued"
    assert retrying["attempts"] == 1
    assert retrying["events"][-1]["detail"].startswith("retrying: ConnectionRefusedError")

    with pytest.raises(PermanentError):  # the last retry gives up and says so
        await deliver(client, org.tenant_id, message, attempt=5)
    failed = await read(client, org, requested["id"])
    assert failed["status"] == "failed"
    assert failed["attempts"] == 2
    assert "ConnectionRefusedError" in failed["last_error"]


async def test_a_patient_without_an_email_address_is_skipped(
    client: AsyncTestClient[Any], org: Org, smtp_server: SmtpServer
) -> None:
    await configure_email(client, org, smtp_server)
    patient = await create_patient(client, org)
    await grant(client, org, patient["id"], "email")
    requested = await notify(client, org, patient["id"], "email", context={"text": "hello"})
    assert await run_queued(client, org.tenant_id) == ["done"]
    skipped = await read(client, org, requested["id"])
    assert skipped["status"] == "skipped"
    assert skipped["last_error"] == "the patient has no e-mail address"
    assert smtp_server.received == []
