"""Copies to a patient's contact (a caregiver): only under the patient's sharing consent and the contact's
``may_receive``, at the contact's own number, checked again at send time; provider reports reach the module."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from tests.conftest import Org, create_patient
from tests.notifications.conftest import ProviderServer, run_queued
from tests.notifications.helpers import configure_provider, grant, notify, read

PATIENTS = "/api/v1/patients"


async def caregiver(client: AsyncTestClient[Any], org: Org, patient_id: str, **body: Any) -> dict[str, Any]:
    response = await client.post(
        f"{PATIENTS}/{patient_id}/contacts",
        headers=org.headers,
        json={"name": "Rosa Diaz", "relationship": "child", "phone": "+1 555 300 4000", **body},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def share_with(client: AsyncTestClient[Any], org: Org, patient_id: str, contact_id: str) -> dict[str, Any]:
    response = await client.post(
        f"{PATIENTS}/{patient_id}/consents", headers=org.headers, json={"kind": "sharing", "contact_id": contact_id}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_a_caregiver_gets_a_copy_only_with_consent_and_at_their_own_number(
    client: AsyncTestClient[Any], org: Org, provider_server: ProviderServer
) -> None:
    await configure_provider(client, org, provider_server)
    patient = await create_patient(client, org, phone="+1 (555) 201-0101")
    await grant(client, org, patient["id"], "sms")
    rosa = await caregiver(client, org, patient["id"], may_receive=["appointment_reminders"])
    copy = {"contact_id": rosa["id"], "share_as": "appointment_reminders", "context": {"text": "Visit Tuesday 9:00"}}

    without = await notify(client, org, patient["id"], "sms", **copy)
    assert without["status"] == "suppressed"  # no sharing consent yet
    assert without["recipient_kind"] == "contact"

    consent = await share_with(client, org, patient["id"], rosa["id"])
    sent = await notify(client, org, patient["id"], "sms", idempotency_key="copy-2", **copy)
    assert sent["status"] == "queued"
    assert await run_queued(client, org.tenant_id) == ["done"]
    assert provider_server.requests[-1].form["To"] == "+15553004000"
    assert (await read(client, org, sent["id"]))["status"] == "sent"

    not_shared = await notify(client, org, patient["id"], "sms", **{**copy, "share_as": "clinical_results"})
    assert not_shared["status"] == "suppressed"  # Rosa may receive reminders, not results

    queued = await notify(client, org, patient["id"], "sms", idempotency_key="copy-3", **copy)
    revoked = await client.post(
        f"{PATIENTS}/{patient['id']}/consents/{consent['id']}/revoke", headers=org.headers, json={}
    )
    assert revoked.status_code in (200, 201), revoked.text
    assert await run_queued(client, org.tenant_id) == ["done"]
    after = await read(client, org, queued["id"])
    assert after["status"] == "suppressed"  # checked again at send time
    assert len(provider_server.requests) == 1


async def test_a_contact_of_another_patient_is_refused(client: AsyncTestClient[Any], org: Org) -> None:
    patient = await create_patient(client, org)
    other = await create_patient(client, org)
    theirs = await caregiver(client, org, other["id"], may_receive=["appointment_reminders"])
    response = await client.post(
        "/api/v1/notifications",
        headers=org.headers,
        json={"patient_id": patient["id"], "channel": "sms", "contact_id": theirs["id"], "context": {"text": "x"}},
    )
    assert response.status_code == 422, response.text
    assert "contact" in response.json()["detail"]
