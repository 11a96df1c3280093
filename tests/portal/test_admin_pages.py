"""The administration pages over HTTP: each renders for an owner, refuses other roles, and really changes
what the API reports (modules, settings, users, keys, channels); audit filters and export; tenant isolation."""

from __future__ import annotations

import csv
import html
import io
import re
import secrets
import uuid
from collections.abc import Callable
from typing import Any, Literal

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from core.plugins.settings_schema import settings_schema
from core.portal.api import ApiError
from core.testing.fixtures import PASSWORD, Org
from core.testing.portal import csrf_of, portal_login, submit
from tenants.portal.admin.schema_form import api_errors, read_form, schema_fields

Client = AsyncTestClient[Any]
PAGES = {
    "/portal/admin/organization": "<h1>Organization</h1>",
    "/portal/admin/modules": "<h1>Modules</h1>",
    "/portal/admin/users": "<h1>Users and roles</h1>",
    "/portal/admin/api-keys": "<h1>API keys</h1>",
    "/portal/admin/channels": "<h1>Notification channels</h1>",
    "/portal/admin/audit": "<h1>Audit log</h1>",
    "/portal/admin/dead-letters": "<h1>Dead letters</h1>",
    "/portal/admin/usage": "<h1>Plan and usage</h1>",
}
MODULE = "partner_example"


def field_error(page: str, name: str) -> str:
    """The message shown next to field ``name`` (the macros' ``<p class="error" id="e-NAME">``)."""
    found = re.search(rf'<p class="error" id="e-{re.escape(name)}">(.*?)</p>', page, re.S)
    assert found, f"no error shown next to {name}"
    return html.unescape(found.group(1)).strip()


def input_value(page: str, name: str) -> str:
    found = re.search(rf'name="{re.escape(name)}" type="[a-z]+" value="([^"]*)"', page)
    assert found, f"no input {name}"
    return html.unescape(found.group(1))


async def logged_in(portal: Client, org: Org, email: str | None = None) -> Client:
    answer = await portal_login(portal, org.slug, email or org.email, PASSWORD)
    assert answer.status_code == 303, answer.text
    return portal


