"""The referrals module's portal pages over HTTP: the board, a referral's page, sending one from the chart."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from core.testing.fixtures import PASSWORD, Org, add_user, create_patient, enable_module
from core.testing.portal import csrf_of, portal_login, submit
from tests.referrals.test_referrals_api import move, new_referral, practitioner
from tests.referrals.test_sla_watch import ALWAYS_OPEN, backdate_sent

BOARD = "/portal/referrals/board"


def column_of(page: str, referral_id: str) -> str | None:
    """The status of the board column holding the referral's card (None: not on the board)."""
    for status, column in re.findall(r'data-status="([a-z_]+)">(.*?)</section>', page, re.S):
        if f'data-referral="{referral_id}"' in column:
            return str(status)
    return None


def card_of(page: str, referral_id: str) -> str:
    found = re.search(rf'<article class="([^"]*)" data-referral="{referral_id}">(.*?)</article>', page, re.S)
    assert found, f"no card for {referral_id}"
    return f"{found.group(1)}|{found.group(2)}"


async def logged_in(portal: AsyncTestClient[Any], org: Org) -> AsyncTestClient[Any]:
    answer = await portal_login(portal, org.slug, org.email, org.password)
    assert answer.status_code == 303, answer.text
    return portal


@pytest.fixture
async def clinic(client: AsyncTestClient[Any], org: Org) -> Org:
    await enable_module(client, org, "referrals", {"stat_hours": 2, "calendar": ALWAYS_OPEN})
    return org


async def test_the_board_places_each_referral_in_its_status_column_and_flags_the_at_risk_one(
    client: AsyncTestClient[Any], portal: AsyncTestClient[Any], clinic: Org, owner_db: Any
) -> None:
    patient = await create_patient(client, clinic, given_name="Grace", family_name="Hopper")
    draft = await new_referral(client, clinic, patient=patient, specialty="dermatology", priority="routine")
    risky = await new_referral(client, clinic, patient=patient, priority="stat")
    calm = await new_referral(client, clinic, priority="routine")
    for referral in (risky, calm):
        assert (await move(client, clinic, referral["id"], "sent")).status_code == 200
    assert (await move(client, clinic, calm["id"], "received")).status_code == 200
    await backdate_sent(owner_db, risky["id"], 1.6)  # 80 % of the 2-hour target: at risk

    await logged_in(portal, clinic)
    page = await portal.get(BOARD)
    assert page.status_code == 200, page.text
    assert "text/html" in page.headers["content-type"]
    assert (column_of(page.text, draft["id"]), column_of(page.text, risky["id"])) == ("draft", "sent")
    assert column_of(page.text, calm["id"]) == "received"
    statuses = re.findall(r'data-status="([a-z_]+)"', page.text)
    assert statuses[:3] == ["draft", "sent", "received"]
    assert {"scheduled", "closed", "on_hold", "rejected"} <= set(statuses)
    risky_card = card_of(page.text, risky["id"])
    assert risky_card.startswith("card at-risk|")
    assert '<span class="badge warn">At risk</span>' in risky_card  # said in words, not by colour alone
    assert "left" in risky_card
    assert f'href="/portal/patients/{patient["id"]}">Grace Hopper</a>' in risky_card
    assert "Ana Cruz" in risky_card  # the receiver
    assert card_of(page.text, calm["id"]).startswith("card|")
    assert 'hx-get="/portal/referrals/board/cards?show=all" hx-trigger="every 30s"' in page.text
    assert re.search(r'id="board-live"[^>]*data-passive', page.text, re.S)
    assert " style=" not in page.text
    assert '<a href="/portal/referrals/board" aria-current="page">Referral board</a>' in page.text

    await backdate_sent(owner_db, risky["id"], 3)  # past the target: overdue, still flagged
    only_risky = await portal.get(BOARD, params={"show": "all", "at_risk": "true"})
    assert column_of(only_risky.text, risky["id"]) == "sent"
    assert column_of(only_risky.text, calm["id"]) is None
    assert column_of(only_risky.text, draft["id"]) is None
    overdue = card_of(only_risky.text, risky["id"])
    assert overdue.startswith("card at-risk|")
    assert '<span class="badge bad">Overdue</span>' in overdue
    assert "Overdue by" in overdue

    colleague = await add_user(client, clinic, "coordinator")
    theirs = await client.post(
        "/api/v1/referrals",
        headers=colleague,
        json={
            "patient_id": patient["id"],
            "specialty": "ENT",
            "reason": "Hearing loss",
            "target_practitioner_id": calm["target_practitioner_id"],
        },
    )
    assert theirs.status_code == 201, theirs.text
    everyone = await portal.get(BOARD, params={"show": "all"})
    assert column_of(everyone.text, theirs.json()["id"]) == "draft"
    refresh = await portal.get(f"{BOARD}/cards", params={"show": "mine"}, headers={"HX-Request": "true"})
    assert refresh.status_code == 200
    assert "<html" not in refresh.text
    assert column_of(refresh.text, calm["id"]) == "received"  # the owner created (so coordinates) these
    assert column_of(refresh.text, theirs.json()["id"]) is None


