"""Patient satisfaction surveys: sent after a fulfilled appointment by e-mail to a real SMTP server, answered
once through the public page, refused when reused, expired or altered; invisible to other organizations;
the CSAT, score, clarity and response-rate metrics match hand-computed values."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from core.db.tenant import tenant_transaction
from core.jobs.context import system_principal
from core.plugins.context import PluginContext
from core.testing.fixtures import Org, create_patient, enable_module, run_queued_jobs
from plugins.metrics.settings import MetricsSettings, SurveySettings
from plugins.metrics.surveys import service
from tests.notifications.conftest import SmtpServer
from tests.notifications.conftest import smtp_server as smtp_server  # the fixture, re-exported for pytest
from tests.notifications.helpers import configure_email

SURVEYS = "/api/v1/metrics/surveys"
LINK = re.compile(r"https?://[^\s/]+(/s/([A-Za-z0-9_-]{43}))")
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
PAST_START = datetime(2025, 2, 3, 15, 0, tzinfo=UTC)
"""Appointments in the far past: nothing depends on the time of day the tests run."""


async def _enable(client: Any, org: Org, **surveys: Any) -> None:
    settings = {"delay_hours": 0, "channels": ["email"], **surveys}
    await enable_module(client, org, "metrics", {"surveys": settings})


async def _patient(client: Any, org: Org, *, consent: bool = True) -> dict[str, Any]:
    patient = await create_patient(client, org, email="ada@example.net")
    if consent:
        response = await client.post(
            f"/api/v1/patients/{patient['id']}/consents",
            headers=org.headers,
            json={"kind": "channel", "channel": "email"},
        )
        assert response.status_code == 201, response.text
    return patient


async def _fulfil(client: Any, org: Org, patient_id: str, start: datetime = PAST_START) -> dict[str, Any]:
    body = {
        "patient_id": patient_id,
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=30)).isoformat(),
        "time_zone": "UTC",
    }
    response = await client.post("/api/v1/appointments", headers=org.headers, json=body)
    assert response.status_code == 201, response.text
    appointment = dict(response.json())
    for status in ("arrived", "fulfilled"):
        moved = await client.post(
            f"/api/v1/appointments/{appointment['id']}/transition", headers=org.headers, json={"status": status}
        )
        assert moved.status_code == 200, moved.text
    return appointment


async def _surveys(owner_db: Any, org: Org) -> list[dict[str, Any]]:
    rows = await owner_db.fetch(
        "select * from metric_surveys where tenant_id = $1 order by created_at, id", org.tenant_id
    )
    return [dict(r) for r in rows]


async def _link_of(owner_db: Any, survey: dict[str, Any]) -> str:
    """The path of the survey's link, from the message core was asked to send (tests read it as the owner)."""
    context = await owner_db.fetchval(
        "select context::text from notifications where id = $1", survey["notification_id"]
    )
    found = LINK.search(context)
    assert found is not None, context
    return found.group(1)


def _mail_text(mail: Any) -> str:
    body = mail.get_payload(decode=True) if not mail.is_multipart() else mail.get_body().get_content()
    return body.decode() if isinstance(body, bytes) else str(body)


async def _audits(owner_db: Any, org: Org, action: str) -> list[dict[str, Any]]:
    rows = await owner_db.fetch(
        "select actor_type, actor_id, resource_id, details::text as details from audit_events "
        "where tenant_id = $1 and action = $2 order by seq",
        org.tenant_id,
        action,
    )
    return [dict(r) for r in rows]