async def add_person(client: Client, org: Org, role: str) -> dict[str, Any]:
    email = f"{role}-{secrets.token_hex(3)}@{org.slug}.example"
    made = await client.post(
        "/api/v1/users", headers=org.headers, json={"email": email, "password": PASSWORD, "role": role}
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


async def catalogue(client: Client, org: Org) -> dict[str, Any]:
    answer = await client.get("/api/v1/admin/modules", headers=org.headers)
    return {module["name"]: module for module in answer.json()}


# --- every page, and who may see it ------------------------------------------------------------------------------


async def test_every_admin_page_renders_for_an_owner(portal: Client, org: Org) -> None:
    await logged_in(portal, org)
    for url, heading in PAGES.items():
        page = await portal.get(url)
        assert page.status_code == 200, (url, page.text)
        assert "text/html" in page.headers["content-type"]
        assert heading in page.text, url
        assert " style=" not in page.text, url
        assert "<script>" not in page.text, url
        assert f'href="{url}" aria-current="page"' in page.text, url  # the menu marks the page
    for url in (f"/portal/admin/modules/{MODULE}", "/portal/admin/modules/reminders", "/portal/admin/channels/sms"):
        page = await portal.get(url)
        assert page.status_code == 200, url
        assert " style=" not in page.text, url
        assert len(re.findall(r"<(?:input|select|textarea) id=", page.text)) <= page.text.count("<label for="), url


async def test_a_coordinator_gets_403_on_every_admin_page_and_action(
    client: Client, make_portal: Callable[[], Client], org: Org
) -> None:
    coordinator = await add_person(client, org, "coordinator")
    portal = await logged_in(make_portal(), org, coordinator["email"])
    more = [f"/portal/admin/modules/{MODULE}", "/portal/admin/channels/email", "/portal/admin/audit/export"]
    for url in [*PAGES, *more]:
        page = await portal.get(url)
        assert page.status_code == 403, url
        assert "text/html" in page.headers["content-type"]
    home = await portal.get("/portal/mfa")
    refused = await portal.post(
        f"/portal/admin/modules/{MODULE}/enable", data={"_csrf_token": csrf_of(home.text)}, follow_redirects=False
    )
    assert refused.status_code == 403
    assert (await catalogue(client, org))[MODULE]["enabled"] is False


# --- modules -------------------------------------------------------------------------------------------------------


async def test_enabling_and_disabling_a_module_changes_the_catalogue(portal: Client, client: Client, org: Org) -> None:
    await logged_in(portal, org)
    page = await portal.get("/portal/admin/modules")
    assert f'action="/portal/admin/modules/{MODULE}/enable"' in page.text
    assert f'href="/portal/admin/modules/{MODULE}">Settings of' in page.text

    enabled = await submit(portal, "/portal/admin/modules", f"/portal/admin/modules/{MODULE}/enable", {})
    assert enabled.status_code == 200
    assert "The module is enabled." in enabled.text
    assert (await catalogue(client, org))[MODULE]["enabled"] is True
    assert f"/portal/admin/modules/{MODULE}/disable" in enabled.text

    disabled = await submit(portal, "/portal/admin/modules", f"/portal/admin/modules/{MODULE}/disable", {})
    assert "The module is disabled." in disabled.text
    assert (await catalogue(client, org))[MODULE]["enabled"] is False


async def test_the_settings_form_is_generated_from_the_schema_with_defaults_and_descriptions(
    portal: Client, org: Org
) -> None:
    await logged_in(portal, org)
    page = await portal.get(f"/portal/admin/modules/{MODULE}")
    assert page.status_code == 200
    assert 'name="greeting" type="text" value="hello"' in page.text
    assert 'name="max_notes" type="number" value="10"' in page.text
    assert 'min="1"' in page.text
    assert 'max="100"' in page.text
    assert "Echoed by the notes routes." in page.text  # the field's docstring
    assert "Default: hello." in page.text

    referrals = await portal.get("/portal/admin/modules/referrals")
    assert 'name="routine_hours" type="number" value="72.0"' in referrals.text
    assert "Business hours from sent to scheduled for a routine referral." in referrals.text
    # unset by default (the organization's business hours apply): an empty JSON field
    assert re.search(r'<textarea id="f-calendar" name="calendar"[^>]*></textarea>', referrals.text)
    assert "the organization&#39;s business hours" in referrals.text


async def test_saving_settings_changes_them_in_the_api(portal: Client, client: Client, org: Org) -> None:
    await logged_in(portal, org)
    url = f"/portal/admin/modules/{MODULE}"
    saved = await submit(portal, url, url, {"greeting": "bonjour", "max_notes": "7"})
    assert saved.status_code == 200
    assert "The settings are saved." in saved.text
    assert (await catalogue(client, org))[MODULE]["settings"] == {"greeting": "bonjour", "max_notes": 7}
    assert input_value(saved.text, "greeting") == "bonjour"

    referrals = "/portal/admin/modules/referrals"
    page = await portal.get(referrals)
    fields = {
        "routine_hours": "48",
        "urgent_hours": "12.5",
        "asap_hours": "8",
        "stat_hours": "2",
        "at_risk_fraction": "0.5",
        "open_loop_days": "",  # empty: the default
        "calendar": '{"mon": ["09:00-12:00", "13:00-17:00"], "holidays": ["2026-12-25"]}',
    }
    done = await portal.post(referrals, data={**fields, "_csrf_token": csrf_of(page.text)})
    assert done.status_code == 200, done.text
    settings = (await catalogue(client, org))["referrals"]["settings"]
    assert (settings["routine_hours"], settings["urgent_hours"], settings["at_risk_fraction"]) == (48, 12.5, 0.5)
    assert settings["open_loop_days"] == 30
    assert settings["calendar"]["mon"] == ["09:00-12:00", "13:00-17:00"]
    assert settings["calendar"]["holidays"] == ["2026-12-25"]


async def test_invalid_settings_are_refused_with_each_message_next_to_its_field(
    portal: Client, client: Client, org: Org
) -> None:
    await logged_in(portal, org)
    url = f"/portal/admin/modules/{MODULE}"
    refused = await submit(portal, url, url, {"greeting": "", "max_notes": "0"})
    assert refused.status_code == 422
    assert field_error(refused.text, "max_notes") == "must be at least 1"
    assert field_error(refused.text, "greeting") == "must be at least 1 characters"
    assert 'name="max_notes" type="number" value="0"' in refused.text  # what was typed stays
    assert 'aria-invalid="true"' in refused.text
    assert (await catalogue(client, org))[MODULE]["settings"] == {"greeting": "hello", "max_notes": 10}

    words = await submit(portal, url, url, {"greeting": "hi", "max_notes": "many"})
    assert words.status_code == 422
    assert field_error(words.text, "max_notes") == "must be a number"

    referrals = "/portal/admin/modules/referrals"
    sla = await submit(portal, referrals, referrals, {"routine_hours": "0", "calendar": '{"mon": ["18:00-09:00"]}'})
    assert sla.status_code == 422
    assert field_error(sla.text, "routine_hours") == "must be more than 0.0"
    assert "must end after it starts" in field_error(sla.text, "calendar")
    broken = await submit(portal, referrals, referrals, {"calendar": '{"mon": '})
    assert broken.status_code == 422
    assert field_error(broken.text, "calendar").startswith("is not valid JSON")
    assert (await catalogue(client, org))["referrals"]["settings"]["routine_hours"] == 72


async def test_an_unknown_module_is_the_404_page(portal: Client, org: Org) -> None:
    await logged_in(portal, org)
    for url in ("/portal/admin/modules/no_such_module", "/portal/admin/modules/Bad..Name"):
        assert (await portal.get(url)).status_code == 404


# --- users --------------------------------------------------------------------------------------------------------


async def test_inviting_changing_disabling_and_resetting_users(portal: Client, client: Client, org: Org) -> None:
    await logged_in(portal, org)
    users = "/portal/admin/users"
    email = f"new-{secrets.token_hex(3)}@{org.slug}.example"
    person_fields = {"email": email, "full_name": "Nia Park", "role": "viewer"}
    invited = await submit(portal, users, f"{users}/invite", person_fields)
    assert invited.status_code == 200
    assert "The invitation is on its way." in invited.text
    listed = {u["email"]: u for u in (await client.get("/api/v1/users", headers=org.headers)).json()}
    person = listed[email]
    assert (person["status"], person["role"], person["full_name"]) == ("pending", "viewer", "Nia Park")
    assert "Resend invitation" in invited.text

    again = await submit(portal, users, f"{users}/invite", {"email": email, "role": "viewer"})
    assert again.status_code == 409
    assert field_error(again.text, "email") == "This address already belongs to a user of your organization."

    resent = await submit(portal, users, f"{users}/{person['id']}/reinvite", {})
    assert "A new invitation is on its way" in resent.text

    colleague = await add_person(client, org, "coordinator")
    changed = await submit(portal, users, f"{users}/{colleague['id']}/change", {"role": "clinician"})
    assert "The user is updated." in changed.text
    disabled = await submit(portal, users, f"{users}/{colleague['id']}/disable", {})
    assert "The user is disabled" in disabled.text
    listed = {u["id"]: u for u in (await client.get("/api/v1/users", headers=org.headers)).json()}
    assert (listed[colleague["id"]]["role"], listed[colleague["id"]]["status"]) == ("clinician", "disabled")
    enabled = await submit(portal, users, f"{users}/{colleague['id']}/enable", {})
    assert "The user is active again." in enabled.text
    reset = await submit(portal, users, f"{users}/{colleague['id']}/mfa-reset", {})
    assert "Two-factor authentication is reset" in reset.text
    events = await client.get(
        "/api/v1/audit-events", headers=org.headers, params={"action": "user.mfa_reset", "resource_id": colleague["id"]}
    )
    assert len(events.json()["items"]) == 1


async def test_an_admin_cannot_change_an_owner_and_sees_why(
    client: Client, make_portal: Callable[[], Client], org: Org
) -> None:
    admin = await add_person(client, org, "admin")
    portal = await logged_in(make_portal(), org, admin["email"])
    page = await portal.get("/portal/admin/users")
    assert '<option value="owner"' not in page.text.split('id="invite"')[1]  # owners are invited by owners
    refused = await submit(portal, "/portal/admin/users", f"/portal/admin/users/{org.owner_id}/disable", {})
    assert refused.status_code == 403
    assert "Only an owner can change an owner" in refused.text
    assert "<h1>Users and roles</h1>" in refused.text


async def test_the_plan_limit_is_shown_when_inviting_one_too_many(portal: Client, client: Client, org: Org) -> None:
    await logged_in(portal, org)
    for _ in range(4):  # the starter plan: 5 users
        await add_person(client, org, "viewer")
    usage = await portal.get("/portal/admin/usage")
    assert "Limit reached" in usage.text
    assert re.search(r'<progress id="p-users" max="5" value="5"', usage.text)
    email = f"sixth-{secrets.token_hex(3)}@{org.slug}.example"
    fields = {"email": email, "role": "viewer"}
    refused = await submit(portal, "/portal/admin/users", "/portal/admin/users/invite", fields)
    assert refused.status_code == 403
    assert "plan allows 5 users" in refused.text
    assert input_value(refused.text, "email") == email


async def test_usage_shows_the_plan_and_warns_near_a_limit(portal: Client, client: Client, org: Org) -> None:
    await logged_in(portal, org)
    page = await portal.get("/portal/admin/usage")
    assert "Starter" in page.text
    assert '1 <span class="muted">of 5</span>' in page.text
    assert "Near the limit" not in page.text
    for _ in range(3):
        await add_person(client, org, "viewer")
    near = await portal.get("/portal/admin/usage")
    assert "Near the limit" in near.text
    assert "80% used; 1 left." in near.text


# --- organization ---------------------------------------------------------------------------------------------------


async def test_organization_settings_are_saved_and_errors_shown_inline(
    portal: Client, client: Client, org: Org
) -> None:
    await logged_in(portal, org)
    url = "/portal/admin/organization"
    page = await portal.get(url)
    fields = {
        "name": "Riverside Care",
        "time_zone": "America/Chicago",
        "days": ["1", "2", "3", "4"],
        "start": "07:30",
        "end": "16:00",
        "_csrf_token": csrf_of(page.text),
    }
    saved = await portal.post(url, data=fields)
    assert saved.status_code == 200
    assert "are saved" in saved.text
    tenant = (await client.get("/api/v1/tenant", headers=org.headers)).json()
    assert (tenant["name"], tenant["time_zone"], tenant["mfa_required"]) == ("Riverside Care", "America/Chicago", False)
    assert tenant["business_hours"] == {"days": [1, 2, 3, 4], "start": "07:30", "end": "16:00"}
    assert "Riverside Care" in saved.text  # the session shows the new name at once

    bad = {**fields, "name": "", "start": "18:00", "end": "09:00", "_csrf_token": csrf_of(saved.text)}
    refused = await portal.post(url, data=bad)
    assert refused.status_code == 422
    assert "Some of the values need your attention." in refused.text
    assert field_error(refused.text, "name") == "must be at least 1 characters"
    zone = await portal.post(url, data={**fields, "time_zone": "Mars/Base", "_csrf_token": csrf_of(saved.text)})
    assert zone.status_code == 422
    assert field_error(zone.text, "time_zone") == "Choose a time zone from the list."
    no_days = await portal.post(url, data={**fields, "days": [], "_csrf_token": csrf_of(saved.text)})
    assert no_days.status_code == 422
    assert field_error(no_days.text, "days") == "Choose at least one working day."
    backwards = await portal.post(
        url, data={**fields, "start": "18:00", "end": "09:00", "_csrf_token": csrf_of(saved.text)}
    )
    assert backwards.status_code == 422
    assert field_error(backwards.text, "end") == "Closing time must be after the opening time."
    assert (await client.get("/api/v1/tenant", headers=org.headers)).json()["name"] == "Riverside Care"

    strict = await portal.post(url, data={**fields, "mfa_required": "true", "_csrf_token": csrf_of(saved.text)})
    assert (await client.get("/api/v1/tenant", headers=org.headers)).json()["mfa_required"] is True
    assert str(strict.url).endswith("/portal/mfa")  # the owner has no MFA yet: enrolment comes first


# --- API keys -------------------------------------------------------------------------------------------------------


async def test_an_api_key_is_shown_once_works_and_can_be_revoked(portal: Client, client: Client, org: Org) -> None:
    await logged_in(portal, org)
    url = "/portal/admin/api-keys"
    page = await portal.get(url)
    assert 'value="patients:read"' in page.text
    assert 'value="users:manage"' not in page.text
    created = await portal.post(
        url, data={"name": "EHR sync", "scopes": ["patients:read", "audit:read"], "_csrf_token": csrf_of(page.text)}
    )
    assert created.status_code == 200
    assert "shown only this once" in created.text
    key = re.search(r'id="new-key" type="text" readonly value="([^"]+)"', created.text)
    assert key
    secret = html.unescape(key.group(1))
    assert (await client.get("/api/v1/patients", headers={"X-API-Key": secret})).status_code == 200

    listed = await portal.get(url)
    assert "EHR sync" in listed.text
    assert secret not in listed.text
    key_id = next(k["id"] for k in (await client.get("/api/v1/api-keys", headers=org.headers)).json())
    revoked = await submit(portal, url, f"{url}/{key_id}/revoke", {})
    assert "The key is revoked" in revoked.text
    assert (await client.get("/api/v1/patients", headers={"X-API-Key": secret})).status_code == 401

    empty = await submit(portal, url, url, {"name": ""})
    assert empty.status_code == 422
    assert field_error(empty.text, "scopes") == "Choose at least one permission."


# --- channels -------------------------------------------------------------------------------------------------------


async def test_channel_settings_form_keeps_secrets_write_only(portal: Client, client: Client, org: Org) -> None:
    await logged_in(portal, org)
    url = "/portal/admin/channels/email"
    page = await portal.get(url)
    assert 'name="smtp_host" type="text" value="localhost"' in page.text
    assert '<select id="f-security" name="security"' in page.text
    assert 'name="secret.smtp_password" type="password" value=""' in page.text
    assert "not set" in page.text

    form = {"_enabled": "true", "smtp_host": "mail.example.org", "smtp_port": "70000", "security": "starttls"}
    refused = await submit(portal, url, url, {**form, "secret.smtp_password": "s3cret-pass"})
    assert refused.status_code == 422
    assert field_error(refused.text, "smtp_port") == "must be at most 65535"
    assert "s3cret-pass" not in refused.text

    good = {**form, "smtp_port": "2525", "from_address": "care@example.org", "secret.smtp_password": "s3cret-pass"}
    saved = await submit(portal, url, url, good)
    assert saved.status_code == 200
    assert "are saved" in saved.text
    assert "s3cret-pass" not in saved.text
    assert re.search(r"smtp_password\s*<span class=\"badge ok\">set</span>", saved.text)
    stored = (await client.get("/api/v1/admin/channels/email", headers=org.headers)).json()
    assert stored["enabled"] is True
    assert stored["secrets_set"] == ["smtp_password"]
    assert (stored["options"]["smtp_host"], stored["options"]["smtp_port"]) == ("mail.example.org", 2525)

    kept = await submit(portal, url, url, {**form, "smtp_port": "587"})  # no password typed: kept
    assert kept.status_code == 200
    assert (await client.get("/api/v1/admin/channels/email", headers=org.headers)).json()["secrets_set"] == [
        "smtp_password"
    ]
    removed = await submit(portal, url, url, {**form, "smtp_port": "587", "remove_secret": "smtp_password"})
    assert removed.status_code == 200
    assert (await client.get("/api/v1/admin/channels/email", headers=org.headers)).json()["secrets_set"] == []
    listing = await portal.get("/portal/admin/channels")
    assert "smtp_password: not set" in listing.text


# --- audit ----------------------------------------------------------------------------------------------------------


async def test_audit_filters_narrow_the_table_and_page_older(portal: Client, client: Client, org: Org) -> None:
    await logged_in(portal, org)
    for number in range(3):
        made = await client.post(
            "/api/v1/api-keys", headers=org.headers, json={"name": f"k{number}", "scopes": ["patients:read"]}
        )
        assert made.status_code == 201
    everything = await portal.get("/portal/admin/audit")
    assert "api_key.create" in everything.text

    narrowed = await portal.get("/portal/admin/audit", params={"action": "api_key.create"})
    assert narrowed.status_code == 200
    actions = re.findall(r'<th scope="row"><a href="\?action=[^"]*">([^<]+)</a></th>', narrowed.text)
    assert actions == ["api_key.create"] * 3
    assert 'href="/portal/admin/audit/export?action=api_key.create"' in narrowed.text

    mine = await portal.get("/portal/admin/audit", params={"actor_id": str(org.owner_id), "resource_type": "api_key"})
    assert re.findall(r'<th scope="row"><a href="\?action=[^"]*">([^<]+)</a></th>', mine.text) == ["api_key.create"] * 3
    nobody = await portal.get("/portal/admin/audit", params={"actor_id": str(uuid.uuid4())})
    assert "No events match these filters." in nobody.text
    future = await portal.get("/portal/admin/audit", params={"from": "2999-01-01"})
    assert "No events match these filters." in future.text
    dated = {"action": "api_key.create", "from": "2000-01-01", "to": "2999-12-31"}
    today = await portal.get("/portal/admin/audit", params=dated)
    assert len(re.findall(r'<th scope="row"><a href="\?action=', today.text)) == 3

    bad = await portal.get("/portal/admin/audit", params={"actor_id": "not-an-id", "from": "yesterday"})
    assert bad.status_code == 422
    assert field_error(bad.text, "actor_id").startswith("Enter a user's id")
    assert field_error(bad.text, "from") == "Enter a date (YYYY-MM-DD)."


async def test_the_audit_log_pages_with_an_older_link(
    portal: Client, client: Client, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tenants.portal.admin import audit

    monkeypatch.setattr(audit, "PAGE_SIZE", 2)
    await logged_in(portal, org)
    for number in range(3):
        key = {"name": f"k{number}", "scopes": ["audit:read"]}
        await client.post("/api/v1/api-keys", headers=org.headers, json=key)
    first = await portal.get("/portal/admin/audit", params={"action": "api_key.create"})
    older = re.search(r'<a class="button" href="(\?[^"]+)" rel="next">Older</a>', first.text)
    assert older
    link = html.unescape(older.group(1))
    assert "action=api_key.create" in link
    assert "before_seq=" in link
    assert len(re.findall(r'<th scope="row"><a href="\?action=', first.text)) == 2
    second = await portal.get(f"/portal/admin/audit{link}")
    assert len(re.findall(r'<th scope="row"><a href="\?action=', second.text)) == 1
    assert 'href="?action=api_key.create">Newest</a>' in second.text
    assert 'rel="next"' not in second.text


async def test_the_csv_export_downloads_through_the_portal(portal: Client, client: Client, org: Org) -> None:
    await logged_in(portal, org)
    await client.post("/api/v1/api-keys", headers=org.headers, json={"name": "csv", "scopes": ["patients:read"]})
    answer = await portal.get("/portal/admin/audit/export", params={"action": "api_key.create"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert re.match(r'attachment; filename="audit-events-\d{8}-\d{6}\.csv"', answer.headers["content-disposition"])
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [row["action"] for row in rows] == ["api_key.create"]
    exports = await client.get("/api/v1/audit-events", headers=org.headers, params={"action": "audit.export"})
    assert exports.json()["items"][0]["details"]["filters"] == {"action": "api_key.create"}


# --- dead letters and tenant isolation ----------------------------------------------------------------------------


async def insert_letter(owner_db: Any, org: Org) -> Any:
    return await owner_db.fetchval(
        "insert into dead_letters (tenant_id, message_id, actor_name, queue, payload, effect_key, error, retries) "
        "values ($1, $2, 'core.ping', 'default', '{\"note\": \"n\"}'::jsonb, $3, 'PermanentError: boom', 3) "
        "returning id",
        org.tenant_id,
        uuid.uuid4().hex,
        f"effect-{uuid.uuid4().hex}",
    )


async def test_dead_letters_list_detail_and_replay(portal: Client, client: Client, org: Org, owner_db: Any) -> None:
    letter_id = await insert_letter(owner_db, org)
    await logged_in(portal, org)
    listed = await portal.get("/portal/admin/dead-letters")
    assert f'href="/portal/admin/dead-letters/{letter_id}">core.ping</a>' in listed.text
    detail = await portal.get(f"/portal/admin/dead-letters/{letter_id}")
    assert "PermanentError: boom" in detail.text
    assert "&#34;note&#34;: &#34;n&#34;" in detail.text
    replayed = await submit(
        portal, f"/portal/admin/dead-letters/{letter_id}", f"/portal/admin/dead-letters/{letter_id}/replay", {}
    )
    assert "The job is queued again." in replayed.text
    letter = (await client.get(f"/api/v1/admin/dead-letters/{letter_id}", headers=org.headers)).json()
    assert letter["replay_count"] == 1
    waiting = await portal.get("/portal/admin/dead-letters", params={"show": "waiting"})
    assert str(letter_id) not in waiting.text


async def test_another_organization_cannot_open_or_act_on_these_ids(
    client: Client, make_portal: Callable[[], Client], org: Org, other_org: Org, owner_db: Any
) -> None:
    letter_id = await insert_letter(owner_db, org)
    person = await add_person(client, org, "coordinator")
    key = await client.post("/api/v1/api-keys", headers=org.headers, json={"name": "a", "scopes": ["patients:read"]})
    key_id = key.json()["api_key"]["id"]
    intruder = await logged_in(make_portal(), other_org)
    assert (await intruder.get(f"/portal/admin/dead-letters/{letter_id}")).status_code == 404
    assert (await intruder.get(f"/portal/admin/dead-letters/{uuid.uuid4()}")).status_code == 404
    page = await intruder.get("/portal/admin/users")
    assert person["email"] not in page.text
    token = csrf_of(page.text)
    for action in (
        f"/portal/admin/dead-letters/{letter_id}/replay",
        f"/portal/admin/users/{person['id']}/change",
        f"/portal/admin/users/{person['id']}/disable",
        f"/portal/admin/users/{person['id']}/mfa-reset",
        f"/portal/admin/users/{person['id']}/reinvite",
        f"/portal/admin/api-keys/{key_id}/revoke",
    ):
        answer = await intruder.post(action, data={"_csrf_token": token, "role": "viewer"}, follow_redirects=False)
        assert answer.status_code == 404, action
        assert "text/html" in answer.headers["content-type"]
    letter = await client.get(f"/api/v1/admin/dead-letters/{letter_id}", headers=org.headers)
    assert letter.json()["replay_count"] == 0
    mine = {u["id"]: u for u in (await client.get("/api/v1/users", headers=org.headers)).json()}[person["id"]]
    assert (mine["role"], mine["status"]) == ("coordinator", "active")
    assert (await client.get("/api/v1/api-keys", headers=org.headers)).json()[0]["revoked_at"] is None


# --- the generated form, without HTTP -------------------------------------------------------------------------------


class FormRules(msgspec.Struct, frozen=True, kw_only=True):
    days: list[int] = []


class FormSample(msgspec.Struct, kw_only=True):
    name: str = "x"
    note: str | None = None
    count: int = 3
    share: float = 0.5
    on: bool = False
    maybe: bool | None = None
    mode: Literal["a", "b"] = "a"
    numbers: list[int] = []
    lines: list[str] = []
    rules: FormRules = FormRules()


def test_the_schema_form_reads_each_kind_of_input_and_places_nested_errors() -> None:
    fields = schema_fields(settings_schema(FormSample))
    assert [(f.name, f.kind) for f in fields] == [
        ("name", "text"),
        ("note", "text"),
        ("count", "integer"),
        ("share", "number"),
        ("on", "boolean"),
        ("maybe", "tristate"),
        ("mode", "choice"),
        ("numbers", "list"),
        ("lines", "list"),
        ("rules", "json"),
    ]
    form = {
        "name": "n",
        "note": "",
        "count": "",
        "share": "2",
        "maybe": "false",
        "mode": "b",
        "numbers": "1, 2\n3",
        "lines": "a, b\nc",
        "rules": '{"days": [1]}',
    }
    values, errors, _ = read_form(fields, form, {"on"})
    assert errors == {}
    assert values == {
        "name": "n",
        "note": None,
        "share": 2,
        "on": True,
        "maybe": False,
        "mode": "b",
        "numbers": [1, 2, 3],
        "lines": ["a, b", "c"],
        "rules": {"days": [1]},
    }  # count left out: its default
    assert msgspec.convert(values, FormSample).count == 3
    _, errors, shown = read_form(fields, {**form, "rules": "{"}, set())
    assert errors["rules"].startswith("is not valid JSON")
    assert shown["rules"] == "{"

    refusal = ApiError(
        422,
        {
            "errors": [
                {"key": "settings.rules.days[0]", "message": "Expected `int`, got `str`"},
                {"key": "settings.count", "message": "Expected `int` >= 1"},
                {"key": "settings", "message": "low must be below high"},
            ]
        },
    )
    placed, general = api_errors(refusal, fields, "settings")
    assert placed == {"rules": "days[0]: must be a number", "count": "must be at least 1"}
    assert general == ["low must be below high"]