async def test_a_referral_page_shows_its_history_sla_and_the_moves_allowed_from_here(
    client: AsyncTestClient[Any], portal: AsyncTestClient[Any], clinic: Org
) -> None:
    referral = await new_referral(client, clinic, priority="urgent")
    rid = referral["id"]
    await move(client, clinic, rid, "sent")
    await logged_in(portal, clinic)
    url = f"/portal/referrals/{rid}"
    page = await portal.get(url)
    assert page.status_code == 200
    assert "Status history" in page.text
    assert 'value="received"' in page.text
    assert 'value="on_hold"' in page.text
    assert 'value="closed"' not in page.text  # not from sent
    assert "business hours" in page.text

    no_reason = await submit(portal, url, f"{url}/move", {"to": "on_hold"})
    assert no_reason.status_code == 422
    assert re.search(r'id="e-reason">[^<]+</p>', no_reason.text)
    received = await submit(portal, url, f"{url}/move", {"to": "received"}, follow_redirects=False)
    assert received.status_code == 303
    assert received.headers["location"] == url
    stale = await submit(portal, url, f"{url}/move", {"to": "received"})  # a second tab, one step behind
    assert stale.status_code == 409
    assert "is received and cannot become received" in stale.text
    shown = (await client.get(f"/api/v1/referrals/{rid}", headers=clinic.headers)).json()
    assert shown["status"] == "received"
    history = await portal.get(url)
    assert history.text.count("<td>you</td>") == 3  # created, sent, received

    other_doctor = await practitioner(client, clinic, "cardiology")
    no_why = await submit(portal, url, f"{url}/reroute", {"reroute_practitioner_id": other_doctor})
    assert no_why.status_code == 422
    assert re.search(r'<p class="error" id="e-reroute_reason">[^<]+</p>', no_why.text)
    rerouted = await submit(
        portal, url, f"{url}/reroute", {"reroute_practitioner_id": other_doctor, "reroute_reason": "Closer to home"},
        follow_redirects=False,
    )  # fmt: skip
    assert rerouted.status_code == 303, rerouted.text
    replaced = (await client.get(f"/api/v1/referrals/{rid}", headers=clinic.headers)).json()
    assert replaced["status"] == "replaced"
    assert rerouted.headers["location"] == f"/portal/referrals/{replaced['replaced_by_id']}?done=rerouted"
    new_page = await portal.get(rerouted.headers["location"])
    assert f'href="/portal/referrals/{rid}">the earlier referral</a>' in new_page.text