async def test_fulfilled_appointment_sends_a_survey_by_email_answered_once_on_the_public_page(
    client: Any, org: Org, owner_db: Any, app_loop: Any, smtp_server: SmtpServer
) -> None:
    await _enable(client, org)
    await configure_email(client, org, smtp_server)
    patient = await _patient(client, org)
    appointment = await _fulfil(client, org, patient["id"])

    [survey] = await _surveys(owner_db, org)
    assert (survey["event_type"], survey["event_id"], survey["status"]) == (
        "appointment",
        uuid.UUID(appointment["id"]),
        "scheduled",
    )
    assert survey["channel"] == "email"
    assert survey["sent_at"] is None

    assert await run_queued_jobs(app_loop, owner_db, org, "notifications.send") == ["done"]
    assert len(smtp_server.received) == 1
    mail = smtp_server.received[0].message
    assert "ada@example.net" in mail["To"]
    text = _mail_text(mail)
    found = LINK.search(text)
    assert found is not None, text
    path, token = found.group(1), found.group(2)
    assert "Lovelace" not in path
    assert patient["id"] not in path
    assert str(org.tenant_id) not in path

    [survey] = await _surveys(owner_db, org)
    assert survey["status"] == "sent"
    assert survey["sent_at"] is not None
    assert survey["token_hash"] == hashlib.sha256(token.encode()).digest()
    assert token not in str(survey)  # only the digest is stored

    page = await client.get(path)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "no-store" in page.headers["cache-control"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "<script" not in page.text.lower()
    assert f"Clinic {org.slug}" in page.text
    for phi in ("Ada", "Lovelace", patient["mrn"], "ada@example.net", "1961"):
        assert phi not in page.text
    assert 'name="score"' in page.text
    assert 'name="clarity"' in page.text
    assert 'name="comment"' in page.text

    answered = await client.post(path, headers=FORM_HEADERS, content="score=5&clarity=4&comment=Very+kind+staff")
    assert answered.status_code == 200, answered.text
    assert "Thank you" in answered.text
    assert "no-store" in answered.headers["cache-control"]
    [survey] = await _surveys(owner_db, org)
    assert (survey["status"], survey["score"], survey["clarity"], survey["comment"]) == (
        "answered",
        5,
        4,
        "Very kind staff",
    )

    again = await client.post(path, headers=FORM_HEADERS, content="score=1&clarity=1")
    assert again.status_code == 409
    assert "already been answered" in again.text
    assert (await client.get(path)).status_code == 409
    [survey] = await _surveys(owner_db, org)
    assert (survey["score"], survey["clarity"]) == (5, 4)

    [sent] = await _audits(owner_db, org, "metrics.survey_sent")
    assert sent["actor_type"] == "system"
    assert sent["resource_id"] == survey["id"]
    [answer] = await _audits(owner_db, org, "metrics.survey_answered")
    assert (answer["actor_type"], answer["actor_id"]) == ("patient", uuid.UUID(patient["id"]))
    assert "survey_token" in answer["details"]

    listed = await client.get(SURVEYS, headers=org.headers, params={"answered": "true"})
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert (item["id"], item["score"], item["clarity"], item["status"]) == (str(survey["id"]), 5, 4, "answered")
    one = await client.get(f"{SURVEYS}/{survey['id']}", headers=org.headers)
    assert one.status_code == 200
    assert one.json()["comment"] == "Very kind staff"
    assert await _audits(owner_db, org, "metrics.survey_read")


async def test_invalid_answers_show_the_form_again_and_store_nothing(client: Any, org: Org, owner_db: Any) -> None:
    await _enable(client, org)
    patient = await _patient(client, org)
    await _fulfil(client, org, patient["id"])
    [survey] = await _surveys(owner_db, org)
    path = await _link_of(owner_db, survey)
    for body in ("score=6&clarity=3", "score=3", "score=x&clarity=2", f"score=3&clarity=3&comment={'a' * 1001}", ""):
        response = await client.post(path, headers=FORM_HEADERS, content=body)
        assert response.status_code == 422, (body, response.text)
        assert "Please check your answers" in response.text
        assert "<form" in response.text
    echoed = await client.post(
        path, headers=FORM_HEADERS, content="score=9&clarity=1&comment=%3Cscript%3Ex%3C%2Fscript%3E"
    )
    assert echoed.status_code == 422
    assert "&lt;script&gt;x&lt;/script&gt;" in echoed.text
    assert "<script" not in echoed.text
    as_json = await client.post(path, json={"score": 5, "clarity": 5})
    assert as_json.status_code == 422
    [survey] = await _surveys(owner_db, org)
    assert survey["answered_at"] is None
    assert survey["score"] is None
    ok = await client.post(path, headers=FORM_HEADERS, content=f"score=3&clarity=3&comment={'a' * 1000}")
    assert ok.status_code == 200


async def test_expired_tampered_and_unknown_tokens_are_refused(client: Any, org: Org, owner_db: Any) -> None:
    await _enable(client, org)
    patient = await _patient(client, org)
    await _fulfil(client, org, patient["id"])
    [survey] = await _surveys(owner_db, org)
    path = await _link_of(owner_db, survey)
    token = path.rsplit("/", 1)[1]

    tampered = path[:-1] + ("A" if token[-1] != "A" else "B")
    unknown = "/s/" + "x" * 43
    malformed = "/s/not-a-token"
    pages = []
    for bad in (tampered, unknown, malformed):
        for response in (
            await client.get(bad),
            await client.post(bad, headers=FORM_HEADERS, content="score=5&clarity=5"),
        ):
            assert response.status_code == 404, (bad, response.text)
            assert "no-store" in response.headers["cache-control"]
            pages.append(response.text)
    assert len(set(pages)) == 1  # nothing tells an altered token from an unknown one
    assert f"Clinic {org.slug}" not in pages[0]

    await owner_db.execute(
        "update metric_surveys set expires_at = now() - interval '1 minute' where id = $1", survey["id"]
    )
    expired = await client.post(path, headers=FORM_HEADERS, content="score=5&clarity=5")
    assert expired.status_code == 410
    assert "expired" in expired.text
    assert (await client.get(path)).status_code == 410
    [survey] = await _surveys(owner_db, org)
    assert survey["answered_at"] is None
    assert survey["status"] != "answered"

    # The organization turning the module off makes the link unknown, like any other.
    await owner_db.execute(
        "update metric_surveys set expires_at = now() + interval '1 day' where id = $1", survey["id"]
    )
    assert (await client.get(path)).status_code == 200
    off = await client.put("/api/v1/admin/modules/metrics", headers=org.headers, json={"enabled": False})
    assert off.status_code == 200
    gone = await client.get(path)
    assert gone.status_code == 404
    assert gone.text == pages[0]


async def test_another_organizations_staff_cannot_see_the_survey(
    client: Any, org: Org, other_org: Org, owner_db: Any
) -> None:
    await _enable(client, org)
    await _enable(client, other_org)
    patient = await _patient(client, org)
    await _fulfil(client, org, patient["id"])
    [survey] = await _surveys(owner_db, org)

    own = await client.get(f"{SURVEYS}/{survey['id']}", headers=org.headers)
    assert own.status_code == 200
    theirs = await client.get(f"{SURVEYS}/{survey['id']}", headers=other_org.headers)
    assert theirs.status_code == 404
    assert theirs.headers["content-type"].startswith("application/problem+json")
    unknown = await client.get(f"{SURVEYS}/{uuid.uuid4()}", headers=other_org.headers)
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == theirs.json()["detail"]
    listed = await client.get(SURVEYS, headers=other_org.headers)
    assert listed.status_code == 200
    assert listed.json()["items"] == []
    bad_cursor = await client.get(SURVEYS, headers=org.headers, params={"cursor": "nope"})
    assert bad_cursor.status_code == 400


async def test_one_survey_per_event_and_none_within_min_days_between(client: Any, org: Org, owner_db: Any) -> None:
    await _enable(client, org, min_days_between=30)
    patient = await _patient(client, org)
    first = await _fulfil(client, org, patient["id"])
    second = await _fulfil(client, org, patient["id"], PAST_START + timedelta(days=1))
    rows = await _surveys(owner_db, org)
    assert [(r["event_id"], r["status"]) for r in rows] == [
        (uuid.UUID(first["id"]), "scheduled"),
        (uuid.UUID(second["id"]), "unsent"),
    ]
    assert "less than 30 days" in rows[1]["reason"]
    assert rows[1]["token_hash"] is None
    sends = await owner_db.fetchval(
        "select count(*) from notifications where tenant_id = $1 and requested_by_module = 'metrics'", org.tenant_id
    )
    assert sends == 1

    no_consent = await _patient(client, org, consent=False)
    await _fulfil(client, org, no_consent["id"], PAST_START + timedelta(days=2))
    last = (await _surveys(owner_db, org))[-1]
    assert last["status"] == "unsent"
    assert "email: no active consent" in last["reason"]


async def test_a_closed_referral_is_surveyed_once_with_its_coordinator_and_provider(
    client: Any, org: Org, owner_db: Any, app_loop: Any
) -> None:
    """The referral comes from another module: the hook reads it as a plain object (no import of that module)."""
    await _enable(client, org, after_fulfilled_appointment=False)
    patient = await _patient(client, org)
    referral = SimpleNamespace(
        id=uuid.uuid4(),
        patient_id=uuid.UUID(patient["id"]),
        status="closed",
        coordinator_id=org.owner_id,
        target_practitioner_id=None,
    )
    settings = MetricsSettings(surveys=SurveySettings(delay_hours=6, channels=["email"]))

    async def closed(previous: str) -> None:
        async with tenant_transaction(org.tenant_id) as tx:
            ctx = PluginContext(module="metrics", tx=tx, principal=system_principal(org.tenant_id), settings=settings)
            await service.on_referral_status_changed(ctx, referral, previous)

    await app_loop(closed, "scheduled")
    await app_loop(closed, "closed")  # no transition: nothing
    await app_loop(closed, "scheduled")  # the hook again: still one survey
    await _fulfil(client, org, patient["id"])  # appointments are off for this organization
    [survey] = await _surveys(owner_db, org)
    assert (survey["event_type"], survey["event_id"], survey["coordinator_id"]) == (
        "referral",
        referral.id,
        org.owner_id,
    )
    assert survey["status"] == "scheduled"
    notification = await owner_db.fetchrow(
        "select status, not_before from notifications where id = $1", survey["notification_id"]
    )
    assert notification["status"] == "deferred"  # core's scheduled send: delay_hours later
    assert notification["not_before"] == survey["send_at"]
    assert abs((survey["send_at"] - survey["created_at"]) - timedelta(hours=6)) < timedelta(seconds=5)
    assert survey["expires_at"] - survey["send_at"] == timedelta(days=14)


async def _answered_survey(client: Any, org: Org, owner_db: Any, score: int, clarity: int | None) -> None:
    patient = await _patient(client, org)
    await _fulfil(client, org, patient["id"])
    survey = (await _surveys(owner_db, org))[-1]
    path = await _link_of(owner_db, survey)
    if clarity is not None:
        response = await client.post(path, headers=FORM_HEADERS, content=f"score={score}&clarity={clarity}")
        assert response.status_code == 200, response.text


async def test_metrics_match_hand_computed_csat_score_clarity_and_response_rate(
    client: Any, org: Org, owner_db: Any
) -> None:
    await _enable(client, org, min_days_between=0)
    answers = [(5, 5), (4, 5), (3, 5), (2, 4), (5, 1)]
    for score, clarity in answers:
        await _answered_survey(client, org, owner_db, score, clarity)
    await _answered_survey(client, org, owner_db, 0, None)  # sent, never answered
    # All of them sent and answered on one fixed day in the past (nothing depends on today's date).
    await owner_db.execute(
        "update metric_surveys set sent_at = $2, "
        "answered_at = case when answered_at is null then null else $3::timestamptz end where tenant_id = $1",
        org.tenant_id,
        datetime(2025, 3, 10, 9, 0, tzinfo=UTC),
        datetime(2025, 3, 11, 14, 0, tzinfo=UTC),
    )
    await owner_db.execute(
        "update metric_surveys set coordinator_id = $2 where tenant_id = $1", org.tenant_id, org.owner_id
    )

    async def total(name: str, **params: str) -> dict[str, Any]:
        query = {"from": "2025-03-01", "to": "2025-03-31", "period": "month", "time_zone": "UTC", **params}
        response = await client.get(f"/api/v1/metrics/{name}", headers=org.headers, params=query)
        assert response.status_code == 200, response.text
        return dict(response.json())

    csat = await total("patient_satisfaction_csat_pct")
    assert csat["total"] == {"value": 60.0, "count": 5}  # 5, 4, 5 of 5, 4, 3, 2, 5 are >= 4
    assert csat["target"] == 90.0
    average = await total("patient_satisfaction_avg_score")
    assert average["total"]["value"] == 3.8
    assert average["total"]["count"] == 5
    clarity = await total("communication_clarity_positive_pct")
    assert clarity["total"] == {"value": 80.0, "count": 5}
    rate = await total("survey_response_rate_pct")
    assert rate["total"]["count"] == 6
    assert round(rate["total"]["value"], 2) == 83.33
    by_coordinator = await total("patient_satisfaction_csat_pct", by="coordinator")
    [series] = by_coordinator["series"]
    assert series["dimension"]["id"] == str(org.owner_id)

    catalogue = (await client.get("/api/v1/metrics", headers=org.headers)).json()["items"]
    ours = {m["name"]: m["category"] for m in catalogue if m["category"] == "Patient experience"}
    assert set(ours) == {
        "patient_satisfaction_csat_pct",
        "patient_satisfaction_avg_score",
        "communication_clarity_positive_pct",
        "survey_response_rate_pct",
    }

    # The threshold is the organization's setting: only 5s are positive now.
    await _enable(client, org, min_days_between=0, positive_at_least=5)
    assert (await total("patient_satisfaction_csat_pct"))["total"] == {"value": 40.0, "count": 5}


async def test_a_channel_that_fails_at_send_time_moves_the_survey_to_the_next_with_a_new_link(
    client: Any, org: Org, owner_db: Any, app_loop: Any, smtp_server: SmtpServer
) -> None:
    """SMS consent is there but the organization has no SMS provider: core skips it, the survey goes by e-mail."""
    await _enable(client, org, channels=["sms", "email"])
    await configure_email(client, org, smtp_server)
    patient = await _patient(client, org)
    response = await client.post(
        f"/api/v1/patients/{patient['id']}/consents", headers=org.headers, json={"kind": "channel", "channel": "sms"}
    )
    assert response.status_code == 201, response.text
    await _fulfil(client, org, patient["id"])
    [survey] = await _surveys(owner_db, org)
    assert survey["channel"] == "sms"
    sms_path = await _link_of(owner_db, survey)

    assert await run_queued_jobs(app_loop, owner_db, org, "notifications.send") == ["done"]  # sms: skipped
    [survey] = await _surveys(owner_db, org)
    assert (survey["status"], survey["channel"], survey["channels_tried"]) == ("scheduled", "email", ["sms", "email"])
    assert "sms: skipped" in survey["reason"]
    assert (await client.get(sms_path)).status_code == 404  # the link of the failed channel is dead

    assert await run_queued_jobs(app_loop, owner_db, org, "notifications.send") == ["done"]  # e-mail: sent
    [mail] = smtp_server.received
    found = LINK.search(_mail_text(mail.message))
    assert found is not None
    assert found.group(1) != sms_path
    assert (await client.get(found.group(1))).status_code == 200
    [survey] = await _surveys(owner_db, org)
    assert survey["status"] == "sent"
