"""Helpers of the notification tests: configure channels, consent, request a notification."""

from __future__ import annotations

from typing import Any

import httpx
from litestar.testing import AsyncTestClient

from tests.conftest import Org
from tests.notifications.conftest import SMTP_PASSWORD, SMTP_USER, ProviderServer, SmtpServer

NOTIFICATIONS = "/api/v1/notifications"
CHANNELS = "/api/v1/admin/channels"
TEMPLATES = "/api/v1/admin/notification-templates"
AUTH_TOKEN = "provider-auth-token-0123456789"
ACCOUNT_SID = "AC0123456789abcdef"


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = dict(response.json())
    assert body["status"] == status
    return body


async def configure(client: AsyncTestClient[Any], org: Org, channel: str, **body: Any) -> dict[str, Any]:
    response = await client.put(f"{CHANNELS}/{channel}", headers=org.headers, json={"enabled": True, **body})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def configure_email(client: AsyncTestClient[Any], org: Org, smtp: SmtpServer, **options: Any) -> dict[str, Any]:
    return await configure(
        client,
        org,
        "email",
        options={
            "from_address": "clinic@example.org",
            "from_name": "Clinic Reminders",
            "smtp_host": smtp.host,
            "smtp_port": smtp.port,
            "security": "none",
            "username": SMTP_USER,
            **options,
        },
        secrets={"smtp_password": SMTP_PASSWORD},
    )


async def configure_provider(
    client: AsyncTestClient[Any], org: Org, provider: ProviderServer, channel: str = "sms", **options: Any
) -> dict[str, Any]:
    return await configure(
        client,
        org,
        channel,
        options={"base_url": provider.base_url, "account_sid": ACCOUNT_SID, "from_number": "+15550009999", **options},
        secrets={"auth_token": AUTH_TOKEN},
    )


async def grant(client: AsyncTestClient[Any], org: Org, patient_id: str, channel: str) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/patients/{patient_id}/consents", headers=org.headers, json={"kind": "channel", "channel": channel}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def notify(client: AsyncTestClient[Any], org: Org, patient_id: str, channel: str, **body: Any) -> dict[str, Any]:
    response = await client.post(
        NOTIFICATIONS, headers=org.headers, json={"patient_id": patient_id, "channel": channel, **body}
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


async def read(client: AsyncTestClient[Any], org: Org, notification_id: str) -> dict[str, Any]:
    response = await client.get(f"{NOTIFICATIONS}/{notification_id}", headers=org.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())