async def test_sending_a_referral_from_the_patient_chart(
    client: AsyncTestClient[Any], portal: AsyncTestClient[Any], clinic: Org
) -> None:
    patient = await create_patient(client, clinic, given_name="Alan", family_name="Turing")
    doctor = await practitioner(client, clinic, "neurology")
    await logged_in(portal, clinic)
    url = f"/portal/referrals/new/{patient['id']}"
    chart = await portal.get(f"/portal/patients/{patient['id']}")
    assert chart.status_code == 200
    assert f'href="{url}"' in chart.text  # an action on the chart, not a sidebar entry
    assert "referrals/new/{patient_id" not in chart.text
    form = await portal.get(url)
    assert form.status_code == 200
    assert "Send a referral for Alan Turing" in form.text
    assert f'<option value="{doctor}">' in form.text
    for name in ("specialty", "reason", "priority", "diagnosis_codes", "target_practitioner_id"):
        assert f'<label for="f-{name}">' in form.text

    fields = {
        "specialty": "neurology",
        "target_practitioner_id": doctor,
        "reason": "Recurrent migraines",
        "priority": "urgent",
        "diagnosis_codes": "G43.909, r51",
    }
    missing_reason = await submit(portal, url, url, {**fields, "reason": ""})
    assert missing_reason.status_code == 422
    assert '<p class="error" id="e-reason">must be at least 1 characters</p>' in missing_reason.text
    assert "neurology" in missing_reason.text  # what was typed is kept
    bad_code = await submit(portal, url, url, {**fields, "diagnosis_codes": "G43.909, 123"})
    assert bad_code.status_code == 422
    assert '<p class="error" id="e-diagnosis_codes">is not in the expected format</p>' in bad_code.text
    no_target = await submit(portal, url, url, {**fields, "target_practitioner_id": ""})
    assert no_target.status_code == 422
    assert 'id="e-target_practitioner_id">name target_practitioner_id or target_organization_id' in no_target.text
    before = await client.get("/api/v1/referrals", headers=clinic.headers, params={"patient_id": patient["id"]})
    assert before.json() == []

    sent = await submit(portal, url, url, fields, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    (referral,) = (
        await client.get("/api/v1/referrals", headers=clinic.headers, params={"patient_id": patient["id"]})
    ).json()
    assert sent.headers["location"] == f"/portal/referrals/{referral['id']}?done=sent"
    assert (referral["status"], referral["priority"], referral["diagnosis_codes"]) == (
        "sent",
        "urgent",
        ["G43.909", "R51"],
    )
    assert referral["target_practitioner_id"] == doctor
    page = await portal.get(sent.headers["location"])
    assert "The referral was sent." in page.text
    board = await portal.get(BOARD)
    assert column_of(board.text, referral["id"]) == "sent"


async def test_the_pages_answer_404_without_the_module_and_for_another_organization(
    client: AsyncTestClient[Any],
    make_portal: Any,
    clinic: Org,
    other_org: Org,
) -> None:
    referral = await new_referral(client, clinic)
    other = await logged_in(make_portal(), other_org)
    off = await other.get(BOARD)
    assert off.status_code == 404
    assert "text/html" in off.headers["content-type"]
    menu = (await other.get("/portal/mfa")).text
    assert "Worklist" in menu
    assert "Referral board" not in menu  # not in the menu either

    await enable_module(client, other_org, "referrals")
    assert (await other.get(BOARD)).status_code == 200
    assert column_of((await other.get(BOARD)).text, referral["id"]) is None
    assert (await other.get(f"/portal/referrals/{referral['id']}")).status_code == 404
    assert (await other.get(f"/portal/referrals/new/{referral['patient_id']}")).status_code == 404
    page = await other.get(BOARD)
    moved = await other.post(
        f"/portal/referrals/{referral['id']}/move", data={"to": "sent", "_csrf_token": csrf_of(page.text)}
    )
    assert moved.status_code == 404
    shown = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=clinic.headers)).json()
    assert shown["status"] == "draft"


async def test_a_viewer_reads_a_referral_without_the_buttons_to_move_it(
    client: AsyncTestClient[Any], make_portal: Any, clinic: Org
) -> None:
    referral = await new_referral(client, clinic)
    email = f"viewer@{clinic.slug}.example"
    created = await client.post(
        "/api/v1/users", headers=clinic.headers, json={"email": email, "password": PASSWORD, "role": "viewer"}
    )
    assert created.status_code == 201, created.text
    viewer = make_portal()
    assert (await portal_login(viewer, clinic.slug, email, PASSWORD)).status_code == 303
    page = await viewer.get(f"/portal/referrals/{referral['id']}")
    assert page.status_code == 200
    assert "Status history" in page.text
    assert "/move" not in page.text
    assert "/reroute" not in page.text
    assert column_of((await viewer.get(BOARD)).text, referral["id"]) == "draft"
