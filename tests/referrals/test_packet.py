"""The specialist packet: sent through the outbox and the e-mail channel to a real SMTP server as a PDF.

Jobs run through ``core.jobs.runner.run_job`` exactly as a worker runs them (in the app's loop,
where the connection pool lives); the SMTP server is aiosmtpd on a local port.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
import pytest
from pypdf import PdfReader

from core.db.tenant import tenant_transaction
from core.http.context import RequestContext
from core.jobs.context import system_principal
from core.jobs.runner import run_job
from core.notifications.attachments import MAX_ATTACHMENT_BYTES, check_attachments
from core.notifications.channels.base import Attachment, ProviderRecipient
from core.notifications.service import NotificationRequestError, request_notification
from tests.conftest import create_patient, enable_module
from tests.notifications.conftest import SmtpServer
from tests.notifications.conftest import smtp_server as smtp_server  # the fixture, re-exported for pytest
from tests.notifications.helpers import configure_email
from tests.referrals.test_referrals_api import REFERRALS, move, new_referral

PDF = b"%PDF-1.4\n% test\n"


async def specialist(client: Any, org: Any, **contact: Any) -> str:
    response = await client.post(
        "/api/v1/directory/practitioners",
        headers=org.headers,
        json={
            "given_name": "Rosa",
            "family_name": f"Heart{secrets.token_hex(2)}",
            "specialty": "cardiology",
            **contact,
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _outbox(tenant_id: UUID, actor: str) -> list[dict[str, Any]]:
    async with tenant_transaction(tenant_id) as tx:
        rows = await tx.fetch(
            "select id, actor_name, queue, payload, effect_key, idempotency_key from outbox "
            "where actor_name = $1 order by created_at",
            actor,
        )
    return [{**dict(r), "payload": msgspec.json.decode(r["payload"])} for r in rows]


async def run(app_loop: Callable[..., Any], tenant_id: UUID, message: dict[str, Any], **overrides: Any) -> str:
    arguments = {
        "tenant_id": str(tenant_id),
        "payload": message["payload"],
        "message_id": str(message["id"]),
        "effect_key": message["effect_key"] or message["idempotency_key"],
        **overrides,
    }
    outcome: str = await app_loop(run_job, message["actor_name"], **arguments)
    return outcome


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


async def read(client: Any, org: Any, referral_id: str) -> dict[str, Any]:
    response = await client.get(f"{REFERRALS}/{referral_id}", headers=org.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
async def clinic(client: Any, org: Any) -> Any:
    await enable_module(client, org, "referrals")
    return org


async def test_sending_a_referral_emails_the_packet_pdf_to_the_specialist_once(
    client: Any, clinic: Any, smtp_server: SmtpServer, app_loop: Callable[..., Any], owner_db: asyncpg.Connection
) -> None:
    await configure_email(client, clinic, smtp_server)
    doctor = await specialist(client, clinic, email="rosa.heart@cardio.example.org")
    patient = await create_patient(client, clinic, given_name="Grace", family_name="Hopper")  # no e-mail consent
    referral = await new_referral(
        client,
        clinic,
        patient=patient,
        target_practitioner_id=doctor,
        clinical_notes="Troponin negative; ECG with lateral ST depression.",
        prior_auth_required=True,
    )
    assert referral["packet_status"] == "not_sent"
    sent = await move(client, clinic, referral["id"], "sent")
    assert sent.status_code == 200, sent.text
    assert sent.json()["packet_status"] == "queued"

    (job,) = await app_loop(_outbox, clinic.tenant_id, "referrals.send_packet")
    assert job["payload"] == {"referral_id": referral["id"], "send": 0}
    assert smtp_server.received == []
    assert await run(app_loop, clinic.tenant_id, job) == "done"
    assert smtp_server.received == []  # the packet is queued as a notification, not sent yet

    (send,) = await app_loop(_outbox, clinic.tenant_id, "notifications.send")
    assert await run(app_loop, clinic.tenant_id, send) == "done"

    (mail,) = smtp_server.received
    assert mail.rcpt_tos == ["rosa.heart@cardio.example.org"]
    assert mail.message["Subject"] == "Referral packet: cardiology (urgent)"
    assert "Grace" not in mail.message["Subject"]  # the PHI travels in the attachment, not the subject
    (attached,) = [part for part in mail.message.walk() if part.get_filename()]
    assert attached.get_content_type() == "application/pdf"
    assert attached.get_filename() == f"referral-{referral['id']}.pdf"
    text = pdf_text(attached.get_payload(decode=True))
    for expected in ("Grace Hopper", "Exertional chest pain", "I20.9, E11.9", patient["mrn"], "Coverage: not on file"):
        assert expected in text
    assert "lateral ST depression" in text
    assert "Prior authorization required: yes" in text

    shown = await read(client, clinic, referral["id"])
    assert shown["packet_status"] == "sent"
    notification = (
        await client.get(f"/api/v1/notifications/{shown['packet_notification_id']}", headers=clinic.headers)
    ).json()
    assert notification["recipient_kind"] == "provider"
    assert notification["recipient_address"] == "rosa.heart@cardio.example.org"
    assert [(a["filename"], a["content_type"]) for a in notification["attachments"]] == [
        (f"referral-{referral['id']}.pdf", "application/pdf")
    ]
    assert "content" not in notification["attachments"][0]

    # Redelivery of either message, or a replay of the packet job under a new key, sends nothing more.
    assert await run(app_loop, clinic.tenant_id, job) == "duplicate"
    assert await run(app_loop, clinic.tenant_id, send) == "duplicate"
    assert await run(app_loop, clinic.tenant_id, job, message_id="replay", effect_key="replay-1") == "done"
    assert len(await app_loop(_outbox, clinic.tenant_id, "notifications.send")) == 1
    assert len(smtp_server.received) == 1

    received = await move(client, clinic, referral["id"], "received")
    assert received.json()["packet_status"] == "acknowledged"
    actions = {
        r["action"]
        for r in await owner_db.fetch(
            "select action from audit_events where tenant_id = $1 and (resource_id = $2 or resource_id = $3)",
            clinic.tenant_id,
            UUID(referral["id"]),
            UUID(patient["id"]),
        )
    }
    assert {
        "referral.packet",
        "referral.packet_requested",
        "referral.packet_sent",
        "notification.disclosure",
    } <= actions


async def test_a_target_without_email_gets_a_worklist_task_instead(
    client: Any, clinic: Any, smtp_server: SmtpServer, app_loop: Callable[..., Any], owner_db: asyncpg.Connection
) -> None:
    await configure_email(client, clinic, smtp_server)
    doctor = await specialist(client, clinic, fax="+1 555 0100")
    referral = await new_referral(client, clinic, target_practitioner_id=doctor)
    await move(client, clinic, referral["id"], "sent")
    (job,) = await app_loop(_outbox, clinic.tenant_id, "referrals.send_packet")
    assert await run(app_loop, clinic.tenant_id, job) == "done"

    shown = await read(client, clinic, referral["id"])
    assert shown["packet_status"] == "not_sent"
    assert "no e-mail address" in shown["packet_detail"]
    assert "+1 555 0100" in shown["packet_detail"]
    assert await app_loop(_outbox, clinic.tenant_id, "notifications.send") == []
    tasks = await owner_db.fetch(
        "select title, focus_type, patient_id from tasks where tenant_id = $1 and focus_id = $2",
        clinic.tenant_id,
        UUID(referral["id"]),
    )
    assert [(t["title"], t["focus_type"]) for t in tasks] == [("Send the referral packet by hand", "referral")]
    assert str(tasks[0]["patient_id"]) == referral["patient_id"]
    assert smtp_server.received == []


async def test_an_email_channel_that_is_off_fails_the_packet_and_creates_a_task(
    client: Any, clinic: Any, app_loop: Callable[..., Any], owner_db: asyncpg.Connection
) -> None:
    doctor = await specialist(client, clinic, email="busy@cardio.example.org")
    referral = await new_referral(client, clinic, target_practitioner_id=doctor)
    await move(client, clinic, referral["id"], "sent")
    (job,) = await app_loop(_outbox, clinic.tenant_id, "referrals.send_packet")
    assert await run(app_loop, clinic.tenant_id, job) == "done"
    (send,) = await app_loop(_outbox, clinic.tenant_id, "notifications.send")
    assert await run(app_loop, clinic.tenant_id, send) == "done"

    shown = await read(client, clinic, referral["id"])
    assert shown["packet_status"] == "failed"
    assert shown["packet_detail"] == "the email channel is not enabled"
    count = await owner_db.fetchval(
        "select count(*) from tasks where tenant_id = $1 and focus_id = $2", clinic.tenant_id, UUID(referral["id"])
    )
    assert count == 1


async def test_the_packet_downloads_as_a_pdf_audited_and_is_404_for_another_organization(
    client: Any, clinic: Any, other_org: Any, owner_db: asyncpg.Connection
) -> None:
    await enable_module(client, other_org, "referrals")
    referral = await new_referral(client, clinic)
    response = await client.get(f"{REFERRALS}/{referral['id']}/packet", headers=clinic.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Exertional chest pain" in text
    assert "Coverage: not on file" in text
    details = await owner_db.fetchval(
        "select details from audit_events where tenant_id = $1 and action = 'referral.packet' and resource_id = $2",
        clinic.tenant_id,
        UUID(referral["id"]),
    )
    assert msgspec.json.decode(details)["purpose"] == "download"

    foreign = await client.get(f"{REFERRALS}/{referral['id']}/packet", headers=other_org.headers)
    assert foreign.status_code == 404
    assert foreign.headers["content-type"].startswith("application/problem+json")
    unknown = await client.get(f"{REFERRALS}/{UUID(int=7)}/packet", headers=clinic.headers)
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("attachment", "message"),
    [
        (Attachment("run.exe", "application/octet-stream", b"MZ"), "not accepted"),
        (Attachment("fake.pdf", "application/pdf", b"MZ\x90\x00"), "is not application/pdf"),
        (Attachment("big.pdf", "application/pdf", b"%PDF-" + b"0" * MAX_ATTACHMENT_BYTES), "1 byte to"),
        (Attachment("empty.txt", "text/plain", b""), "1 byte to"),
        (Attachment("latin.txt", "text/plain", "café".encode("latin-1")), "UTF-8"),
        (Attachment("   ", "application/pdf", PDF), "file name"),
    ],
)
def test_attachment_limits_refuse_what_is_not_allowed(attachment: Attachment, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_attachments([attachment])


def test_attachment_names_lose_paths_and_header_tricks() -> None:
    (checked,) = check_attachments([Attachment("../../etc/x\r\nBcc: a@b.c.pdf", "application/pdf", PDF)])
    assert checked.filename == "x__Bcc_ a_b.c.pdf"
    assert len(check_attachments([Attachment(f"{i}.pdf", "application/pdf", PDF) for i in range(5)])) == 5
    with pytest.raises(ValueError, match="at most 5"):
        check_attachments([Attachment(f"{i}.pdf", "application/pdf", PDF) for i in range(6)])


async def _request(tenant_id: UUID, patient_id: UUID, **arguments: Any) -> Any:
    async with tenant_transaction(tenant_id) as tx:
        ctx = RequestContext(tx, system_principal(tenant_id), None, "test", None)
        return await request_notification(ctx, patient_id=patient_id, **{"channel": "email", **arguments})


async def test_request_notification_refuses_bad_attachments_and_provider_messages_off_email(
    client: Any, org: Any, app_loop: Callable[..., Any], owner_db: asyncpg.Connection
) -> None:
    patient = UUID((await create_patient(client, org))["id"])
    provider = ProviderRecipient("Dr Rosa", "rosa@cardio.example.org")
    with pytest.raises(NotificationRequestError, match="not accepted"):
        await app_loop(
            _request,
            org.tenant_id,
            patient,
            recipient=provider,
            attachments=[Attachment("a.zip", "application/zip", b"PK")],
        )
    with pytest.raises(NotificationRequestError, match="cannot go by sms"):
        await app_loop(_request, org.tenant_id, patient, channel="sms", recipient=provider)
    made = await app_loop(
        _request,
        org.tenant_id,
        patient,
        template="provider_message",
        context={"text": "See attached."},
        recipient=provider,
        attachments=[Attachment("note.txt", "text/plain", "héllo".encode())],
    )
    assert made.status == "queued"  # no patient consent needed for a provider-directed message
    stored = await owner_db.fetchrow(
        "select filename, content_type, size, content from notification_attachments where notification_id = $1",
        made.id,
    )
    assert (stored["filename"], stored["content_type"], stored["size"]) == ("note.txt", "text/plain", 6)
    assert bytes(stored["content"]) == "héllo".encode()


PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


async def test_clinical_attachments_are_checked_stored_and_sent_with_the_packet(
    client: Any,
    clinic: Any,
    other_org: Any,
    smtp_server: SmtpServer,
    app_loop: Callable[..., Any],
) -> None:
    await configure_email(client, clinic, smtp_server)
    doctor = await specialist(client, clinic, email="echo@cardio.example.org")
    referral = await new_referral(client, clinic, target_practitioner_id=doctor)
    base = f"{REFERRALS}/{referral['id']}/attachments"

    uploaded = await client.post(
        base, headers=clinic.headers, files={"data": ("../../ecg report.pdf", PDF, "application/pdf")}
    )
    assert uploaded.status_code == 201, uploaded.text
    info = uploaded.json()
    assert (info["filename"], info["content_type"], info["size"]) == ("ecg report.pdf", "application/pdf", len(PDF))
    for bad, expected in [
        (("x.exe", b"MZ\x90\x00", "application/octet-stream"), "not accepted"),
        (("fake.pdf", b"<html>", "application/pdf"), "PDF"),
    ]:
        refused = await client.post(base, headers=clinic.headers, files={"data": bad})
        assert refused.status_code == 422, refused.text
        assert expected.lower() in refused.json()["detail"].lower()
    for n in range(3):
        assert (
            await client.post(base, headers=clinic.headers, files={"data": (f"{n}.txt", b"note", "text/plain")})
        ).status_code == 201
    fifth = await client.post(base, headers=clinic.headers, files={"data": ("5.txt", b"note", "text/plain")})
    assert fifth.status_code == 422
    assert "at most 4" in fifth.json()["detail"]

    listed = (await client.get(base, headers=clinic.headers)).json()
    assert [a["filename"] for a in listed] == ["ecg report.pdf", "0.txt", "1.txt", "2.txt"]
    download = await client.get(f"{base}/{info['id']}", headers=clinic.headers)
    assert download.content == PDF
    assert download.headers["content-type"].startswith("application/pdf")
    await enable_module(client, other_org, "referrals")
    assert (await client.get(f"{base}/{info['id']}", headers=other_org.headers)).status_code == 404
    assert (await client.get(base, headers=other_org.headers)).status_code == 404

    await move(client, clinic, referral["id"], "sent")
    (job,) = await app_loop(_outbox, clinic.tenant_id, "referrals.send_packet")
    await run(app_loop, clinic.tenant_id, job)
    (send,) = await app_loop(_outbox, clinic.tenant_id, "notifications.send")
    await run(app_loop, clinic.tenant_id, send)
    (mail,) = smtp_server.received
    names = [part.get_filename() for part in mail.message.walk() if part.get_filename()]
    assert names == [f"referral-{referral['id']}.pdf", "ecg report.pdf", "0.txt", "1.txt", "2.txt"]
