"""Report subscriptions: who may subscribe whom, validation as problem bodies, other organizations' ids."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import Org, add_user, enable_module
from tests.metrics.test_reports_email import MONTHLY, SUBSCRIPTIONS, WEEKLY, subscribe, user_id


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = dict(response.json())
    assert body["status"] == status
    return body


@pytest.fixture
async def kpis(client: Any, org: Org) -> Org:
    await enable_module(client, org, "metrics")
    return org


async def test_a_user_subscribes_and_unsubscribes_themselves(
    client: Any, kpis: Org, owner_db: asyncpg.Connection
) -> None:
    coordinator = await add_user(client, kpis, "coordinator")
    me = await user_id(client, coordinator)
    created = await subscribe(client, coordinator, WEEKLY, format="xlsx")
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["user_id"], body["report"], body["format"], body["created_by"]) == (me, WEEKLY, "xlsx", me)
    assert (await subscribe(client, coordinator, MONTHLY)).json()["format"] == "pdf"  # the default format

    listed = (await client.get(SUBSCRIPTIONS, headers=coordinator)).json()["items"]
    assert [(s["report"], s["format"]) for s in listed] == [(WEEKLY, "xlsx"), (MONTHLY, "pdf")]

    again = assert_problem(await subscribe(client, coordinator, WEEKLY, format="csv"), 409)
    assert again["subscription_id"] == body["id"]

    assert (await client.delete(f"{SUBSCRIPTIONS}/{body['id']}", headers=coordinator)).status_code == 204
    assert_problem(await client.delete(f"{SUBSCRIPTIONS}/{body['id']}", headers=coordinator), 404)
    assert [s["report"] for s in (await client.get(SUBSCRIPTIONS, headers=coordinator)).json()["items"]] == [MONTHLY]
    actions = await owner_db.fetch(
        "select action, resource_id from audit_events where tenant_id = $1 and resource_type = $2 order by seq",
        kpis.tenant_id,
        "metric_report_subscription",
    )
    assert [a["action"].rsplit(".", 1)[1] for a in actions] == ["create", "create", "delete"]


async def test_only_owners_and_admins_subscribe_or_see_someone_else(client: Any, kpis: Org) -> None:
    coordinator = await add_user(client, kpis, "coordinator")
    other = await add_user(client, kpis, "coordinator")
    coordinator_id, other_id = await user_id(client, coordinator), await user_id(client, other)

    refused = assert_problem(await subscribe(client, coordinator, WEEKLY, user_id=other_id), 403)
    assert refused["errors"][0]["key"] == "user_id"
    by_owner = await subscribe(client, kpis.headers, WEEKLY, user_id=other_id)
    assert by_owner.status_code == 201, by_owner.text
    assert by_owner.json()["created_by"] == str(kpis.owner_id)
    own = await subscribe(client, coordinator, WEEKLY)
    assert own.status_code == 201

    # The owner sees everyone's; a coordinator only their own, and cannot remove another's (404: not theirs).
    everyone = {s["user_id"] for s in (await client.get(SUBSCRIPTIONS, headers=kpis.headers)).json()["items"]}
    assert everyone == {coordinator_id, other_id}
    mine = (await client.get(SUBSCRIPTIONS, headers=coordinator)).json()["items"]
    assert [s["user_id"] for s in mine] == [coordinator_id]
    assert_problem(await client.delete(f"{SUBSCRIPTIONS}/{by_owner.json()['id']}", headers=coordinator), 404)
    assert (await client.delete(f"{SUBSCRIPTIONS}/{own.json()['id']}", headers=kpis.headers)).status_code == 204


async def test_invalid_subscriptions_are_4xx_problems(client: Any, kpis: Org, other_org: Org) -> None:
    clinician = await add_user(client, kpis, "clinician")
    viewer = await add_user(client, kpis, "viewer")
    disabled = await add_user(client, kpis, "coordinator")
    disabled_id = await user_id(client, disabled)
    patched = await client.patch(f"/api/v1/users/{disabled_id}", headers=kpis.headers, json={"status": "disabled"})
    assert patched.status_code == 200, patched.text

    assert_problem(await subscribe(client, kpis.headers, "metrics.nonsense"), 400)
    assert_problem(await subscribe(client, kpis.headers, "appointment_list"), 400)  # not a scheduled report
    assert_problem(await subscribe(client, kpis.headers, WEEKLY, format="docx"), 400)
    assert_problem(await subscribe(client, kpis.headers, WEEKLY, user_id="not-a-uuid"), 400)
    assert_problem(await subscribe(client, kpis.headers, WEEKLY, every="day"), 400)
    missing = await client.post(SUBSCRIPTIONS, headers=kpis.headers, json={"format": "pdf"})
    assert_problem(missing, 400)

    # Someone who could not read the report, or is disabled, or belongs to another organization.
    for target, reason in (
        (await user_id(client, clinician), "may not read"),
        (disabled_id, "disabled"),
        (str(other_org.owner_id), "no such user"),
    ):
        body = assert_problem(await subscribe(client, kpis.headers, WEEKLY, user_id=target), 400)
        assert body["errors"][0]["key"] == "user_id"
        assert reason in body["errors"][0]["message"]
    assert_problem(await subscribe(client, viewer, WEEKLY), 403)  # no reports:run
    assert (await client.get(SUBSCRIPTIONS, headers=kpis.headers)).json()["items"] == []


async def test_another_organizations_subscription_is_404(client: Any, kpis: Org, other_org: Org) -> None:
    await enable_module(client, other_org, "metrics")
    theirs = await subscribe(client, other_org.headers, WEEKLY)
    assert theirs.status_code == 201
    assert_problem(await client.delete(f"{SUBSCRIPTIONS}/{theirs.json()['id']}", headers=kpis.headers), 404)
    assert (await client.get(SUBSCRIPTIONS, headers=kpis.headers)).json()["items"] == []
    assert len((await client.get(SUBSCRIPTIONS, headers=other_org.headers)).json()["items"]) == 1


async def test_without_the_module_the_routes_do_not_exist(client: Any, org: Org) -> None:
    assert_problem(await client.get(SUBSCRIPTIONS, headers=org.headers), 404)
    assert_problem(await subscribe(client, org.headers, WEEKLY), 404)


async def test_email_to_on_a_report_run_names_allowed_users_only(client: Any, kpis: Org, other_org: Org) -> None:
    clinician = await add_user(client, kpis, "clinician")
    runs = "/api/v1/reports/appointment_list/runs"
    mine = await client.post(runs, headers=kpis.headers, json={"format": "csv", "email_to": "me"})
    assert mine.status_code == 202, mine.text
    assert mine.json()["email_to"] == [str(kpis.owner_id)]
    for bad, reason in (
        ([await user_id(client, clinician)], "may not read"),
        ([str(other_org.owner_id)], "no such user"),
    ):
        body = assert_problem(await client.post(runs, headers=kpis.headers, json={"email_to": bad}), 400)
        assert body["errors"] == [{"key": "email_to[0]", "message": body["errors"][0]["message"]}]
        assert reason in body["errors"][0]["message"]
    assert_problem(await client.post(runs, headers=kpis.headers, json={"email_to": "everyone"}), 400)
    assert_problem(await client.post(runs, headers=kpis.headers, json={"email_to": ["x"] * 51}), 400)
