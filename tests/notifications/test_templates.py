"""Templates: sandboxed, checked on save, tenant overrides per language, failures at send are permanent."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from core.jobs.errors import PermanentError
from tests.conftest import Org, create_patient
from tests.notifications.conftest import SmtpServer, run_queued
from tests.notifications.helpers import TEMPLATES, assert_problem, configure_email, grant, notify, read


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ patient['__class__'] }}",
        "{{ lipsum.__globals__ }}",
        "{% include 'secrets.txt' %}",
        "{{ patient.given_name ",
    ],
)
async def test_unsafe_or_malformed_templates_are_refused_on_save(
    client: AsyncTestClient[Any], org: Org, body: str
) -> None:
    response = await client.put(f"{TEMPLATES}/generic/email/en", headers=org.headers, json={"body": body})
    problem = assert_problem(response, 422)
    assert "template" in problem["detail"]
    listed = (await client.get(TEMPLATES, headers=org.headers)).json()
    assert [t for t in listed if t["source"] == "tenant"] == []


async def test_a_tenant_override_in_the_patients_language_is_used_and_english_is_the_fallback(
    client: AsyncTestClient[Any], org: Org, smtp_server: SmtpServer
) -> None:
    await configure_email(client, org, smtp_server)
    saved = await client.put(
        f"{TEMPLATES}/generic/any/PT-br",
        headers=org.headers,
        json={"subject": "Aviso de {{ organization.name }}", "body": "Olá {{ patient.given_name }}! {{ text }}"},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["language"] == "pt-BR"
    brazilian = await create_patient(client, org, email="b@example.net", communication={"language": "pt-BR"})
    german = await create_patient(client, org, email="g@example.net", communication={"language": "de"})
    for patient in (brazilian, german):
        await grant(client, org, patient["id"], "email")
        await notify(client, org, patient["id"], "email", context={"text": "Tudo certo."})
    assert await run_queued(client, org.tenant_id) == ["done", "done"]
    by_recipient = {m.rcpt_tos[0]: m.message for m in smtp_server.received}
    assert by_recipient["b@example.net"]["Subject"] == f"Aviso de Clinic {org.slug}"
    assert by_recipient["b@example.net"].get_payload(decode=True).decode().strip() == "Olá Ada! Tudo certo."
    assert by_recipient["g@example.net"]["Subject"] == f"A message from Clinic {org.slug}"

    preview = await client.post(
        f"{TEMPLATES}/preview",
        headers=org.headers,
        json={"template": "generic", "channel": "email", "language": "pt", "context": {"text": "x"}},
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["language"] == "en"  # no "pt" template: only pt-BR
    removed = await client.delete(f"{TEMPLATES}/generic/any/pt-BR", headers=org.headers)
    assert removed.status_code == 204
    assert_problem(await client.delete(f"{TEMPLATES}/generic/any/pt-BR", headers=org.headers), 404)


async def test_a_template_that_fails_at_send_time_fails_the_notification_permanently(
    client: AsyncTestClient[Any], org: Org, smtp_server: SmtpServer
) -> None:
    await configure_email(client, org, smtp_server)
    saved = await client.put(
        f"{TEMPLATES}/lab_result/email/en", headers=org.headers, json={"body": "Result: {{ result.value }}"}
    )
    assert saved.status_code == 200
    patient = await create_patient(client, org, email="ada@example.net")
    await grant(client, org, patient["id"], "email")
    requested = await notify(client, org, patient["id"], "email", template="lab_result", context={"other": 1})
    with pytest.raises(PermanentError):
        await run_queued(client, org.tenant_id)
    failed = await read(client, org, requested["id"])
    assert failed["status"] == "failed"
    assert "'result' is undefined" in failed["last_error"]
    assert smtp_server.received == []


async def test_unknown_templates_channels_and_reserved_variables_are_refused_at_request(
    client: AsyncTestClient[Any], org: Org
) -> None:
    patient = await create_patient(client, org)
    url = "/api/v1/notifications"
    body = {"patient_id": patient["id"], "channel": "email"}
    assert_problem(await client.post(url, headers=org.headers, json={**body, "template": "nope"}), 422)
    assert_problem(await client.post(url, headers=org.headers, json={**body, "channel": "pigeon"}), 422)
    reserved = {**body, "context": {"patient": {"given_name": "Mallory"}}}
    assert_problem(await client.post(url, headers=org.headers, json=reserved), 422)
    assert_problem(await client.put(f"{TEMPLATES}/generic/pigeon/en", headers=org.headers, json={"body": "x"}), 404)
    assert_problem(await client.put(f"{TEMPLATES}/Bad-Name/any/en", headers=org.headers, json={"body": "x"}), 422)
