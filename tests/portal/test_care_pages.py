"""The coordinator's daily screens over HTTP: worklist tabs and quick actions, patient search (POST only),
registration, the chart (contacts, consents, timeline, plugin actions), the appointment day view, isolation."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from litestar.testing import AsyncTestClient

from core.plugins.records import PortalPage
from core.portal.care.chart import chart_actions_of
from core.portal.rendering import is_chart_action
from core.testing.portal import csrf_of, portal_login
from tests.conftest import PASSWORD, Org, create_patient

Client = AsyncTestClient[Any]
HTMX = {"HX-Request": "true"}


async def add_person(client: Client, org: Org, role: str = "coordinator") -> tuple[str, str, dict[str, str]]:
    """A user of ``org``: (e-mail, id, API headers)."""
    email = f"{role}-{secrets.token_hex(3)}@{org.slug}.example"
    answer = await client.post(
        "/api/v1/users", headers=org.headers, json={"email": email, "password": PASSWORD, "role": role}
    )
    assert answer.status_code == 201, answer.text
    token = await client.post("/api/v1/auth/token", json={"tenant": org.slug, "email": email, "password": PASSWORD})
    return email, str(answer.json()["id"]), {"Authorization": f"Bearer {token.json()['access_token']}"}


async def logged_in(portal: Client, org: Org, email: str | None = None) -> Client:
    answer = await portal_login(portal, org.slug, email or org.email, PASSWORD)
    assert answer.status_code == 303, answer.text
    return portal


async def task(client: Client, headers: dict[str, str], title: str, **body: Any) -> str:
    for key in ("due_at",):
        if isinstance(body.get(key), datetime):
            body[key] = body[key].isoformat()
    answer = await client.post("/api/v1/tasks", headers=headers, json={"title": title, **body})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def post_form(portal: Client, page_url: str, action: str, fields: dict[str, Any], **kwargs: Any) -> Any:
    page = await portal.get(page_url)
    assert page.status_code == 200, page.text
    return await portal.post(action, data={**fields, "_csrf_token": csrf_of(page.text)}, **kwargs)


def tbody(page: str) -> str:
    found = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    return found.group(1) if found else ""


def section(page: str, name: str) -> str:
    found = re.search(rf'<section id="{name}".*?</section>', page, re.S)
    assert found, f"no section {name}"
    return found.group(0)


def title_of(page: str) -> str:
    found = re.search(r"<title>(.*?)</title>", page, re.S)
    assert found
    return found.group(1).strip()


# -- worklist ---------------------------------------------------------------------------------------------------


async def test_worklist_tabs_show_mine_my_teams_and_the_overdue_tasks(client: Client, org: Org, portal: Client) -> None:
    now = datetime.now(UTC)
    me_email, me, _my_headers = await add_person(client, org)
    _, mate, _ = await add_person(client, org)
    patient = await create_patient(client, org, family_name=f"Worklist{secrets.token_hex(3)}")
    for user_id in (me, mate):
        joined = await client.post(
            f"/api/v1/patients/{patient['id']}/care-team",
            headers=org.headers,
            json={"user_id": user_id, "role": "care_coordinator"},
        )
        assert joined.status_code == 201, joined.text
    h = org.headers
    await task(client, h, "mine-overdue", owner_user_id=me, due_at=now - timedelta(hours=2), patient_id=patient["id"])
    await task(client, h, "mine-later", owner_user_id=me, due_at=now + timedelta(days=3))
    await task(client, h, "teammate-task", owner_user_id=mate, due_at=now + timedelta(days=1))
    await task(client, h, "pool-task", owner_role="coordinator", due_at=now - timedelta(hours=1))
    await task(client, h, "stranger-task", owner_user_id=str(org.owner_id), due_at=now - timedelta(hours=1))
    done = await task(client, h, "mine-done", owner_user_id=me, status="in-progress")
    assert (await client.post(f"/api/v1/tasks/{done}/transition", headers=h, json={"status": "completed"})).is_success

    await logged_in(portal, org, me_email)

    def titles(page: str) -> set[str]:
        found = re.findall(r"(mine-overdue|mine-later|teammate-task|pool-task|stranger-task|mine-done)", tbody(page))
        return set(found)

    mine = await portal.get("/portal/")
    assert mine.status_code == 200
    assert "text/html" in mine.headers["content-type"]
    assert titles(mine.text) == {"mine-overdue", "mine-later"}
    assert f'href="/portal/patients/{patient["id"]}">{patient["family_name"]}, Ada</a>' in mine.text
    assert 'aria-current="page">Mine</a>' in mine.text
    assert "Overdue</span>" in mine.text  # the overdue badge of mine-overdue

    team = await portal.get("/portal/?tab=team")
    assert titles(team.text) == {"mine-overdue", "mine-later", "teammate-task", "pool-task"}
    overdue = await portal.get("/portal/?tab=overdue")
    assert titles(overdue.text) == {"mine-overdue", "pool-task"}
    assert (await portal.get("/portal/?tab=nonsense")).status_code == 200


async def test_an_empty_worklist_says_what_to_do_next(client: Client, org: Org, portal: Client) -> None:
    email, _, _ = await add_person(client, org)
    await logged_in(portal, org, email)
    page = await portal.get("/portal/")
    assert page.status_code == 200
    assert "No tasks here" in page.text
    assert 'href="/portal/?tab=team"' in page.text
    assert 'href="/portal/patients"' in page.text


async def test_quick_actions_swap_the_row_and_say_when_the_task_moved_on(
    client: Client, org: Org, portal: Client
) -> None:
    email, me, headers = await add_person(client, org)
    task_id = await task(client, org.headers, "call the pharmacy", owner_user_id=me)
    pool_id = await task(client, org.headers, "pool call", owner_role="coordinator")
    await logged_in(portal, org, email)
    page = await portal.get("/portal/")
    token = csrf_of(page.text)
    row = f'id="task-{task_id}"'
    assert row in page.text
    assert f'hx-post="/portal/tasks/{task_id}/status"' in page.text

    too_soon = await portal.post(
        f"/portal/tasks/{task_id}/status", data={"status": "completed", "tab": "mine", "_csrf_token": token},
        headers=HTMX,
    )  # fmt: skip
    assert too_soon.status_code == 200
    assert too_soon.text.lstrip().startswith("<tr")
    assert "Not done: the task is requested now." in too_soon.text

    started = await portal.post(
        f"/portal/tasks/{task_id}/status", data={"status": "in-progress", "tab": "mine", "_csrf_token": token},
        headers=HTMX,
    )  # fmt: skip
    assert started.status_code == 200
    assert row in started.text
    assert ">in-progress</span>" in started.text
    assert 'name="status" value="completed"' in started.text
    assert "<html" not in started.text

    completed = await portal.post(
        f"/portal/tasks/{task_id}/status", data={"status": "completed", "tab": "mine", "_csrf_token": token},
        follow_redirects=False,
    )  # fmt: skip
    assert completed.status_code == 303
    assert completed.headers["location"] == "/portal/?tab=mine"
    state = await client.get(f"/api/v1/tasks/{task_id}", headers=headers)
    assert state.json()["status"] == "completed"

    taken = await portal.post(f"/portal/tasks/{pool_id}/take", data={"tab": "team", "_csrf_token": token}, headers=HTMX)
    assert taken.status_code == 200
    assert "Assigned to you." in taken.text
    assert ">You</td>" in taken.text
    assert (await client.get(f"/api/v1/tasks/{pool_id}", headers=headers)).json()["owner_user_id"] == me

    unknown = await portal.post(
        f"/portal/tasks/{uuid.uuid4()}/status", data={"status": "in-progress", "_csrf_token": token}, headers=HTMX
    )
    assert unknown.status_code == 404


# -- patient search and registration -----------------------------------------------------------------------------


async def test_search_is_posted_and_the_name_never_reaches_a_url(client: Client, org: Org, portal: Client) -> None:
    family = f"Searchable{secrets.token_hex(3)}"
    patient = await create_patient(client, org, family_name=family, given_name="Grace")
    await create_patient(client, org, family_name=f"Other{secrets.token_hex(3)}")
    await logged_in(portal, org)
    page = await portal.get("/portal/patients")
    assert page.status_code == 200
    assert 'hx-post="/portal/patients/search"' in page.text
    assert 'method="post" action="/portal/patients/search"' in page.text

    fragment = await portal.post(
        "/portal/patients/search", data={"q": family.lower()[:12], "_csrf_token": csrf_of(page.text)}, headers=HTMX
    )
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert f'href="/portal/patients/{patient["id"]}">{family}, Grace</a>' in fragment.text
    assert "Other" not in tbody(fragment.text)
    assert family not in str(fragment.url)
    assert "q=" not in str(fragment.url)

    whole = await portal.post("/portal/patients/search", data={"q": patient["mrn"], "_csrf_token": csrf_of(page.text)})
    assert whole.status_code == 200
    assert "<html" in whole.text
    assert f"/portal/patients/{patient['id']}" in whole.text
    assert patient["mrn"] not in str(whole.url)
    for link in re.findall(r'href="([^"]+)"', whole.text):
        assert family not in link
        assert patient["mrn"] not in link

    nothing = await portal.post(
        "/portal/patients/search", data={"q": "Zzzznobody", "_csrf_token": csrf_of(page.text)}, headers=HTMX
    )
    assert "No patient matches" in nothing.text


async def test_new_patient_form_shows_the_apis_refusals_next_to_the_fields_then_opens_the_chart(
    client: Client, org: Org, portal: Client
) -> None:
    await logged_in(portal, org)
    mrn = f"NEW-{secrets.token_hex(3)}"
    valid = {"mrn": mrn, "given_name": "Mary", "family_name": "Seacole", "birth_date": "1955-11-23"}

    bad_mrn = await post_form(portal, "/portal/patients/new", "/portal/patients/new", {**valid, "mrn": "has spaces!"})
    assert bad_mrn.status_code == 422
    assert '<p class="error" id="e-mrn">is not in the expected format</p>' in bad_mrn.text
    assert 'value="Seacole"' in bad_mrn.text  # what was typed stays

    future = (date.today() + timedelta(days=30)).isoformat()
    unborn = await post_form(portal, "/portal/patients/new", "/portal/patients/new", {**valid, "birth_date": future})
    assert unborn.status_code == 422
    assert 'id="e-birth_date">must be between 1880-01-01 and today</p>' in unborn.text

    nameless = await post_form(portal, "/portal/patients/new", "/portal/patients/new", {**valid, "given_name": ""})
    assert nameless.status_code == 422
    assert 'id="e-given_name">is required</p>' in nameless.text

    created = await post_form(
        portal, "/portal/patients/new", "/portal/patients/new",
        {**valid, "city": "Kingston", "language": "en", "channels": ["sms", "email"]}, follow_redirects=False,
    )  # fmt: skip
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    assert re.fullmatch(r"/portal/patients/[0-9a-f-]{36}", location)
    chart = await portal.get(location)
    assert chart.status_code == 200
    assert "Seacole, Mary" in chart.text
    assert "Kingston" in chart.text
    assert "Text message" in chart.text

    again = await post_form(portal, "/portal/patients/new", "/portal/patients/new", valid)
    assert again.status_code == 422
    assert 'id="e-mrn">is already used' in again.text


# -- the chart -----------------------------------------------------------------------------------------------------


async def test_the_chart_adds_contacts_and_records_and_revokes_consents_in_place(
    client: Client, org: Org, portal: Client
) -> None:
    patient = await create_patient(client, org, family_name="Charted")
    chart_url = f"/portal/patients/{patient['id']}"
    entry = await client.post(
        f"/api/v1/patients/{patient['id']}/chart-entries",
        headers=org.headers,
        json={"kind": "phone_call", "occurred_at": datetime.now(UTC).isoformat(), "title": "Called about meds"},
    )
    assert entry.status_code == 201, entry.text
    await logged_in(portal, org)
    page = await portal.get(chart_url)
    assert page.status_code == 200
    assert "Charted, Ada" in page.text
    assert "Called about meds" in section(page.text, "timeline")
    assert "No contacts yet." in section(page.text, "contacts")
    token = csrf_of(page.text)

    refused = await portal.post(
        f"{chart_url}/contacts", data={"name": "", "relationship": "spouse", "_csrf_token": token}, headers=HTMX
    )
    assert refused.status_code == 422
    assert 'id="e-name">is required</p>' in refused.text

    added = await portal.post(
        f"{chart_url}/contacts",
        data={
            "name": "Bob Charted", "relationship": "spouse", "phone": "+1 555 010 2020",
            "may_receive": ["appointment_reminders", "care_updates"], "is_emergency_contact": "true",
            "_csrf_token": token,
        },
        headers=HTMX,
    )  # fmt: skip
    assert added.status_code == 200, added.text
    assert "<html" not in added.text
    assert "Contact Bob Charted added." in added.text
    assert "Appointment reminders, Care updates" in added.text
    assert 'id="consents" aria-labelledby="consents-h" hx-swap-oob="true"' in added.text
    contact_id = (await client.get(f"/api/v1/patients/{patient['id']}/contacts", headers=org.headers)).json()[0]["id"]
    assert f'value="contact:{contact_id}"' in added.text  # the consent form can name the new contact at once

    recorded = await portal.post(
        f"{chart_url}/consents", data={"consent_for": "channel:sms", "note": "said yes", "_csrf_token": token},
        headers=HTMX,
    )  # fmt: skip
    assert recorded.status_code == 200, recorded.text
    assert "Consent recorded." in recorded.text
    assert "Contact by text messages" in recorded.text
    shared = await portal.post(
        f"{chart_url}/consents",
        data={"consent_for": f"contact:{contact_id}", "expires_on": "2099-12-31", "_csrf_token": token},
        headers=HTMX,
    )
    assert "Share information with Bob Charted" in shared.text
    unchosen = await portal.post(f"{chart_url}/consents", data={"consent_for": "", "_csrf_token": token}, headers=HTMX)
    assert unchosen.status_code == 422
    assert 'id="e-consent_for">choose what the patient agrees to</p>' in unchosen.text

    consents = (await client.get(f"/api/v1/patients/{patient['id']}/consents", headers=org.headers)).json()
    sms = next(c for c in consents if c["channel"] == "sms")
    sharing = next(c for c in consents if c["kind"] == "sharing")
    assert sharing["expires_at"] is not None
    revoked = await portal.post(f"{chart_url}/consents/{sms['id']}/revoke", data={"_csrf_token": token}, headers=HTMX)
    assert revoked.status_code == 200
    assert "Consent revoked." in revoked.text
    assert ">revoked</span>" in revoked.text

    chart = await portal.get(chart_url)
    assert "Bob Charted" in section(chart.text, "contacts")
    consents_html = section(chart.text, "consents")
    assert "Contact by text messages" in consents_html
    assert ">active</span>" in consents_html
    assert "Called about meds" in section(chart.text, "timeline")

    plain = await portal.post(
        f"{chart_url}/contacts", data={"name": "Plain Post", "relationship": "friend", "_csrf_token": token},
        follow_redirects=False,
    )  # fmt: skip
    assert plain.status_code == 303
    assert plain.headers["location"] == f"{chart_url}#contacts"
    plain_bad = await portal.post(
        f"{chart_url}/contacts", data={"name": "X", "relationship": "friend", "email": "nope", "_csrf_token": token}
    )
    assert plain_bad.status_code == 422
    assert "<html" in plain_bad.text
    assert 'id="e-email"' in plain_bad.text


async def test_the_chart_lists_care_plans_and_a_plan_shows_its_goals_and_activities(
    client: Client, org: Org, portal: Client
) -> None:
    patient = await create_patient(client, org)
    plan = await client.post(
        f"/api/v1/patients/{patient['id']}/care-plans",
        headers=org.headers,
        json={
            "title": "Diabetes control",
            "period_start": date.today().isoformat(),
            "goals": [{"description": "HbA1c below 7", "target_value": 7, "unit": "%"}],
            "activities": [{"kind": "education", "description": "Nutrition class"}],
        },
    )
    assert plan.status_code == 201, plan.text
    await logged_in(portal, org)
    chart = await portal.get(f"/portal/patients/{patient['id']}")
    plans = section(chart.text, "care-plans")
    assert f'href="/portal/care-plans/{plan.json()["id"]}">Diabetes control</a>' in plans
    assert "1 goal (0 met), 1 activity (0 done)" in plans
    detail = await portal.get(f"/portal/care-plans/{plan.json()['id']}")
    assert detail.status_code == 200
    assert "HbA1c below 7" in detail.text
    assert "Nutrition class" in detail.text
    assert (await portal.get(f"/portal/care-plans/{uuid.uuid4()}")).status_code == 404


async def test_a_viewer_reads_the_chart_without_the_forms_that_change_it(
    client: Client, org: Org, portal: Client
) -> None:
    patient = await create_patient(client, org)
    granted = await client.post(
        f"/api/v1/patients/{patient['id']}/consents", headers=org.headers, json={"kind": "channel", "channel": "sms"}
    )
    assert granted.status_code == 201, granted.text
    email, _, _ = await add_person(client, org, "viewer")
    await logged_in(portal, org, email)
    chart = await portal.get(f"/portal/patients/{patient['id']}")
    assert chart.status_code == 200
    assert "Contact by text messages" in chart.text
    assert "Add a contact" not in chart.text
    assert "Record a consent" not in chart.text
    assert "/revoke" not in chart.text
    assert "New patient" not in (await portal.get("/portal/patients")).text


async def test_another_organizations_patient_is_the_same_404_as_a_random_id(
    client: Client, org: Org, other_org: Org, make_portal: Callable[[], Client]
) -> None:
    theirs = await create_patient(client, org)
    intruder = await logged_in(make_portal(), other_org)
    foreign = await intruder.get(f"/portal/patients/{theirs['id']}")
    random = await intruder.get(f"/portal/patients/{uuid.uuid4()}")
    assert foreign.status_code == random.status_code == 404
    assert "text/html" in foreign.headers["content-type"]
    assert title_of(foreign.text) == title_of(random.text)
    assert theirs["family_name"] not in foreign.text
    page = await intruder.get("/portal/patients")
    sneaky = await intruder.post(
        f"/portal/patients/{theirs['id']}/contacts",
        data={"name": "Spy", "relationship": "friend", "_csrf_token": csrf_of(page.text)},
    )
    assert sneaky.status_code == 404
    assert (await client.get(f"/api/v1/patients/{theirs['id']}/contacts", headers=org.headers)).json() == []


async def test_every_chart_view_is_audited(client: Client, org: Org, portal: Client) -> None:
    patient = await create_patient(client, org)
    await logged_in(portal, org)

    async def reads() -> int:
        answer = await client.get(
            "/api/v1/audit-events",
            headers=org.headers,
            params={"resource_id": patient["id"], "action": "patient.read", "limit": 500},
        )
        assert answer.status_code == 200, answer.text
        return len(answer.json()["items"])

    before = await reads()
    for _ in range(2):
        assert (await portal.get(f"/portal/patients/{patient['id']}")).status_code == 200
    assert await reads() == before + 2
    events = await client.get(
        "/api/v1/audit-events", headers=org.headers, params={"resource_id": patient["id"], "action": "patient.read"}
    )
    assert events.json()["items"][0]["actor_id"] == str(org.owner_id)


async def test_chart_actions_are_the_enabled_modules_patient_pages_and_not_menu_entries() -> None:
    send = PortalPage("patients/{patient_id}/new", "Send a referral", handler=None, menu_section="Patient")
    typed = PortalPage("{patient_id:uuid}/verify", "Verify coverage", handler=None, menu_section="Patient")
    board = PortalPage("board", "Referral board", handler=None, menu_section="Modules")
    host = SimpleNamespace(
        contributions=SimpleNamespace(portal_pages={"referrals": [send, board], "insurance": [typed], "off": [send]})
    )
    patient_id = uuid.uuid4()
    actions = chart_actions_of(host, frozenset({"referrals", "insurance"}), patient_id)  # type: ignore[arg-type]
    assert [(a.title, a.href) for a in actions] == [
        ("Verify coverage", f"/portal/insurance/{patient_id}/verify"),
        ("Send a referral", f"/portal/referrals/patients/{patient_id}/new"),
    ]
    assert is_chart_action(send)
    assert is_chart_action(typed)
    assert not is_chart_action(board)
    assert not is_chart_action(PortalPage("patients", "Patients", handler=None, menu_section="Patient"))


async def test_the_chart_shows_coverage_only_where_the_insurance_module_is_on(
    client: Client, org: Org, portal: Client
) -> None:
    patient = await create_patient(client, org)
    await logged_in(portal, org)
    without = await portal.get(f"/portal/patients/{patient['id']}")
    assert 'id="coverage"' not in without.text
    enabled = await client.put("/api/v1/admin/modules/insurance", headers=org.headers, json={"enabled": True})
    assert enabled.status_code == 200, enabled.text
    with_module = await portal.get(f"/portal/patients/{patient['id']}")
    assert "No coverage recorded." in section(with_module.text, "coverage")


# -- the patients API's ids filter (used by the worklist and the day view) -----------------------------------------


async def test_the_patient_list_narrows_to_ids_and_never_returns_another_organizations(
    client: Client, org: Org, other_org: Org
) -> None:
    first, second, _ = [await create_patient(client, org) for _ in range(3)]
    foreign = await create_patient(client, other_org)
    answer = await client.get(
        "/api/v1/patients", headers=org.headers, params={"ids": [first["id"], second["id"], foreign["id"]]}
    )
    assert answer.status_code == 200, answer.text
    assert {p["id"] for p in answer.json()["items"]} == {first["id"], second["id"]}
    too_many = await client.get("/api/v1/patients", headers=org.headers, params={"ids": [str(uuid.uuid4())] * 201})
    assert too_many.status_code == 400


# -- appointments ------------------------------------------------------------------------------------------------


async def test_the_day_view_lists_the_days_appointments_in_the_organizations_time_zone(
    client: Client, org: Org, portal: Client
) -> None:
    zone = await client.patch("/api/v1/tenant", headers=org.headers, json={"time_zone": "America/Chicago"})
    assert zone.status_code == 200, zone.text
    patient = await create_patient(client, org, family_name="Dayview")
    doctor = await client.post(
        "/api/v1/directory/practitioners",
        headers=org.headers,
        json={"given_name": "Rosalind", "family_name": "Franklin", "specialty": "cardiology"},
    )
    assert doctor.status_code == 201, doctor.text
    # 23:30 in Chicago on 10 March is already 11 March in UTC: it belongs to the 10th here.
    late = await client.post(
        "/api/v1/appointments",
        headers=org.headers,
        json={
            "patient_id": patient["id"], "practitioner_id": doctor.json()["id"], "time_zone": "America/Chicago",
            "start": "2031-03-10T23:30:00-05:00", "end": "2031-03-10T23:55:00-05:00", "reason": "Late check",
        },
    )  # fmt: skip
    assert late.status_code == 201, late.text
    await logged_in(portal, org)
    day = await portal.get("/portal/appointments?day=2031-03-10")
    assert day.status_code == 200
    rows = tbody(day.text)
    assert f'href="/portal/patients/{patient["id"]}">Dayview, Ada</a>' in rows
    assert "Rosalind Franklin" in rows
    assert "23:30" in rows
    assert ">booked</span>" in rows
    assert 'href="/portal/appointments?day=2031-03-09"' in day.text
    assert 'href="/portal/appointments?day=2031-03-11"' in day.text
    assert "America/Chicago" in day.text
    next_day = await portal.get("/portal/appointments?day=2031-03-11")
    assert "Dayview" not in next_day.text
    assert "No appointments on this day." in next_day.text
    today = await portal.get("/portal/appointments")
    assert today.status_code == 200
    assert "(today)" in today.text
    assert (await portal.get("/portal/appointments?day=not-a-day")).status_code == 400
