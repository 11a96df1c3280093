"""An e-mail requested over HTTP goes outbox -> relay -> Redis -> a real worker -> a real SMTP server."""

from __future__ import annotations

import asyncio
from typing import Any

from core.outbox.relay import publish_pending
from tests.conftest import create_patient
from tests.notifications.conftest import SmtpServer, smtp_server  # noqa: F401 - the fixture, shared
from tests.notifications.helpers import configure_email, grant, notify, read
from tests.workers.conftest import wait_for
from workers.broker import build_broker, publisher


async def test_an_email_reaches_the_smtp_server_once_through_the_whole_pipeline(
    client: Any,
    org: Any,
    smtp_server: SmtpServer,  # noqa: F811 - the fixture imported above
    redis_server: Any,
    worker_settings: Any,
    start_worker: Any,
    app_loop: Any,
) -> None:
    await configure_email(client, org, smtp_server)
    patient = await create_patient(client, org, email="rosa@example.net", given_name="Rosa")
    await grant(client, org, patient["id"], "email")
    requested = await notify(client, org, patient["id"], "email", context={"text": "Bring your insurance card"})
    assert requested["status"] == "queued"

    settings = worker_settings(redis_server().url)
    publish = publisher(build_broker(settings))
    assert await app_loop(publish_pending, org.tenant_id, publish) == 1
    start_worker(settings, threads=2)

    async def status() -> str:
        return str((await read(client, org, requested["id"]))["status"])

    assert await wait_for(status, lambda s: s in {"sent", "failed"}, what="the e-mail to be sent") == "sent"
    (mail,) = smtp_server.received
    assert mail.rcpt_tos == ["rosa@example.net"]
    texts = [part.get_payload(decode=True).decode() for part in mail.message.walk() if not part.is_multipart()]
    assert any("Bring your insurance card" in text for text in texts), texts
    await asyncio.sleep(1)
    assert len(smtp_server.received) == 1


async def test_a_sent_referral_mails_its_packet_through_real_workers(
    client: Any,
    org: Any,
    smtp_server: SmtpServer,  # noqa: F811 - the fixture imported above
    redis_server: Any,
    worker_settings: Any,
    start_worker: Any,
    app_loop: Any,
) -> None:
    """referral sent -> outbox -> referrals.send_packet -> outbox -> notifications.send -> SMTP, PDF attached."""
    from tests.conftest import enable_module
    from tests.referrals.test_packet import specialist
    from tests.referrals.test_referrals_api import move, new_referral

    await enable_module(client, org, "referrals")
    await configure_email(client, org, smtp_server)
    target = await specialist(client, org, email="cardio@specialists.example")
    referral = await new_referral(client, org, target_practitioner_id=target)
    assert (await move(client, org, referral["id"], "sent")).json()["packet_status"] == "queued"

    settings = worker_settings(redis_server().url)
    publish = publisher(build_broker(settings))
    start_worker(settings, threads=2)

    async def delivered() -> int:
        await app_loop(publish_pending, org.tenant_id, publish)  # the relay's job, done by hand here
        return len(smtp_server.received)

    await wait_for(delivered, lambda n: n >= 1, what="the packet e-mail")
    (mail,) = smtp_server.received
    assert mail.rcpt_tos == ["cardio@specialists.example"]
    attachments = [p for p in mail.message.walk() if p.get_content_type() == "application/pdf"]
    assert len(attachments) == 1
    assert attachments[0].get_payload(decode=True)[:5] == b"%PDF-"

    async def packet_status() -> str:
        return str(
            (await client.get(f"/api/v1/referrals/{referral['id']}", headers=org.headers)).json()["packet_status"]
        )

    assert await wait_for(packet_status, lambda s: s != "queued", what="the packet status") == "sent"
