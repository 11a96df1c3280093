"""The insurance module's portal pages over HTTP: the prior-authorization queue and an authorization's page."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from core.testing.fixtures import Org, enable_module
from core.testing.portal import csrf_of, portal_login, submit
from tests.insurance.conftest import NPI, new_coverage
from tests.insurance.test_authorization_api import act, approval, new_authorization, read

QUEUE = "/portal/insurance/prior-auths"


def rows(page: str) -> list[tuple[str, str]]:
    """``(authorization id, row html)`` in the order the queue shows them."""
    return re.findall(r'<tr data-authorization="([0-9a-f-]+)">(.*?)</tr>', page, re.S)


@pytest.fixture
async def insured(client: AsyncTestClient[Any], org: Org) -> Org:
    await enable_module(client, org, "insurance", {"provider_npi": NPI, "provider_name": "Riverside Clinic"})
    return org


async def logged_in(portal: AsyncTestClient[Any], org: Org) -> AsyncTestClient[Any]:
    assert (await portal_login(portal, org.slug, org.email, org.password)).status_code == 303
    return portal


async def test_the_queue_lists_what_needs_action_nearest_payer_deadline_first(
    client: AsyncTestClient[Any], portal: AsyncTestClient[Any], insured: Org, owner_db: Any
) -> None:
    coverage = await new_coverage(client, insured)
    draft = await new_authorization(client, insured, coverage)
    waiting = await new_authorization(client, insured, coverage)
    near = await new_authorization(client, insured, coverage)
    late = await new_authorization(client, insured, coverage, urgency="expedited")
    denied = await new_authorization(client, insured, coverage)
    approved = await new_authorization(client, insured, coverage)
    for authorization in (waiting, near, late, denied, approved):
        assert (await act(client, insured, authorization["id"], "submit")).status_code == 200
    await owner_db.execute(
        "update prior_authorizations set submitted_at = now() - interval '6 days', "
        "decision_due_at = now() + interval '20 hours' where id = $1",
        uuid.UUID(near["id"]),
    )
    await owner_db.execute(
        "update prior_authorizations set decision_due_at = now() - interval '1 hour' where id = $1",
        uuid.UUID(late["id"]),
    )
    no = {"lines": [{"line": 1, "decision": "not_certified"}, {"line": 2, "decision": "not_certified"}]}
    assert (await act(client, insured, denied["id"], "decision", no)).status_code == 200
    yes = approval({"line": 1, "decision": "certified"}, {"line": 2, "decision": "certified"})
    assert (await act(client, insured, approved["id"], "decision", yes)).status_code == 200

    await logged_in(portal, insured)
    page = await portal.get(QUEUE)
    assert page.status_code == 200, page.text
    assert "text/html" in page.headers["content-type"]
    shown = rows(page.text)
    order = [authorization_id for authorization_id, _ in shown]
    assert order == [late["id"], near["id"], waiting["id"], denied["id"], draft["id"]]  # approved: done
    html = dict(shown)
    assert '<span class="badge bad">Overdue</span>' in html[late["id"]]
    assert "overdue by" in html[late["id"]]
    assert "Expedited" in html[late["id"]]
    assert '<span class="badge warn">Due soon</span>' in html[near["id"]]
    assert "badge" not in html[waiting["id"]]
    assert "Waiting for the payer" in html[waiting["id"]]
    assert "Denied: open an appeal" in html[denied["id"]]
    assert "Appeal filing deadline" in html[denied["id"]]
    assert "No deadline yet" in html[draft["id"]]
    assert f'href="/portal/patients/{coverage["patient_id"]}">Ada Lovelace</a>' in html[draft["id"]]
    assert coverage["payer"]["name"] in html[draft["id"]]
    assert f'href="/portal/insurance/prior-auths/{draft["id"]}"' in html[draft["id"]]
    assert '<a href="/portal/insurance/prior-auths" aria-current="page">Prior authorizations</a>' in page.text
    assert " style=" not in page.text


async def test_an_authorization_page_submits_records_the_decision_and_opens_an_appeal(
    client: AsyncTestClient[Any], portal: AsyncTestClient[Any], insured: Org
) -> None:
    created = await new_authorization(client, insured)
    aid = created["id"]
    url = f"/portal/insurance/prior-auths/{aid}"
    await logged_in(portal, insured)
    page = await portal.get(url)
    assert page.status_code == 200
    assert f'action="{url}/submit"' in page.text
    assert f'action="{url}/decision"' not in page.text  # nothing to decide on a draft
    assert "Status history" in page.text

    submitted = await submit(portal, url, f"{url}/submit", {}, follow_redirects=False)
    assert submitted.status_code == 303
    assert submitted.headers["location"] == f"{url}?done=submitted"
    assert (await read(client, insured, aid))["status"] == "submitted"
    page = await portal.get(submitted.headers["location"])
    assert "Submitted to the payer" in page.text
    assert "Payer decision due" in page.text
    assert f'action="{url}/submit"' not in page.text

    no_number = await submit(portal, url, f"{url}/decision", {"decision_1": "certified", "decision_2": "certified"})
    assert no_number.status_code == 422
    assert re.search(r'<p class="error" id="e-authorization_number">an approval has a number</p>', no_number.text)
    denial = await submit(
        portal, url, f"{url}/decision", {"decision_1": "not_certified", "decision_2": "not_certified"},
        follow_redirects=False,
    )  # fmt: skip
    assert denial.status_code == 303, denial.text
    shown = await read(client, insured, aid)
    assert (shown["status"], shown["decision"]) == ("decided", "not_certified")

    page = await portal.get(url)
    assert "Denied" in page.text
    appeal = await submit(portal, url, f"{url}/appeal", {"urgency": "standard", "arguments": ""})
    assert appeal.status_code == 200  # followed to the page
    assert "An appeal was opened" in appeal.text
    appeals = await client.get("/api/v1/insurance/appeals", headers=insured.headers, params={"authorization_id": aid})
    (opened,) = appeals.json()
    assert opened["status"] == "draft"
    queue = await portal.get(QUEUE)
    assert "Denied: file the appeal" in dict(rows(queue.text))[aid]
    no_arguments = await submit(portal, url, f"{url}/appeal/file", {"arguments": ""})
    assert no_arguments.status_code in (409, 422)
    filed = await submit(portal, url, f"{url}/appeal/file", {"arguments": "The MRI is needed after 8 weeks of pain."})
    assert filed.status_code == 200
    assert "The appeal was filed." in filed.text
    assert "Appeal submitted" in dict(rows((await portal.get(QUEUE)).text))[aid]


async def test_the_queue_answers_404_without_the_module_and_for_another_organization(
    client: AsyncTestClient[Any], make_portal: Any, insured: Org, other_org: Org
) -> None:
    theirs = await new_authorization(client, insured)
    other = await logged_in(make_portal(), other_org)
    assert (await other.get(QUEUE)).status_code == 404
    assert "Prior authorizations" not in (await other.get("/portal/mfa")).text
    await enable_module(client, other_org, "insurance")
    page = await other.get(QUEUE)
    assert page.status_code == 200
    assert theirs["id"] not in page.text
    assert (await other.get(f"{QUEUE}/{theirs['id']}")).status_code == 404
    for action in ("submit", "cancel", "decision", "appeal"):
        answer = await other.post(
            f"{QUEUE}/{theirs['id']}/{action}",
            data={"cancel_reason": "x", "decision_1": "certified", "_csrf_token": csrf_of(page.text)},
        )
        assert answer.status_code == 404, action
    assert (await read(client, insured, theirs["id"]))["status"] == "draft"
