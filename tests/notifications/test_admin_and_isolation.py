"""Channel settings: secrets are write-only and encrypted at rest; permissions; tenants never see each other."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from litestar.testing import AsyncTestClient

from core.notifications.crypto import decrypt_secrets
from tests.conftest import Org, add_user, create_patient
from tests.notifications.conftest import SMTP_PASSWORD, ProviderServer, SmtpServer, run_queued
from tests.notifications.helpers import (
    AUTH_TOKEN,
    CHANNELS,
    NOTIFICATIONS,
    assert_problem,
    configure_email,
    configure_provider,
    grant,
    notify,
)


async def test_secrets_are_never_returned_and_are_encrypted_at_rest(
    client: AsyncTestClient[Any], org: Org, smtp_server: SmtpServer, owner_db: asyncpg.Connection
) -> None:
    saved = await configure_email(client, org, smtp_server)
    assert saved["secrets_set"] == ["smtp_password"]
    assert saved["accepted_secrets"] == ["smtp_password"]
    for response in (
        await client.get(f"{CHANNELS}/email", headers=org.headers),
        await client.get(CHANNELS, headers=org.headers),
        await client.get("/api/v1/audit-events", headers=org.headers),
    ):
        assert response.status_code == 200
        assert SMTP_PASSWORD not in response.text
    stored = await owner_db.fetchrow(
        "select secrets, secret_names from notification_channel_configs where tenant_id = $1 and channel = 'email'",
        org.tenant_id,
    )
    assert SMTP_PASSWORD not in stored["secrets"]
    assert decrypt_secrets(stored["secrets"]) == {"smtp_password": SMTP_PASSWORD}

    # Changing options without secrets keeps them; null removes one; unknown names are refused.
    kept = await client.put(
        f"{CHANNELS}/email", headers=org.headers, json={"enabled": True, "options": {"from_address": "a@b.org"}}
    )
    assert kept.json()["secrets_set"] == ["smtp_password"]
    assert_problem(
        await client.put(f"{CHANNELS}/email", headers=org.headers, json={"enabled": True, "secrets": {"pin": "1"}}),
        422,
    )
    removed = await client.put(
        f"{CHANNELS}/email", headers=org.headers, json={"enabled": True, "secrets": {"smtp_password": None}}
    )
    assert removed.json()["secrets_set"] == []


async def test_invalid_options_unknown_channels_and_permissions(client: AsyncTestClient[Any], org: Org) -> None:
    bad = {"enabled": True, "options": {"smtp_port": 70000}}
    problem = assert_problem(await client.put(f"{CHANNELS}/email", headers=org.headers, json=bad), 422)
    assert "smtp_port" in problem["detail"]
    assert_problem(
        await client.put(f"{CHANNELS}/sms", headers=org.headers, json={"enabled": True, "options": {"base": 1}}), 422
    )
    assert_problem(
        await client.put(
            f"{CHANNELS}/sms", headers=org.headers, json={"enabled": True, "options": {"base_url": "ftp://x"}}
        ),
        422,
    )
    assert_problem(await client.get(f"{CHANNELS}/pigeon", headers=org.headers), 404)
    coordinator = await add_user(client, org, "coordinator")
    assert_problem(await client.get(CHANNELS, headers=coordinator), 403)
    assert (await client.get(NOTIFICATIONS, headers=coordinator)).status_code == 200
    viewer = await add_user(client, org, "viewer")
    assert_problem(await client.get(NOTIFICATIONS, headers=viewer), 403)


async def test_another_tenants_notifications_patients_and_letters_answer_404(
    client: AsyncTestClient[Any], org: Org, other_org: Org, provider_server: ProviderServer
) -> None:
    await configure_provider(client, org, provider_server)
    patient = await create_patient(client, org)
    await grant(client, org, patient["id"], "sms")
    mine = await notify(client, org, patient["id"], "sms", context={"text": "hello"})
    assert await run_queued(client, org.tenant_id) == ["done"]

    assert_problem(await client.get(f"{NOTIFICATIONS}/{mine['id']}", headers=other_org.headers), 404)
    assert_problem(await client.get(f"{NOTIFICATIONS}/{mine['id']}/document", headers=other_org.headers), 404)
    listed = await client.get(NOTIFICATIONS, headers=other_org.headers, params={"patient_id": patient["id"]})
    assert listed.status_code == 200
    assert listed.json()["items"] == []
    foreign = {"patient_id": patient["id"], "channel": "sms", "context": {"text": "hi"}}
    assert_problem(await client.post(NOTIFICATIONS, headers=other_org.headers, json=foreign), 404)
    other_channel = (await client.get(f"{CHANNELS}/sms", headers=other_org.headers)).json()
    assert other_channel["enabled"] is False
    assert other_channel["options"] == {}
    assert AUTH_TOKEN not in str(other_channel)

    own = await client.get(NOTIFICATIONS, headers=org.headers, params={"patient_id": patient["id"]})
    assert [n["id"] for n in own.json()["items"]] == [mine["id"]]


async def test_a_letter_is_rendered_to_pdf_and_downloadable_once_sent(
    client: AsyncTestClient[Any], org: Org, owner_db: asyncpg.Connection
) -> None:
    response = await client.put(
        f"{CHANNELS}/letter",
        headers=org.headers,
        json={"enabled": True, "options": {"return_address": ["1 Main St", "Springfield"]}},
    )
    assert response.status_code == 200, response.text
    patient = await create_patient(
        client, org, address={"line": ["12 Calle Mayor"], "city": "Madrid", "postal_code": "28013", "country": "ES"}
    )
    await grant(client, org, patient["id"], "letter")
    requested = await notify(
        client,
        org,
        patient["id"],
        "letter",
        template="appointment_reminder",
        context={"appointment": {"when": "3 December 2026, 09:00"}},
    )
    assert await run_queued(client, org.tenant_id) == ["done"]
    sent = (await client.get(f"{NOTIFICATIONS}/{requested['id']}", headers=org.headers)).json()
    assert sent["status"] == "sent"
    assert sent["has_document"] is True
    document = await client.get(f"{NOTIFICATIONS}/{requested['id']}/document", headers=org.headers)
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/pdf"
    assert document.content.startswith(b"%PDF-")
    audited = await owner_db.fetchval(
        "select count(*) from audit_events where tenant_id = $1 and resource_id = $2 "
        "and action = 'notification.document'",
        org.tenant_id,
        UUID(requested["id"]),
    )
    assert audited == 1
