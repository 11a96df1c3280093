"""A partner's portal page (tests/partner_example): a chart action, a form through the plugin's own API,
404 where the module is off or the patient is another organization's."""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from core.testing.fixtures import Org, create_patient, enable_module
from core.testing.portal import portal_login, submit


async def _open(portal: AsyncTestClient[Any], org: Org) -> None:
    assert (await portal_login(portal, org.slug, org.email, org.password)).status_code == 303


async def test_the_partner_page_is_a_chart_action_with_a_working_form(
    client: AsyncTestClient[Any], org: Org, portal: AsyncTestClient[Any]
) -> None:
    await enable_module(client, org, "partner_example", {"greeting": "Welcome to the notes"})
    patient = await create_patient(client, org)
    await _open(portal, org)
    page_url = f"/portal/partner_example/patients/{patient['id']}/notes"
    chart = await portal.get(f"/portal/patients/{patient['id']}")
    assert f'href="{page_url}"' in chart.text
    assert ">Notes</a>" not in (await portal.get("/portal/patients")).text  # not a sidebar entry

    page = await portal.get(page_url)
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "Welcome to the notes" in page.text
    before = await client.get(
        "/api/v1/partner_example/notes", params={"patient_id": patient["id"]}, headers=org.headers
    )
    for note in before.json()["notes"]:  # the plugin writes one itself when a patient is registered
        assert note["body"] in page.text

    empty = await submit(portal, page_url, page_url, {"body": ""})
    assert empty.status_code == 422
    assert re.search(r'<p class="error" id="e-body">[^<]+</p>', empty.text), empty.text

    added = await submit(portal, page_url, page_url, {"body": "Prefers morning calls"}, follow_redirects=False)
    assert added.status_code == 303
    assert "Prefers morning calls" in (await portal.get(page_url)).text
    stored = await client.get(
        "/api/v1/partner_example/notes", params={"patient_id": patient["id"]}, headers=org.headers
    )
    assert [n["body"] for n in stored.json()["notes"]] == [n["body"] for n in before.json()["notes"]] + [
        "Prefers morning calls"
    ]


async def test_the_partner_page_is_404_where_the_module_is_off_or_the_patient_is_foreign(
    client: AsyncTestClient[Any], org: Org, other_org: Org, portal: AsyncTestClient[Any]
) -> None:
    await enable_module(client, other_org, "partner_example")
    theirs = await create_patient(client, other_org)
    mine = await create_patient(client, org)
    await _open(portal, org)
    off = await portal.get(f"/portal/partner_example/patients/{mine['id']}/notes")
    assert off.status_code == 404
    assert "partner_example" not in (await portal.get(f"/portal/patients/{mine['id']}")).text
    await enable_module(client, org, "partner_example")
    foreign = await portal.get(f"/portal/partner_example/patients/{theirs['id']}/notes")
    random = await portal.get(f"/portal/partner_example/patients/{uuid.uuid4()}/notes")
    assert foreign.status_code == random.status_code == 404
    assert theirs["family_name"] not in foreign.text
