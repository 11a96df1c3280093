"""A reminder the SMS provider later reports undelivered falls back to e-mail: the provider's signed report
reaches the module through core's ``notification_status_changed``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from core.notifications.callbacks import provider_signature
from tests.notifications.conftest import ProviderServer, SmtpServer
from tests.notifications.helpers import AUTH_TOKEN, configure_email, configure_provider
from tests.reminders.conftest import grant, new_patient, run_periodic, run_queued, touches
from tests.reminders.test_sending import _due_touch


async def report(client: Any, callback: str, **form: str) -> int:
    signature = provider_signature(callback, sorted(form.items()), AUTH_TOKEN)
    response = await client.post(urlsplit(callback).path, data=form, headers={"X-Twilio-Signature": signature})
    return int(response.status_code)


async def test_an_undelivered_sms_report_moves_the_reminder_to_email(
    client: Any,
    reminding: Any,
    owner_db: Any,
    app_loop: Any,
    provider_server: ProviderServer,
    smtp_server: SmtpServer,
) -> None:
    await configure_provider(client, reminding, provider_server)
    await configure_email(client, reminding, smtp_server)
    patient = await new_patient(client, reminding)
    await grant(client, reminding, patient["id"], "sms")
    await grant(client, reminding, patient["id"], "email")
    appointment, touch = await _due_touch(client, reminding, patient["id"])
    await run_periodic(app_loop, reminding)
    assert await run_queued(app_loop, owner_db, reminding, "notifications.send") == ["done"]
    assert len(provider_server.requests) == 1  # the SMS left; the provider accepted it
    [row] = [t for t in await touches(client, reminding, appointment["id"]) if t["id"] == touch["id"]]
    assert row["status"] == "sent"

    callback = provider_server.requests[0].form["StatusCallback"]
    assert await report(client, callback, MessageSid="SM1", MessageStatus="undelivered", ErrorCode="30006") == 204
    assert await report(client, callback, MessageSid="SM1", MessageStatus="undelivered", ErrorCode="30006") == 204
    [row] = [t for t in await touches(client, reminding, appointment["id"]) if t["id"] == touch["id"]]
    assert [(d["channel"], d["status"]) for d in row["deliveries"]] == [("sms", "failed"), ("email", "queued")]
    assert await run_queued(app_loop, owner_db, reminding, "notifications.send") == ["done"]
    assert len(smtp_server.received) == 1  # one e-mail, though the provider reported twice
    [row] = [t for t in await touches(client, reminding, appointment["id"]) if t["id"] == touch["id"]]
    assert (row["status"], row["channel"]) == ("sent", "email")
