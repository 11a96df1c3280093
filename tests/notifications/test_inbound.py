"""Inbound SMS and e-mail: signed webhooks, matching, exactly-once storage and hook, opt-out and opt-in.

Everything goes over HTTP to an app built around an in-test plugin (``Listener``) that records
``message_received`` and, like a reminders module would, opts the patient out on STOP and in on START.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from core.app import create_app
from core.db.tenant import tenant_transaction
from core.notifications.callbacks import provider_signature
from core.plugins.manager import PluginHost
from core.plugins.sdk import InboundMessage, ModuleSpec, PluginContext, hookimpl, opt_in, opt_out
from core.testing.fixtures import Org, add_user, create_patient, enable_module, in_app_loop, sign_up
from tests.notifications.conftest import ProviderServer, SmtpServer, run_queued
from tests.notifications.helpers import (
    AUTH_TOKEN,
    CHANNELS,
    assert_problem,
    configure,
    configure_email,
    configure_provider,
    grant,
    notify,
    read,
)

INBOUND = "/api/v1/notifications/inbound"
PATIENT_PHONE = "+1 (555) 301-0101"
PATIENT_NUMBER = "+15553010101"


@dataclass(eq=False)  # pluggy keeps plugins in sets
class Listener:
    received: list[InboundMessage] = field(default_factory=list)

    @hookimpl
    def register_module(self) -> ModuleSpec:
        return ModuleSpec(name="inboundtest", title="Inbound test")

    @hookimpl
    async def message_received(self, ctx: PluginContext, message: InboundMessage) -> None:
        # Same transaction as core's insert: the row is already visible.
        assert await ctx.tx.fetchval("select count(*) from inbound_messages where id = $1", message.id) == 1
        self.received.append(message)
        word = message.body.strip().upper()
        if message.patient_id is None or message.match != "patient":
            return
        if word == "STOP":
            await opt_out(
                ctx, message.patient_id, message.channel, f"{message.channel} STOP", inbound_message_id=message.id
            )
        elif word == "START":
            await opt_in(
                ctx, message.patient_id, message.channel, f"{message.channel} START", inbound_message_id=message.id
            )


@dataclass
class Stage:
    api: AsyncTestClient[Any]
    listener: Listener
    org: Org


@pytest.fixture
async def stage(app_client: Any, settings: Any, org: Org) -> Stage:
    listener = Listener()
    host = PluginHost(load_entry_points=False, plugins=[("listener", listener)], environ={})
    assert host.records["listener"].status == "loaded", host.records["listener"].error
    app: Litestar = create_app(settings, host=host)
    api: AsyncTestClient[Any] = app_client(app)
    await enable_module(api, org, "inboundtest")
    return Stage(api, listener, org)


async def inbound_url(api: AsyncTestClient[Any], org: Org, channel: str) -> str:
    response = await api.get(f"{CHANNELS}/{channel}", headers=org.headers)
    assert response.status_code == 200, response.text
    url = response.json()["inbound_url"]
    assert isinstance(url, str)
    assert f"{INBOUND}/{channel}/{org.tenant_id.hex}." in url
    return url


def signed(url: str, token: str, **form: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """What the provider posts for an incoming SMS: path, form, X-Twilio-Signature."""
    return urlsplit(url).path, form, {"X-Twilio-Signature": provider_signature(url, sorted(form.items()), token)}


def sms_form(sid: str, body: str, sender: str = PATIENT_NUMBER) -> dict[str, str]:
    return {"MessageSid": sid, "From": sender, "To": "+15550009999", "Body": body, "AccountSid": "AC1"}


async def post_sms(api: AsyncTestClient[Any], url: str, form: dict[str, str], token: str = AUTH_TOKEN) -> None:
    path, data, headers = signed(url, token, **form)
    response = await api.post(path, data=data, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    assert "<Response>" in response.text


async def inbound(api: AsyncTestClient[Any], org: Org, **params: Any) -> list[dict[str, Any]]:
    response = await api.get(INBOUND, headers=org.headers, params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def sent_sms(stage: Stage, provider: ProviderServer) -> tuple[dict[str, Any], dict[str, Any]]:
    """A patient who was texted once (sent): (patient, notification)."""
    api, org = stage.api, stage.org
    await configure_provider(api, org, provider)
    patient = await create_patient(api, org, phone=PATIENT_PHONE)
    await grant(api, org, patient["id"], "sms")
    requested = await notify(api, org, patient["id"], "sms", context={"text": "Reply C to confirm."})
    assert await run_queued(api, org.tenant_id) == ["done"]
    assert (await read(api, org, requested["id"]))["status"] == "sent"
    return patient, requested


# --- SMS ------------------------------------------------------------------------------------------------------------


async def test_a_signed_sms_is_stored_matched_linked_and_announced_once(
    stage: Stage, provider_server: ProviderServer, owner_db: asyncpg.Connection
) -> None:
    api, org = stage.api, stage.org
    patient, requested = await sent_sms(stage, provider_server)
    url = await inbound_url(api, org, "sms")

    await post_sms(api, url, sms_form("SMin0001", "C"))
    (message,) = await inbound(api, org, patient_id=patient["id"])
    assert message["channel"] == "sms"
    assert (message["from_address"], message["to_address"], message["body"]) == (PATIENT_NUMBER, "+15550009999", "C")
    assert (message["match"], message["patient_id"], message["contact_id"]) == ("patient", patient["id"], None)
    assert message["in_reply_to_notification_id"] == requested["id"]
    assert message["provider_message_id"] == "SMin0001"

    (announced,) = stage.listener.received
    assert str(announced.id) == message["id"]
    assert announced.patient_id == UUID(patient["id"])

    # The provider retries the same message: stored once, announced once, still answered 200.
    await post_sms(api, url, sms_form("SMin0001", "C"))
    await post_sms(api, url, sms_form("SMin0001", "C"))
    assert len(await inbound(api, org)) == 1
    assert len(stage.listener.received) == 1
    audited = await owner_db.fetch(
        "select actor_type, details from audit_events where tenant_id = $1 and action = 'notification.inbound'",
        org.tenant_id,
    )
    assert [r["actor_type"] for r in audited] == ["provider"]


async def test_an_unknown_number_is_stored_unmatched(stage: Stage, provider_server: ProviderServer) -> None:
    api, org = stage.api, stage.org
    await sent_sms(stage, provider_server)
    await post_sms(api, await inbound_url(api, org, "sms"), sms_form("SMin0002", "who is this?", "+447700900123"))
    (message,) = await inbound(api, org, unmatched=True)
    assert (message["match"], message["patient_id"], message["in_reply_to_notification_id"]) == ("none", None, None)
    assert message["from_address"] == "+447700900123"
    assert stage.listener.received[0].patient_id is None


async def test_a_contacts_number_matches_the_contact_and_national_numbers_match(
    stage: Stage, provider_server: ProviderServer
) -> None:
    api, org = stage.api, stage.org
    await configure_provider(api, org, provider_server, default_country_prefix="+1")
    patient = await create_patient(api, org, phone="555 301 0202")  # stored without the country prefix
    response = await api.post(
        f"/api/v1/patients/{patient['id']}/contacts",
        headers=org.headers,
        json={"name": "Grace Hopper", "relationship": "caregiver", "phone": "+1 555 301 0303"},
    )
    assert response.status_code == 201, response.text
    contact = response.json()
    url = await inbound_url(api, org, "sms")
    await post_sms(api, url, sms_form("SMin0003", "hello", "+15553010202"))
    await post_sms(api, url, sms_form("SMin0004", "it's grace", "+15553010303"))
    by_sid = {m["provider_message_id"]: m for m in await inbound(api, org)}
    assert (by_sid["SMin0003"]["match"], by_sid["SMin0003"]["patient_id"]) == ("patient", patient["id"])
    assert (by_sid["SMin0004"]["match"], by_sid["SMin0004"]["patient_id"], by_sid["SMin0004"]["contact_id"]) == (
        "contact",
        patient["id"],
        contact["id"],
    )


async def test_forged_unsigned_and_misaddressed_sms_are_refused(stage: Stage, provider_server: ProviderServer) -> None:
    api, org = stage.api, stage.org
    await sent_sms(stage, provider_server)
    url = await inbound_url(api, org, "sms")
    path, form, headers = signed(url, AUTH_TOKEN, **sms_form("SMin0005", "STOP"))

    assert_problem(await api.post(path, data=form), 403)  # unsigned
    _, _, wrong = signed(url, "not-the-tenant-token", **form)
    assert_problem(await api.post(path, data=form, headers=wrong), 403)  # another token
    assert_problem(await api.post(path, data={**form, "Body": "START"}, headers=headers), 403)  # altered
    assert_problem(await api.post(path.rsplit("/", 1)[0] + "/abc.def", data=form, headers=headers), 403)
    email_path = urlsplit(await inbound_url(api, org, "email")).path
    assert_problem(await api.post(email_path.replace("/email/", "/sms/"), data=form, headers=headers), 403)
    other = await sign_up(api)
    assert_problem(
        await api.post(path.replace(org.tenant_id.hex, other.tenant_id.hex), data=form, headers=headers), 403
    )

    assert await inbound(api, org) == []
    assert stage.listener.received == []


async def test_another_tenants_address_cannot_be_used_to_post_into_this_tenant(
    stage: Stage, provider_server: ProviderServer
) -> None:
    api, org = stage.api, stage.org
    await sent_sms(stage, provider_server)
    other = await sign_up(api)
    await configure(
        api, other, "sms", options={"base_url": provider_server.base_url}, secrets={"auth_token": "b-token"}
    )
    a_url, b_url = await inbound_url(api, org, "sms"), await inbound_url(api, other, "sms")
    assert a_url != b_url

    # B's provider credentials do not open A's address, nor A's B's.
    path, form, headers = signed(a_url, "b-token", **sms_form("SMx1", "STOP"))
    assert_problem(await api.post(path, data=form, headers=headers), 403)
    path, form, headers = signed(b_url, AUTH_TOKEN, **sms_form("SMx2", "STOP"))
    assert_problem(await api.post(path, data=form, headers=headers), 403)
    # B's genuine message from A's patient's number lands in B, unmatched: A's patients are not B's.
    await post_sms(api, b_url, sms_form("SMx3", "STOP"), token="b-token")
    assert await inbound(api, org) == []
    (in_b,) = await inbound(api, other)
    assert (in_b["match"], in_b["patient_id"]) == ("none", None)


async def test_tenant_b_cannot_list_or_see_tenant_as_inbound_messages(
    stage: Stage, provider_server: ProviderServer, other_org: Org
) -> None:
    api, org = stage.api, stage.org
    patient, _ = await sent_sms(stage, provider_server)
    await post_sms(api, await inbound_url(api, org, "sms"), sms_form("SMin0006", "C"))
    assert len(await inbound(api, org)) == 1

    assert await inbound(api, other_org) == []
    assert await inbound(api, other_org, patient_id=patient["id"]) == []

    async def count_as(tenant_id: UUID) -> int:
        async with tenant_transaction(tenant_id) as tx:
            return int(await tx.fetchval("select count(*) from inbound_messages"))

    assert await in_app_loop(api, count_as, other_org.tenant_id) == 0
    assert await in_app_loop(api, count_as, org.tenant_id) == 1

    viewer = await add_user(api, org, "viewer")
    assert_problem(await api.get(INBOUND, headers=viewer), 403)
    assert_problem(await api.get(INBOUND, headers=org.headers, params={"cursor": "nope"}), 400)


# --- e-mail ---------------------------------------------------------------------------------------------------------


async def test_an_email_reply_is_matched_by_address_and_in_reply_to(stage: Stage, smtp_server: SmtpServer) -> None:
    api, org = stage.api, stage.org
    await configure_email(api, org, smtp_server)
    patient = await create_patient(api, org, email="ada@example.org")
    await grant(api, org, patient["id"], "email")
    requested = await notify(api, org, patient["id"], "email", context={"text": "See you Monday."})
    assert await run_queued(api, org.tenant_id) == ["done"]
    our_id = smtp_server.received[-1].message["Message-ID"]
    path = urlsplit(await inbound_url(api, org, "email")).path
    body = {
        "from": "Ada Lovelace <ADA@example.org>",
        "to": "replies@clinic.example",
        "subject": "Re: your appointment",
        "text": "Yes, I will come.\n\n> See you Monday.",
        "message_id": "<reply-1@mail.example.org>",
        "in_reply_to": our_id,
    }
    assert (await api.post(path, json=body)).status_code == 204
    assert (await api.post(path, json=body)).status_code == 204  # the provider's retry

    (message,) = await inbound(api, org, channel="email")
    assert (message["match"], message["patient_id"]) == ("patient", patient["id"])
    assert message["from_address"] == "ada@example.org"
    assert message["subject"] == "Re: your appointment"
    assert message["in_reply_to_notification_id"] == requested["id"]
    assert len(stage.listener.received) == 1

    # An unknown sender is kept unmatched; a Message-ID that is not ours links nothing.
    stranger = {**body, "from": "someone@else.example", "message_id": "<reply-2@x>", "in_reply_to": "<nope@x>"}
    assert (await api.post(path, json=stranger)).status_code == 204
    (unmatched,) = await inbound(api, org, unmatched=True)
    assert (unmatched["match"], unmatched["in_reply_to_notification_id"]) == ("none", None)


async def test_forged_or_malformed_email_posts_are_refused(stage: Stage) -> None:
    api, org = stage.api, stage.org
    path = urlsplit(await inbound_url(api, org, "email")).path
    body = {"from": "a@b.example", "text": "hi", "message_id": "<m@x>"}
    assert_problem(await api.post(path.rsplit(".", 1)[0] + ".forged", json=body), 403)
    assert_problem(await api.post(path.replace("/email/", "/sms/"), json=body), 403)
    assert_problem(await api.post(path, json={"text": "no sender"}), 400)
    assert_problem(await api.post(path, json={**body, "from": "not an address"}), 400)
    assert await inbound(api, org) == []


# --- opt-out --------------------------------------------------------------------------------------------------------


async def test_stop_opts_out_for_good_until_start(stage: Stage, provider_server: ProviderServer) -> None:
    api, org = stage.api, stage.org
    patient, _ = await sent_sms(stage, provider_server)
    url = await inbound_url(api, org, "sms")
    queued = await notify(api, org, patient["id"], "sms", context={"text": "queued before STOP"})
    assert queued["status"] == "queued"

    await post_sms(api, url, sms_form("SMstop", "stop"))
    consents = (await api.get(f"/api/v1/patients/{patient['id']}/consents", headers=org.headers)).json()
    assert [c["active"] for c in consents if c["channel"] == "sms"] == [False]

    # The message queued before the STOP is not sent by the worker.
    texts = len(provider_server.requests)
    assert await run_queued(api, org.tenant_id) == ["done"]
    skipped = await read(api, org, queued["id"])
    assert (skipped["status"], skipped["last_error"]) == ("skipped", "opted out")

    # A coordinator granting the consent again does not undo the opt-out.
    await grant(api, org, patient["id"], "sms")
    again = await notify(api, org, patient["id"], "sms", context={"text": "after re-grant"})
    await run_queued(api, org.tenant_id)
    assert (await read(api, org, again["id"]))["status"] == "skipped"
    assert len(provider_server.requests) == texts

    # The patient texts START: the opt-out is lifted and messages flow again.
    await post_sms(api, url, sms_form("SMstart", "START"))
    back = await notify(api, org, patient["id"], "sms", context={"text": "welcome back"})
    assert await run_queued(api, org.tenant_id) == ["done"]
    assert (await read(api, org, back["id"]))["status"] == "sent"
    assert len(provider_server.requests) == texts + 1


async def test_opt_in_restores_the_consent_opt_out_revoked_and_is_audited_as_the_patient(
    stage: Stage, provider_server: ProviderServer, owner_db: asyncpg.Connection
) -> None:
    api, org = stage.api, stage.org
    patient, _ = await sent_sms(stage, provider_server)
    url = await inbound_url(api, org, "sms")
    await post_sms(api, url, sms_form("SMstop2", "STOP"))
    await post_sms(api, url, sms_form("SMstart2", "Start"))
    consents = (await api.get(f"/api/v1/patients/{patient['id']}/consents", headers=org.headers)).json()
    assert [c["active"] for c in consents if c["channel"] == "sms"] == [False, True]
    actions = await owner_db.fetch(
        "select action, actor_type, actor_id from audit_events where tenant_id = $1 "
        "and action in ('patient.channel_opt_out', 'patient.channel_opt_in') order by seq",
        org.tenant_id,
    )
    assert [(r["action"], r["actor_type"], str(r["actor_id"])) for r in actions] == [
        ("patient.channel_opt_out", "patient", patient["id"]),
        ("patient.channel_opt_in", "patient", patient["id"]),
    ]
    requested = await notify(api, org, patient["id"], "sms", context={"text": "hi again"})
    assert await run_queued(api, org.tenant_id) == ["done"]
    assert (await read(api, org, requested["id"]))["status"] == "sent"
