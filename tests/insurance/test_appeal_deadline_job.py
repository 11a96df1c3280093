"""``insurance.check_appeal_deadlines`` on real appeals: each deadline task is raised once, however often it runs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from core.jobs.runner import run_job
from tests.insurance.test_appeals_api import new_appeal, step
from tests.insurance.test_claims_api import denied_claim

JOB = "insurance.check_appeal_deadlines"


async def check(app_loop: Any, org: Any) -> str:
    outcome = await app_loop(run_job, JOB, tenant_id=str(org.tenant_id), payload={}, message_id=uuid.uuid4().hex)
    return str(outcome)


async def tasks_of(client: Any, org: Any, appeal_id: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/worklist", headers=org.headers, params={"mine": "true", "limit": 500})
    assert response.status_code == 200, response.text
    return [t for t in response.json()["items"] if t["focus_id"] == appeal_id]


async def appeal_due_in(client: Any, org: Any, days: int) -> dict[str, Any]:
    claim = await denied_claim(client, org)
    deadline = (datetime.now(UTC).date() + timedelta(days=days)).isoformat()
    return await new_appeal(client, org, claim_id=claim["id"], filing_deadline=deadline, arguments="Necessary")


async def test_deadline_tasks_are_raised_once_each(client: Any, insured: Any, owner_db: Any, app_loop: Any) -> None:
    near = await appeal_due_in(client, insured, 5)
    missed = await appeal_due_in(client, insured, -1)
    far = await appeal_due_in(client, insured, 40)
    filed = await appeal_due_in(client, insured, 100)
    assert (await step(client, insured, filed["id"], "submitted")).status_code == 200
    await owner_db.execute(
        "update appeals set decision_due_at = now() - interval '1 hour' where id = $1", uuid.UUID(filed["id"])
    )

    assert await check(app_loop, insured) == "done"
    assert await check(app_loop, insured) == "done"  # a second run raises nothing new

    (near_task,) = await tasks_of(client, insured, near["id"])
    assert near_task["title"] == "Appeal filing deadline near"
    assert near["filing_deadline"] in near_task["description"]
    assert near_task["patient_id"] == near["patient_id"]
    (missed_task,) = await tasks_of(client, insured, missed["id"])
    assert missed_task["title"] == "Appeal filing deadline missed"
    assert missed_task["priority"] == "asap"
    (overdue_task,) = await tasks_of(client, insured, filed["id"])
    assert overdue_task["title"] == "Appeal decision overdue"
    assert await tasks_of(client, insured, far["id"]) == []
    flags = await owner_db.fetch(
        "select subject_id, flag from insurance_flags where tenant_id = $1 and subject_type = 'appeal'",
        insured.tenant_id,
    )
    assert sorted((str(f["subject_id"]), f["flag"]) for f in flags) == sorted(
        [
            (near["id"], "filing_deadline_near"),
            (missed["id"], "filing_deadline_missed"),
            (filed["id"], "decision_overdue"),
        ]
    )

    # the near deadline passes: the missed task follows, once
    await owner_db.execute("update appeals set filing_deadline = current_date - 2 where id = $1", uuid.UUID(near["id"]))
    await check(app_loop, insured)
    await check(app_loop, insured)
    titles = sorted(t["title"] for t in await tasks_of(client, insured, near["id"]))
    assert titles == ["Appeal filing deadline missed", "Appeal filing deadline near"]


async def test_filed_withdrawn_and_decided_appeals_raise_nothing(
    client: Any, insured: Any, owner_db: Any, app_loop: Any
) -> None:
    withdrawn = await appeal_due_in(client, insured, -3)
    await step(client, insured, withdrawn["id"], "withdrawn", reason="Paid on resubmission")
    decided = await appeal_due_in(client, insured, 2)
    await step(client, insured, decided["id"], "submitted")
    await step(client, insured, decided["id"], "decided", outcome="upheld")
    await owner_db.execute(
        "update appeals set decision_due_at = now() - interval '1 day' where id = $1", uuid.UUID(decided["id"])
    )
    in_time = await appeal_due_in(client, insured, 1)
    await step(client, insured, in_time["id"], "submitted")  # filed in time: no filing task, decision not due
    await check(app_loop, insured)
    for appeal in (withdrawn, decided, in_time):
        assert await tasks_of(client, insured, appeal["id"]) == []
