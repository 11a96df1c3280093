"""SMS and voice through a local Twilio-style provider; signed delivery callbacks; forged ones refused."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from litestar.testing import AsyncTestClient

from core.jobs.errors import PermanentError
from core.notifications.callbacks import provider_signature
from tests.conftest import Org, create_patient, sign_up
from tests.notifications.conftest import ProviderServer, run_queued
from tests.notifications.helpers import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    assert_problem,
    configure_provider,
    grant,
    notify,
    read,
)


async def _sent_sms(client: AsyncTestClient[Any], org: Org, provider: ProviderServer) -> tuple[dict[str, Any], str]:
    await configure_provider(client, org, provider)
    patient = await create_patient(client, org, phone="+1 (555) 201-0101")
    await grant(client, org, patient["id"], "sms")
    requested = await notify(client, org, patient["id"], "sms", context={"text": "Your lab results are ready."})
    assert await run_queued(client, org.tenant_id) == ["done"]
    return requested, provider.requests[-1].form["StatusCallback"]


def _report(url: str, token: str, **form: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """What the provider posts: the path, the form and the X-Twilio-Signature header."""
    signature = provider_signature(url, sorted(form.items()), token)
    parts = urlsplit(url)
    return parts.path, form, {"X-Twilio-Signature": signature}


async def test_an_sms_reaches_the_provider_with_auth_and_form_fields(
    client: AsyncTestClient[Any], org: Org, provider_server: ProviderServer
) -> None:
    requested, callback = await _sent_sms(client, org, provider_server)
    assert len(provider_server.requests) == 1
    sent = provider_server.requests[0]
    assert sent.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert (sent.username, sent.password) == (ACCOUNT_SID, AUTH_TOKEN)
    assert sent.form["To"] == "+15552010101"
    assert sent.form["From"] == "+15550009999"
    assert sent.form["Body"] == f"Clinic {org.slug}: Your lab results are ready."
    assert sent.headers["Idempotency-Key"] == f"carecoord-{requested['id']}"
    assert urlsplit(callback).path.startswith("/api/v1/notifications/callbacks/sms/")
    assert org.tenant_id.hex in callback  # the tenant travels in the signed address only

    done = await read(client, org, requested["id"])
    assert done["status"] == "sent"
    assert done["provider_message_id"] == "SM" + "1".zfill(32)


async def test_a_signed_delivery_callback_updates_the_status_with_history(
    client: AsyncTestClient[Any], org: Org, provider_server: ProviderServer
) -> None:
    requested, callback = await _sent_sms(client, org, provider_server)
    sid = provider_server.requests[0].form and (await read(client, org, requested["id"]))["provider_message_id"]
    path, form, headers = _report(
        callback, AUTH_TOKEN, MessageSid=sid, MessageStatus="delivered", AccountSid=ACCOUNT_SID, To="+15552010101"
    )
    response = await client.post(path, data=form, headers=headers)
    assert response.status_code == 204, response.text

    delivered = await read(client, org, requested["id"])
    assert delivered["status"] == "delivered"
    assert delivered["delivered_at"] is not None
    last = delivered["events"][-1]
    assert (last["status"], last["source"], last["provider_status"]) == ("delivered", "provider", "delivered")

    # A late "sent" report never moves it back; it is kept in the history.
    path, form, headers = _report(callback, AUTH_TOKEN, MessageSid=sid, MessageStatus="sent")
    assert (await client.post(path, data=form, headers=headers)).status_code == 204
    again = await read(client, org, requested["id"])
    assert again["status"] == "delivered"
    assert again["events"][-1]["provider_status"] == "sent"


async def test_undelivered_is_recorded_as_failed_with_the_provider_error(
    client: AsyncTestClient[Any], org: Org, provider_server: ProviderServer
) -> None:
    requested, callback = await _sent_sms(client, org, provider_server)
    path, form, headers = _report(
        callback, AUTH_TOKEN, MessageSid="SMx", MessageStatus="undelivered", ErrorCode="30003"
    )
    assert (await client.post(path, data=form, headers=headers)).status_code == 204
    failed = await read(client, org, requested["id"])
    assert failed["status"] == "failed"
    assert failed["last_error"] == "provider error 30003"


async def test_forged_unsigned_and_wrong_tenant_callbacks_are_refused(
    client: AsyncTestClient[Any], org: Org, provider_server: ProviderServer
) -> None:
    requested, callback = await _sent_sms(client, org, provider_server)
    path, form, headers = _report(callback, AUTH_TOKEN, MessageSid="SM1", MessageStatus="delivered")

    # No signature at all.
    assert_problem(await client.post(path, data=form), 403)
    # Signed with another token.
    _, _, wrong = _report(callback, "not-the-tenant-token", MessageSid="SM1", MessageStatus="delivered")
    assert_problem(await client.post(path, data=form, headers=wrong), 403)
    # A parameter changed after signing.
    assert_problem(await client.post(path, data={**form, "MessageStatus": "failed"}, headers=headers), 403)
    # Our signature on the address is checked: another tenant id in the same address fails.
    other = await sign_up(client)
    forged_path = path.replace(org.tenant_id.hex, other.tenant_id.hex)
    forged_url = callback.replace(org.tenant_id.hex, other.tenant_id.hex)
    _, _, forged_headers = _report(forged_url, AUTH_TOKEN, MessageSid="SM1", MessageStatus="delivered")
    assert_problem(await client.post(forged_path, data=form, headers=forged_headers), 403)
    # A made-up reference, and another channel's path for the same reference.
    assert_problem(await client.post(path.rsplit("/", 1)[0] + "/abc.def", data=form, headers=headers), 403)
    assert_problem(await client.post(path.replace("/sms/", "/voice/"), data=form, headers=headers), 403)
    # The genuine report is accepted.
    assert (await client.post(path, data=form, headers=headers)).status_code == 204
    # A report signed with another tenant's provider token does not reach this tenant.
    other_requested, other_callback = await _sent_sms(client, other, provider_server)
    await client.put(
        "/api/v1/admin/channels/sms",
        headers=other.headers,
        json={
            "enabled": True,
            "options": {
                "base_url": provider_server.base_url,
                "account_sid": ACCOUNT_SID,
                "from_number": "+15550009999",
            },
            "secrets": {"auth_token": "the-other-tenants-token"},
        },
    )
    other_path, other_form, other_headers = _report(
        other_callback, "the-other-tenants-token", MessageSid="SM2", MessageStatus="failed"
    )
    assert (await client.post(other_path, data=other_form, headers=other_headers)).status_code == 204
    cross = path, {"MessageSid": "SM2", "MessageStatus": "failed"}, other_headers
    assert_problem(await client.post(cross[0], data=cross[1], headers=cross[2]), 403)

    assert (await read(client, org, requested["id"]))["status"] == "delivered"  # only the genuine report counted
    assert (await read(client, other, other_requested["id"]))["status"] == "failed"


async def test_a_provider_refusal_fails_the_notification_for_good(
    client: AsyncTestClient[Any], org: Org, provider_server: ProviderServer
) -> None:
    await configure_provider(client, org, provider_server)
    patient = await create_patient(client, org, phone="+1 555 201 0102")
    await grant(client, org, patient["id"], "sms")
    requested = await notify(client, org, patient["id"], "sms", context={"text": "hi"})
    provider_server.answer_status = 400
    with pytest.raises(PermanentError):
        await run_queued(client, org.tenant_id)
    failed = await read(client, org, requested["id"])
    assert failed["status"] == "failed"
    assert "not a valid phone number" in failed["last_error"]


async def test_a_voice_call_reads_the_message_through_calls_json(
    client: AsyncTestClient[Any], org: Org, provider_server: ProviderServer
) -> None:
    await configure_provider(client, org, provider_server, channel="voice", voice="Polly.Lupe")
    patient = await create_patient(client, org, phone="+34 600 123 456", communication={"language": "es"})
    await grant(client, org, patient["id"], "voice")
    requested = await notify(client, org, patient["id"], "voice", context={"text": "Su receta <lista> & firmada."})
    assert await run_queued(client, org.tenant_id) == ["done"]
    call = provider_server.requests[-1]
    assert call.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    assert call.form["To"] == "+34600123456"
    twiml = call.form["Twiml"]
    assert twiml.startswith('<Response><Say voice="Polly.Lupe" language="es">Hola Ada:')
    assert "Su receta &lt;lista&gt; &amp; firmada." in twiml  # template output is escaped into TwiML
    callback = call.form["StatusCallback"]
    assert "/callbacks/voice/" in callback
    path, form, headers = _report(callback, AUTH_TOKEN, CallSid="CA1", CallStatus="completed")
    assert (await client.post(path, data=form, headers=headers)).status_code == 204
    assert (await read(client, org, requested["id"]))["status"] == "delivered"
