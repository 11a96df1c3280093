"""A send whose worker died mid-way (claim left behind) is found by the release sweep and sent again under
the same provider idempotency key; fresh claims are left alone."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from tests.conftest import Org, create_patient
from tests.notifications.conftest import ProviderServer, run_queued
from tests.notifications.helpers import configure_provider, grant, notify, read

STALE_CLAIM_SECONDS = 600
"""``NOTIFICATION_SEND_TIMEOUT_SECONDS``' default, which the tests keep."""
DUE = "select * from notifications_due_tenants(make_interval(secs => 600))"


async def test_a_send_left_behind_by_a_dead_worker_is_requeued_once_it_is_stale(
    client: AsyncTestClient[Any], org: Org, owner_db: Any, provider_server: ProviderServer
) -> None:
    await configure_provider(client, org, provider_server)
    patient = await create_patient(client, org, phone="+1 (555) 201-0101")
    await grant(client, org, patient["id"], "sms")
    requested = await notify(client, org, patient["id"], "sms", context={"text": "See you Tuesday."})
    ident = uuid.UUID(requested["id"])
    # The worker claimed it, posted to the provider and died: its message is gone, the claim stays.
    await owner_db.execute("update outbox set published_at = now() where tenant_id = $1", org.tenant_id)
    await owner_db.execute(
        "update notifications set status = 'sending', claimed_at = now() - make_interval(secs => $2) where id = $1",
        ident,
        STALE_CLAIM_SECONDS - 60,
    )
    due = await owner_db.fetch(DUE)
    assert org.tenant_id not in {r[0] for r in due}  # still possibly in flight: left alone
    assert await run_queued(client, org.tenant_id) == []

    await owner_db.execute(
        "update notifications set claimed_at = now() - make_interval(secs => $2) where id = $1",
        ident,
        STALE_CLAIM_SECONDS + 1,
    )
    due = await owner_db.fetch(DUE)
    assert org.tenant_id in {r[0] for r in due}  # the scheduler will run the sweep for this tenant
    from core.jobs.runner import run_job
    from core.testing.fixtures import in_app_loop

    outcome = await in_app_loop(
        client, run_job, "notifications.release_deferred", tenant_id=str(org.tenant_id), payload={},
        message_id=uuid.uuid4().hex,
    )  # fmt: skip
    assert outcome == "done"
    assert await run_queued(client, org.tenant_id) == ["done"]
    (sent,) = provider_server.requests
    assert sent.headers["Idempotency-Key"] == f"carecoord-{ident}"  # the provider can tell it is the same message
    done = await read(client, org, requested["id"])
    assert done["status"] == "sent"
    assert "requeued: the worker sending it was lost" in [e["detail"] for e in done["events"]]
