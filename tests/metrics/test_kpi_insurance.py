"""The insurance KPIs: facts from the transition logs, bucketed in the organization's zone, through the API.

One organization in Chicago with a hand-made March 2026: four prior authorizations decided (one of
them resubmitted after the payer sent it back, one decided late on March 31 local time, which is
April 1 in UTC), four claims first adjudicated (one paid again after an overturned appeal) and three
appeals decided.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.testing.fixtures import add_user, enable_module
from plugins.insurance.authorizations.deadlines import Urgency, decision_due
from plugins.insurance.metrics import (
    APPEAL_OVERTURN_FACTS,
    CLAIM_DENIAL_FACTS,
    PRIOR_AUTH_TURNAROUND_FACTS,
    PRIOR_AUTH_WITHIN_DEADLINE_FACTS,
)
from tests.insurance.conftest import INSURANCE, new_coverage
from tests.insurance.test_authorization_api import act, approval, body_for
from tests.insurance.test_claims_api import CLAIMS, DENIAL, PAYMENT, move, new_claim
from tests.metrics.kpi_support import (
    CHICAGO,
    local_window,
    metric,
    points,
    practitioner,
    run_facts,
    series_of,
    user_id,
    utc,
)

AUTHORIZATIONS = f"{INSURANCE}/prior-authorizations"
APPEALS = f"{INSURANCE}/appeals"
MARCH = local_window(date(2026, 3, 1), date(2026, 4, 1))
_slots = itertools.count()


def _slot() -> datetime:
    return datetime(2031, 2, 3, tzinfo=UTC) + timedelta(hours=next(_slots))


async def _appointment(client: Any, org: Any, patient_id: str, practitioner_id: str) -> str:
    start = _slot()
    response = await client.post(
        "/api/v1/appointments",
        headers=org.headers,
        json={
            "patient_id": patient_id,
            "practitioner_id": practitioner_id,
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=30)).isoformat(),
            "time_zone": CHICAGO,
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _decided_authorization(
    client: Any,
    org: Any,
    owner_db: Any,
    *,
    urgency: Urgency,
    submitted: datetime,
    decided: datetime,
    coordinator: uuid.UUID | None = None,
    practitioner_id: str | None = None,
) -> str:
    """Created, submitted and decided over HTTP; the submission and the decision then dated."""
    coverage = await new_coverage(client, org)
    extra: dict[str, Any] = {"urgency": urgency, "lines": [{"code": "72148"}]}
    if coordinator is not None:
        extra["coordinator_id"] = str(coordinator)
    if practitioner_id is not None:
        extra["appointment_id"] = await _appointment(client, org, coverage["patient_id"], practitioner_id)
    response = await client.post(AUTHORIZATIONS, headers=org.headers, json=body_for(coverage, **extra))
    assert response.status_code == 201, response.text
    aid = str(response.json()["id"])
    assert (await act(client, org, aid, "submit")).status_code == 200
    done = await act(client, org, aid, "decision", approval({"line": 1, "decision": "certified"}))
    assert done.status_code == 200, done.text
    key = uuid.UUID(aid)
    for status, at in (("submitted", submitted), ("decided", decided)):
        await owner_db.execute(
            "update prior_authorization_transitions set occurred_at = $3 where authorization_id = $1 "
            "and to_status = $2",
            key,
            status,
            at,
        )
    await owner_db.execute(
        "update prior_authorizations set submitted_at = $2, decision_due_at = $3, decided_at = $4 where id = $1",
        key,
        submitted,
        decision_due(submitted, urgency, ZoneInfo(CHICAGO)),
        decided,
    )
    return aid


async def _date_claim(owner_db: Any, claim_id: str, status: str, at: datetime) -> None:
    done = await owner_db.execute(
        "update claim_transitions set occurred_at = $3 where claim_id = $1 and to_status = $2",
        uuid.UUID(claim_id),
        status,
        at,
    )
    assert done == "UPDATE 1"


async def _decided_appeal(client: Any, org: Any, owner_db: Any, claim_id: str, outcome: str, at: datetime) -> str:
    created = await client.post(APPEALS, headers=org.headers, json={"claim_id": claim_id})
    assert created.status_code == 201, created.text
    aid = str(created.json()["id"])
    url = f"{APPEALS}/{aid}/transitions"
    filed = await client.post(url, headers=org.headers, json={"to": "submitted", "arguments": "Medically necessary"})
    assert filed.status_code == 200, filed.text
    decided = await client.post(url, headers=org.headers, json={"to": "decided", "outcome": outcome})
    assert decided.status_code == 200, decided.text
    await owner_db.execute(
        "update appeal_transitions set occurred_at = $2 where appeal_id = $1 and to_status = 'decided'",
        uuid.UUID(aid),
        at,
    )
    await owner_db.execute("update appeals set decided_at = $2 where id = $1", uuid.UUID(aid), at)
    return aid


@pytest.fixture
async def history(client: Any, org: Any, owner_db: Any) -> dict[str, Any]:
    """The March 2026 of a Chicago clinic (see the module docstring); ids and people by name."""
    await enable_module(client, org, "insurance", {"provider_npi": "1234567893", "provider_name": "Riverside"})
    await enable_module(client, org, "metrics")
    zone = await client.patch("/api/v1/tenant", headers=org.headers, json={"time_zone": CHICAGO})
    assert zone.status_code == 200, zone.text
    other_headers = await add_user(client, org, "coordinator")
    other = await user_id(client, other_headers)
    house = await practitioner(client, org)

    # A: expedited, 30 h, on time (due 72 h after), for an appointment with Dr House.
    a = await _decided_authorization(
        client,
        org,
        owner_db,
        urgency="expedited",
        submitted=utc("2026-03-02T10:00"),
        decided=utc("2026-03-03T16:00"),
        practitioner_id=house,
    )
    # B: standard, submitted 09:00 CST on March 2, due 09:00 CDT on March 9 (14:00 UTC: the clocks
    # changed on March 8), decided a day later: 192 h, late.
    await _decided_authorization(
        client, org, owner_db, urgency="standard", submitted=utc("2026-03-02T15:00"), decided=utc("2026-03-10T15:00")
    )
    # C: sent back by the payer on March 1 and submitted again on March 4: 6 h from the second round.
    c = await _decided_authorization(
        client,
        org,
        owner_db,
        urgency="expedited",
        submitted=utc("2026-03-04T12:00"),
        decided=utc("2026-03-04T18:00"),
        coordinator=other,
    )
    for from_status, to_status, at in (
        ("draft", "submitted", "2026-03-01T00:00"),
        ("submitted", "draft", "2026-03-01T01:00"),
    ):
        await owner_db.execute(
            "insert into prior_authorization_transitions (tenant_id, authorization_id, from_status, to_status, "
            "actor_type, occurred_at) values ($1, $2, $3, $4, 'system', $5)",
            org.tenant_id,
            uuid.UUID(c),
            from_status,
            to_status,
            utc(at),
        )
    # D: decided 22:30 on March 31 in Chicago (03:30 UTC on April 1), 26 h after it was submitted.
    await _decided_authorization(
        client,
        org,
        owner_db,
        urgency="expedited",
        submitted=utc("2026-03-31T01:30"),
        decided=utc("2026-04-01T03:30"),
        coordinator=other,
    )
    # Not counted in March: one decided in February, one submitted and cancelled, one still waiting.
    await _decided_authorization(
        client, org, owner_db, urgency="expedited", submitted=utc("2026-02-20T10:00"), decided=utc("2026-02-21T10:00")
    )
    for cancel in (True, False):
        coverage = await new_coverage(client, org)
        response = await client.post(AUTHORIZATIONS, headers=org.headers, json=body_for(coverage))
        assert response.status_code == 201, response.text
        assert (await act(client, org, response.json()["id"], "submit")).status_code == 200
        if cancel:
            assert (
                await act(client, org, response.json()["id"], "cancel", {"reason": "not needed"})
            ).status_code == 200

    # Claims: K1 denied March 5 (appealed, overturned, then paid March 20: still one denial), K2 paid
    # March 6, K5 paid March 7 less than billed, K3 (recorded by the other coordinator) denied 21:00 on
    # March 31 in Chicago, K4 denied in February.
    coverage = await new_coverage(client, org)
    k1_appointment = await _appointment(client, org, coverage["patient_id"], house)
    k1 = (await new_claim(client, org, coverage=coverage, appointment_id=k1_appointment))["id"]
    k2, k4, k5 = [(await new_claim(client, org))["id"] for _ in range(3)]
    other_coverage = await new_coverage(client, org)
    response = await client.post(
        CLAIMS,
        headers=other_headers,
        json={
            "patient_id": other_coverage["patient_id"],
            "coverage_id": other_coverage["id"],
            "service_from": "2026-02-02",
            "billed_amount": "100.00",
        },
    )
    assert response.status_code == 201, response.text
    k3 = response.json()["id"]
    for claim, outcome in ((k1, "denied"), (k2, "paid"), (k3, "denied"), (k4, "denied"), (k5, "paid")):
        assert (await move(client, org, claim, "accepted")).status_code == 200
        extra = DENIAL if outcome == "denied" else PAYMENT
        assert (await move(client, org, claim, outcome, **extra)).status_code == 200
    await _date_claim(owner_db, k1, "denied", utc("2026-03-05T15:00"))
    await _date_claim(owner_db, k2, "paid", utc("2026-03-06T15:00"))
    await _date_claim(owner_db, k5, "paid", utc("2026-03-07T15:00"))
    await _date_claim(owner_db, k3, "denied", utc("2026-04-01T02:00"))
    await _date_claim(owner_db, k4, "denied", utc("2026-02-27T15:00"))

    # Appeals: K1's overturned (March 15), K3's upheld (March 16), K5's partially overturned (March 17).
    await _decided_appeal(client, org, owner_db, k1, "overturned", utc("2026-03-15T15:00"))
    await _decided_appeal(client, org, owner_db, k3, "upheld", utc("2026-03-16T15:00"))
    await _decided_appeal(client, org, owner_db, k5, "partially_overturned", utc("2026-03-17T15:00"))
    repaid = await move(client, org, k1, "paid", **PAYMENT)
    assert repaid.status_code == 200, repaid.text
    await _date_claim(owner_db, k1, "paid", utc("2026-03-20T15:00"))
    return {"owner": org.owner_id, "other": other, "house": house, "a": a, "k1": k1, "k3": k3}


def _rounded(rows: list[dict[str, Any]]) -> list[tuple[datetime, float]]:
    return [(r["at"], round(r["value"], 2)) for r in rows]


async def test_prior_authorization_facts_come_from_the_transition_log(
    client: Any, org: Any, app_loop: Any, history: dict[str, Any]
) -> None:
    turnaround = await run_facts(app_loop, org, PRIOR_AUTH_TURNAROUND_FACTS, *MARCH)
    assert _rounded(turnaround) == [
        (utc("2026-03-03T16:00"), 30.0),
        (utc("2026-03-04T18:00"), 6.0),  # from the second round, not from the first submission
        (utc("2026-03-10T15:00"), 192.0),
        (utc("2026-04-01T03:30"), 26.0),
    ]
    assert [r["coordinator_id"] for r in turnaround] == [
        history["owner"],
        history["other"],
        history["owner"],
        history["other"],
    ]
    assert [str(r["provider_id"]) if r["provider_id"] else None for r in turnaround] == [
        history["house"],
        None,
        None,
        None,
    ]
    assert {r["until"] for r in turnaround} == {None}
    on_time = await run_facts(app_loop, org, PRIOR_AUTH_WITHIN_DEADLINE_FACTS, *MARCH)
    assert [r["value"] for r in on_time] == [1.0, 1.0, 0.0, 1.0]
    assert (
        await run_facts(app_loop, org, PRIOR_AUTH_TURNAROUND_FACTS, *local_window(date(2026, 1, 1), date(2026, 2, 1)))
        == []
    )


async def test_prior_authorization_metrics_per_month_coordinator_and_provider(
    client: Any, org: Any, history: dict[str, Any]
) -> None:
    march = {"first": "2026-01-01", "last": "2026-04-30", "period": "month"}
    body = await series_of(client, org, "prior_auth_turnaround_hours", **march)
    assert body["time_zone"] == CHICAGO  # the organization's
    assert (body["unit"], body["better"], body["target"]) == ("h", "lower", None)
    assert points(body) == {
        "2026-01-01": (None, 0),  # an empty month has no median
        "2026-02-01": (24.0, 1),
        "2026-03-01": (28.0, 4),  # median of 6, 26, 30, 192
        "2026-04-01": (None, 0),
    }
    in_utc = await series_of(client, org, "prior_auth_turnaround_hours", time_zone="UTC", **march)
    assert points(in_utc)["2026-03-01"] == (30.0, 3)  # D's decision is on April 1 in UTC
    assert points(in_utc)["2026-04-01"] == (26.0, 1)

    deadline = await series_of(client, org, "prior_auth_within_deadline_pct", **march)
    assert (deadline["target"], deadline["better"]) == (95.0, "higher")
    assert points(deadline)["2026-03-01"] == (75.0, 4)
    assert points(deadline)["2026-01-01"] == (None, 0)
    days = await series_of(
        client, org, "prior_auth_within_deadline_pct", first="2026-03-30", last="2026-04-01", period="day"
    )
    assert points(days) == {"2026-03-30": (None, 0), "2026-03-31": (100.0, 1), "2026-04-01": (None, 0)}

    by_coordinator = await series_of(
        client,
        org,
        "prior_auth_turnaround_hours",
        first="2026-03-01",
        last="2026-03-31",
        period="month",
        by="coordinator",
    )
    assert points(by_coordinator, str(history["owner"]))["2026-03-01"] == (111.0, 2)  # median of 30 and 192
    assert points(by_coordinator, str(history["other"]))["2026-03-01"] == (16.0, 2)  # of 6 and 26
    by_provider = await series_of(
        client,
        org,
        "prior_auth_within_deadline_pct",
        first="2026-03-01",
        last="2026-03-31",
        period="month",
        by="provider",
    )
    house = [s for s in by_provider["series"] if s["dimension"]["id"] == history["house"]]
    assert house[0]["dimension"]["label"] == "Gregory House"
    assert points(by_provider, history["house"])["2026-03-01"] == (100.0, 1)
    assert points(by_provider, None)["2026-03-01"] == (66.67, 3)  # without an appointment's practitioner


async def test_claim_denial_and_appeal_overturn_rates_match_the_claim_summary(
    client: Any, org: Any, app_loop: Any, history: dict[str, Any]
) -> None:
    denials = await run_facts(app_loop, org, CLAIM_DENIAL_FACTS, *MARCH)
    assert _rounded(denials) == [
        (utc("2026-03-05T15:00"), 1.0),  # K1's first adjudication; its payment on March 20 is not counted
        (utc("2026-03-06T15:00"), 0.0),
        (utc("2026-03-07T15:00"), 0.0),
        (utc("2026-04-01T02:00"), 1.0),
    ]
    assert denials[-1]["coordinator_id"] == history["other"]  # who recorded K3
    assert str(denials[0]["provider_id"]) == history["house"]
    appeals = await run_facts(app_loop, org, APPEAL_OVERTURN_FACTS, *MARCH)
    assert [r["value"] for r in appeals] == [1.0, 0.0, 1.0]
    assert str(appeals[0]["provider_id"]) == history["house"]  # through K1's appointment

    month = {"first": "2026-03-01", "last": "2026-03-31", "period": "month"}
    denial = await series_of(client, org, "claim_denial_rate_pct", **month)
    assert denial["total"] == {"value": 50.0, "count": 4}
    overturn = await series_of(client, org, "appeal_overturn_rate_pct", **month)
    assert round(overturn["total"]["value"], 2) == 66.67
    summary = await client.get(
        f"{CLAIMS}/summary", headers=org.headers, params={"from": "2026-03-01", "to": "2026-03-31"}
    )
    assert summary.status_code == 200, summary.text
    assert summary.json()["denial_rate"] * 100 == denial["total"]["value"]
    assert round(summary.json()["appeals"]["overturn_rate"] * 100, 2) == round(overturn["total"]["value"], 2)

    in_utc = await series_of(
        client, org, "claim_denial_rate_pct", time_zone="UTC", first="2026-03-01", last="2026-04-30", period="month"
    )
    assert points(in_utc) == {"2026-03-01": (33.33, 3), "2026-04-01": (100.0, 1)}
    by_coordinator = await series_of(client, org, "claim_denial_rate_pct", by="coordinator", **month)
    assert points(by_coordinator, str(history["other"]))["2026-03-01"] == (100.0, 1)
    assert points(by_coordinator, str(history["owner"]))["2026-03-01"] == (33.33, 3)


async def test_the_insurance_metrics_are_listed_only_with_the_module(client: Any, org: Any, other_org: Any) -> None:
    await enable_module(client, other_org, "metrics")
    listed = (await client.get("/api/v1/metrics", headers=other_org.headers)).json()["items"]
    assert not [m for m in listed if m["module"] == "insurance"]
    assert (await metric(client, other_org, "claim_denial_rate_pct")).status_code == 404
    await enable_module(client, other_org, "insurance")
    listed = (await client.get("/api/v1/metrics", headers=other_org.headers)).json()["items"]
    mine = {m["name"]: m for m in listed if m["module"] == "insurance"}
    assert sorted(mine) == [
        "appeal_overturn_rate_pct",
        "claim_denial_rate_pct",
        "prior_auth_turnaround_hours",
        "prior_auth_within_deadline_pct",
    ]
    assert {m["category"] for m in mine.values()} == {"Insurance"}
    assert mine["prior_auth_turnaround_hours"]["aggregate"] == "median"
    assert mine["claim_denial_rate_pct"]["better"] == "lower"
    assert mine["claim_denial_rate_pct"]["dimensions"] == ["coordinator", "team", "provider"]
