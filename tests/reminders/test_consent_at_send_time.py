"""Consent withdrawn after a reminder was planned and requested: nothing goes out on that channel; the
reminder moves on to the next channel the patient still consents to."""

from __future__ import annotations

from typing import Any

from tests.notifications.conftest import ProviderServer, SmtpServer
from tests.notifications.helpers import configure_email, configure_provider
from tests.reminders.conftest import grant, new_patient, run_periodic, run_queued, touches
from tests.reminders.test_sending import _due_touch


async def test_sms_consent_revoked_before_the_worker_sends_means_no_sms(
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
    await grant(client, reminding, patient["id"], "email")
    sms = await client.post(
        f"/api/v1/patients/{patient['id']}/consents",
        headers=reminding.headers,
        json={"kind": "channel", "channel": "sms"},
    )
    assert sms.status_code == 201, sms.text
    appointment, touch = await _due_touch(client, reminding, patient["id"])
    await run_periodic(app_loop, reminding)  # the SMS is requested while consent is there
    [row] = [t for t in await touches(client, reminding, appointment["id"]) if t["id"] == touch["id"]]
    assert [(d["channel"], d["status"]) for d in row["deliveries"]] == [("sms", "queued")]

    revoked = await client.post(
        f"/api/v1/patients/{patient['id']}/consents/{sms.json()['id']}/revoke", headers=reminding.headers, json={}
    )
    assert revoked.status_code in (200, 201), revoked.text
    assert await run_queued(app_loop, owner_db, reminding, "notifications.send") == ["done"]
    assert provider_server.requests == []  # nothing on SMS
    assert await run_queued(app_loop, owner_db, reminding, "notifications.send") == ["done"]
    assert len(smtp_server.received) == 1
    [row] = [t for t in await touches(client, reminding, appointment["id"]) if t["id"] == touch["id"]]
    assert [(d["channel"], d["status"]) for d in row["deliveries"]] == [("sms", "suppressed"), ("email", "sent")]
