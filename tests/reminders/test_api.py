"""The API: rules, isolation between organizations, the module switch, settings validation, templates per tenant."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from core.testing.fixtures import enable_module, sign_up
from tests.notifications.conftest import ProviderServer
from tests.notifications.helpers import configure_provider
from tests.reminders.conftest import (
    NO_QUIET_HOURS,
    REMINDERS,
    book,
    grant,
    new_patient,
    reminder_notifications,
    run_periodic,
    run_queued,
    touches,
)


async def test_rules_show_defaults_and_resolve_overrides(client: Any, org: Any) -> None:
    practitioner = await client.post(
        "/api/v1/directory/practitioners",
        headers=org.headers,
        json={"given_name": "Rosa", "family_name": "Diaz", "specialty": "Cardiology"},
    )
    assert practitioner.status_code == 201, practitioner.text
    practitioner_id = practitioner.json()["id"]
    await enable_module(
        client,
        org,
        "reminders",
        {
            "by_specialty": {"cardiology": {"offsets": ["48h", "90m"]}},
            "by_practitioner": {},
            "channels": ["email", "sms"],
        },
    )
    rules = await client.get(f"{REMINDERS}/rules", headers=org.headers)
    assert rules.status_code == 200, rules.text
    body = rules.json()
    assert body["effective"] == {"offsets": ["72h", "24h", "2h"], "channels": ["email", "sms"], "min_lead_minutes": 15}
    assert body["settings"]["quiet_hours_start"] == "21:00:00"
    assert body["settings"]["templates"]["appointment"] == "generic"
    cardiology = await client.get(
        f"{REMINDERS}/rules", headers=org.headers, params={"practitioner_id": practitioner_id}
    )
    assert cardiology.json()["effective"]["offsets"] == ["48h", "90m"]

    await enable_module(client, org, "reminders", {"by_practitioner": {practitioner_id: {"channels": ["voice"]}}})
    own = await client.get(f"{REMINDERS}/rules", headers=org.headers, params={"practitioner_id": practitioner_id})
    assert own.json()["effective"]["channels"] == ["voice"]


async def test_invalid_settings_are_refused_naming_the_problem(client: Any, org: Any) -> None:
    for settings in (
        {"offsets": ["72h", "4320m"]},
        {"offsets": ["soon"]},
        {"channels": ["sms", "sms"]},
        {"channels": ["pigeon"]},
        {"quiet_hours_start": "21:00:00", "quiet_hours_end": None},
        {"max_failures": 0},
        {"templates": {"appointment": "Bad Name!"}},
        {"unknown": 1},
    ):
        response = await client.put(
            "/api/v1/admin/modules/reminders", headers=org.headers, json={"enabled": True, "settings": settings}
        )
        assert response.status_code in (400, 422), (settings, response.text)


async def test_other_organizations_and_disabled_modules_get_404_on_every_route(
    client: Any, reminding: Any, other_org: Any, owner_db: Any, app_loop: Any
) -> None:
    patient = await new_patient(client, reminding)
    appointment = await book(client, reminding, patient["id"], (datetime.now(UTC) + timedelta(minutes=90)))
    touch = next(t for t in await touches(client, reminding, appointment["id"]) if t["status"] == "planned")
    await run_periodic(app_loop, reminding)
    await owner_db.execute(
        "update reminder_touches set claimed_at = now() - interval '1 hour' where tenant_id = $1", reminding.tenant_id
    )
    probes = [
        ("get", f"{REMINDERS}/appointments/{appointment['id']}/touches"),
        ("get", f"{REMINDERS}/patients/{patient['id']}/deliveries"),
        ("post", f"{REMINDERS}/touches/{touch['id']}/resend"),
    ]
    await enable_module(client, other_org, "reminders")
    for method, url in probes:
        response = await getattr(client, method)(
            url, headers=other_org.headers, **({"json": {}} if method == "post" else {})
        )
        assert response.status_code == 404, (url, response.text)
        mine = await getattr(client, method)(
            url, headers=reminding.headers, **({"json": {}} if method == "post" else {})
        )
        assert mine.status_code == 200, (url, mine.text)
    unknown = await client.get(f"{REMINDERS}/appointments/{uuid.uuid4()}/touches", headers=reminding.headers)
    assert unknown.status_code == 404

    # Viewing touches and the log is audited with the patient.
    audited = await owner_db.fetch(
        "select action, details->>'patient_id' as patient_id from audit_events where tenant_id = $1 "
        "and action in ('reminders.touches.read', 'reminders.deliveries.read')",
        reminding.tenant_id,
    )
    assert {(r["action"], r["patient_id"]) for r in audited} >= {
        ("reminders.touches.read", patient["id"]),
        ("reminders.deliveries.read", patient["id"]),
    }

    off = await client.put("/api/v1/admin/modules/reminders", headers=reminding.headers, json={"enabled": False})
    assert off.status_code == 200, off.text
    for method, url in [*probes, ("get", f"{REMINDERS}/rules")]:
        response = await getattr(client, method)(
            url, headers=reminding.headers, **({"json": {}} if method == "post" else {})
        )
        assert response.status_code == 404, (url, response.text)
    assert await run_periodic(app_loop, reminding) == "module_disabled"


async def test_each_tenant_reminder_uses_its_own_template_never_the_others(
    client: Any, owner_db: Any, app_loop: Any, provider_server: ProviderServer
) -> None:
    """Two organizations point appointment reminders at a template of their own named the same, and each
    has its own provider account and number: each reminder goes out with its own organization's."""
    orgs = [await sign_up(client), await sign_up(client)]
    accounts = {"ALPHA": ("ACalpha", "+15550001111"), "BRAVO": ("ACbravo", "+15550002222")}
    for marker, org in zip(("ALPHA", "BRAVO"), orgs, strict=True):
        await enable_module(client, org, "reminders", {**NO_QUIET_HOURS, "templates": {"appointment": "visit"}})
        sid, number = accounts[marker]
        await configure_provider(client, org, provider_server, account_sid=sid, from_number=number)
        saved = await client.put(
            "/api/v1/admin/notification-templates/visit/sms/en",
            headers=org.headers,
            json={
                "body": f"{marker} {{{{ organization.name }}}}: {{{{ appointment.when }}}}. {{{{ appointment.reply }}}}"
            },
        )
        assert saved.status_code == 200, saved.text
    bodies: list[str] = []
    senders: list[tuple[str, str, str]] = []
    for org in orgs:
        patient = await new_patient(client, org)
        await grant(client, org, patient["id"], "sms")
        await book(client, org, patient["id"], datetime.now(UTC) + timedelta(minutes=90))
        assert await run_queued(app_loop, owner_db, org, "reminders.dispatch") == ["done"]
        [notification] = await reminder_notifications(owner_db, org)
        assert notification["template"] == "visit"
        assert await run_queued(app_loop, owner_db, org, "notifications.send") == ["done"]
        sent = provider_server.requests[-1]
        bodies.append(sent.form["Body"])
        senders.append((sent.username, sent.form["From"], sent.path.split("/")[3]))
    assert bodies[0].startswith(f"ALPHA Clinic {orgs[0].slug}: ")
    assert bodies[1].startswith(f"BRAVO Clinic {orgs[1].slug}: ")
    assert "BRAVO" not in bodies[0]
    assert "ALPHA" not in bodies[1]
    assert bodies[0].endswith("Reply C to confirm or R to reschedule.")
    assert senders == [
        ("ACalpha", "+15550001111", "ACalpha"),
        ("ACbravo", "+15550002222", "ACbravo"),
    ]  # each organization's own credentials, account and number

    # An organization without a template of that name gets the generic one rather than nothing.
    third = await sign_up(client)
    await enable_module(client, third, "reminders", {**NO_QUIET_HOURS, "templates": {"appointment": "visit"}})
    patient = await new_patient(client, third)
    await grant(client, third, patient["id"], "sms")
    await book(client, third, patient["id"], datetime.now(UTC) + timedelta(minutes=90))
    await run_queued(app_loop, owner_db, third, "reminders.dispatch")
    [notification] = await reminder_notifications(owner_db, third)
    assert notification["template"] == "generic"
