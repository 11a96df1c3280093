"""Consent and quiet hours are checked when the worker sends, not only when the message is requested."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar.testing import AsyncTestClient

from core.db.tenant import tenant_transaction
from core.jobs.context import JobContext
from core.notifications.delivery import release_due
from core.testing.fixtures import in_app_loop
from tests.conftest import Org, create_patient
from tests.notifications.conftest import ProviderServer, SmtpServer, outbox_messages, run_queued
from tests.notifications.helpers import configure, configure_email, configure_provider, grant, notify, read


async def _release(tenant_id: UUID, *, as_if_at: datetime | None = None) -> int:
    """What the periodic release job does; ``as_if_at`` moves due times back as if that time had come."""
    async with tenant_transaction(tenant_id) as tx:
        if as_if_at is not None:
            await tx.execute(
                "update notifications set not_before = not_before - ($1::timestamptz - now()) "
                "where status = 'deferred'",
                as_if_at,
            )
        ctx = JobContext(
            module="notifications",
            tx=tx,
            tenant_id=tenant_id,
            settings=None,
            actor_name="notifications.release_deferred",
            message_id="test-release",
        )
        return await release_due(ctx)


async def test_consent_revoked_after_the_request_suppresses_the_send(
    client: AsyncTestClient[Any], org: Org, smtp_server: SmtpServer
) -> None:
    await configure_email(client, org, smtp_server)
    patient = await create_patient(client, org, email="ada@example.net")
    consent = await grant(client, org, patient["id"], "email")
    requested = await notify(client, org, patient["id"], "email", context={"text": "hello"})
    assert requested["status"] == "queued"
    revoked = await client.post(
        f"/api/v1/patients/{patient['id']}/consents/{consent['id']}/revoke", headers=org.headers
    )
    assert revoked.status_code == 200

    assert await run_queued(client, org.tenant_id) == ["done"]
    suppressed = await read(client, org, requested["id"])
    assert suppressed["status"] == "suppressed"
    assert suppressed["last_error"] == "no active email consent"
    assert smtp_server.received == []


async def test_no_consent_at_request_time_is_suppressed_and_nothing_is_queued(
    client: AsyncTestClient[Any], org: Org, provider_server: ProviderServer
) -> None:
    await configure_provider(client, org, provider_server)
    patient = await create_patient(client, org)
    await grant(client, org, patient["id"], "email")  # e-mail consent does not allow SMS
    requested = await notify(client, org, patient["id"], "sms", context={"text": "hello"})
    assert requested["status"] == "suppressed"
    assert await outbox_messages(client, org.tenant_id) == []
    assert provider_server.requests == []


async def test_an_expired_consent_suppresses(
    client: AsyncTestClient[Any], org: Org, provider_server: ProviderServer
) -> None:
    await configure_provider(client, org, provider_server)
    patient = await create_patient(client, org)
    expires = datetime.now(UTC) + timedelta(seconds=3)  # room for two requests on a busy machine
    soon = expires.isoformat()
    response = await client.post(
        f"/api/v1/patients/{patient['id']}/consents",
        headers=org.headers,
        json={"kind": "channel", "channel": "sms", "expires_at": soon},
    )
    assert response.status_code == 201
    requested = await notify(client, org, patient["id"], "sms", context={"text": "hello"})
    assert requested["status"] == "queued"
    await asyncio.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.2)
    assert await run_queued(client, org.tenant_id) == ["done"]
    assert (await read(client, org, requested["id"]))["status"] == "suppressed"
    assert provider_server.requests == []


def _quiet_now(zone: str) -> dict[str, str]:
    """Quiet hours from an hour ago to an hour from now, wall clock in ``zone``."""
    local = datetime.now(ZoneInfo(zone))
    return {
        "quiet_hours_start": (local - timedelta(hours=1)).strftime("%H:%M:00"),
        "quiet_hours_end": (local + timedelta(hours=1)).strftime("%H:%M:00"),
        "time_zone": zone,
    }


async def test_quiet_hours_in_the_patients_zone_defer_the_sms_until_they_end(
    client: AsyncTestClient[Any], org: Org, provider_server: ProviderServer
) -> None:
    await configure_provider(client, org, provider_server)
    zone = "Pacific/Auckland"
    patient = await create_patient(client, org, communication={"language": "en", **_quiet_now(zone)})
    await grant(client, org, patient["id"], "sms")
    requested = await notify(client, org, patient["id"], "sms", context={"text": "hello"})
    assert requested["status"] == "queued"  # quiet hours are a send-time decision

    assert await run_queued(client, org.tenant_id) == ["done"]
    deferred = await read(client, org, requested["id"])
    assert deferred["status"] == "deferred"
    assert provider_server.requests == []
    until = datetime.fromisoformat(deferred["not_before"])
    expected_end = datetime.now(UTC) + timedelta(hours=1)
    assert abs((until - expected_end).total_seconds()) < 90
    assert deferred["events"][-1]["detail"].startswith("quiet hours: deferred until")

    assert await in_app_loop(client, _release, org.tenant_id) == 0  # not due yet
    # Two hours later the quiet hours are over: the release job queues it, the worker sends it.
    later = datetime.now(UTC) + timedelta(hours=2)
    assert await in_app_loop(client, _release, org.tenant_id, as_if_at=later) == 1
    patch = await client.patch(
        f"/api/v1/patients/{patient['id']}", headers=org.headers, json={"communication": {"language": "en"}}
    )
    assert patch.status_code == 200  # (the clock does not really move: the window is cleared instead)
    assert await run_queued(client, org.tenant_id) == ["done"]
    sent = await read(client, org, requested["id"])
    assert sent["status"] == "sent"
    assert len(provider_server.requests) == 1
    assert [e["status"] for e in sent["events"]] == ["queued", "deferred", "queued", "sent"]


async def test_the_channels_quiet_hours_apply_when_the_patient_has_none_and_email_ignores_them(
    client: AsyncTestClient[Any], org: Org, provider_server: ProviderServer, smtp_server: SmtpServer
) -> None:
    await configure_provider(client, org, provider_server, **_quiet_now("America/Chicago"))
    await configure_email(client, org, smtp_server, **_quiet_now("America/Chicago"))
    patient = await create_patient(client, org, email="ada@example.net")
    await grant(client, org, patient["id"], "sms")
    await grant(client, org, patient["id"], "email")
    sms = await notify(client, org, patient["id"], "sms", context={"text": "hello"})
    email = await notify(client, org, patient["id"], "email", context={"text": "hello"})
    assert await run_queued(client, org.tenant_id) == ["done", "done"]
    assert (await read(client, org, sms["id"]))["status"] == "deferred"
    assert (await read(client, org, email["id"]))["status"] == "sent"  # e-mail does not interrupt anyone
    assert len(smtp_server.received) == 1


async def test_a_disabled_channel_skips_and_a_scheduled_message_waits_for_its_time(
    client: AsyncTestClient[Any], org: Org, provider_server: ProviderServer
) -> None:
    await configure_provider(client, org, provider_server)
    patient = await create_patient(client, org)
    await grant(client, org, patient["id"], "sms")
    later = datetime.now(UTC) + timedelta(days=1)
    scheduled = await notify(
        client, org, patient["id"], "sms", context={"text": "tomorrow"}, not_before=later.isoformat()
    )
    assert scheduled["status"] == "deferred"
    assert await outbox_messages(client, org.tenant_id) == []  # nothing queued before its time
    assert await in_app_loop(client, _release, org.tenant_id, as_if_at=later + timedelta(seconds=5)) == 1

    await configure(client, org, "sms", enabled=False)
    assert await run_queued(client, org.tenant_id) == ["done"]
    skipped = await read(client, org, scheduled["id"])
    assert skipped["status"] == "skipped"
    assert skipped["last_error"] == "the sms channel is not enabled"
    assert provider_server.requests == []
