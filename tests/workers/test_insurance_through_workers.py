"""Insurance jobs on real worker processes: eligibility asked of a payer over HTTP by the X12 adapter, a
prior authorization submitted through the demo payer, each answered once though the messages are sent twice."""

from __future__ import annotations

import asyncio
from typing import Any

from core.outbox.relay import publish_pending
from core.testing.fixtures import enable_module
from tests.insurance.conftest import INSURANCE, NPI, new_coverage
from tests.insurance.test_x12_http_adapter import Payer, x12_coverage
from tests.workers.conftest import wait_for
from workers.broker import build_broker, publisher


async def test_eligibility_and_authorization_are_answered_by_the_workers_once_each(
    client: Any,
    org: Any,
    owner_db: Any,
    redis_server: Any,
    worker_settings: Any,
    start_worker: Any,
    app_loop: Any,
) -> None:
    await enable_module(client, org, "insurance", {"provider_npi": NPI, "provider_name": "Riverside Clinic"})
    payer = Payer()
    serving = asyncio.get_running_loop().run_in_executor(None, payer.server.serve_forever)
    try:
        x12 = await x12_coverage(client, org, payer)
        demo = await new_coverage(client, org)
        authorization = await client.post(
            f"{INSURANCE}/prior-authorizations",
            headers=org.headers,
            json={
                "patient_id": demo["patient_id"],
                "coverage_id": demo["id"],
                "diagnosis_codes": ["I20.9"],
                "urgency": "expedited",
                "lines": [{"code": "93015", "units": 1}],
            },
        )
        assert authorization.status_code == 201, authorization.text
        authorization_id = authorization.json()["id"]
        submitted = await client.post(
            f"{INSURANCE}/prior-authorizations/{authorization_id}/submit", headers=org.headers
        )
        assert submitted.status_code == 200, submitted.text

        server = redis_server()
        settings = worker_settings(server.url)
        publish = publisher(build_broker(settings))
        assert await app_loop(publish_pending, org.tenant_id, publish) == 3  # two checks, one submission
        await owner_db.execute("update outbox set published_at = null where tenant_id = $1", org.tenant_id)
        assert await app_loop(publish_pending, org.tenant_id, publish) == 3  # the relay sends them all again
        start_worker(settings, threads=2)

        async def statuses() -> dict[str, str]:
            rows = await owner_db.fetch(
                "select coverage_id, status from eligibility_checks where tenant_id = $1", org.tenant_id
            )
            return {str(r["coverage_id"]): r["status"] for r in rows}

        await wait_for(statuses, lambda s: "queued" not in s.values() and len(s) == 2, what="both checks answered")
        assert await statuses() == {x12["id"]: "active", demo["id"]: "active"}
        assert len(payer.requests) == 1, "the redelivered check did not ask the payer again"

        async def decided() -> Any:
            return await owner_db.fetchval(
                "select status from prior_authorizations where tenant_id = $1 and id = $2::uuid",
                org.tenant_id,
                authorization_id,
            )

        await wait_for(decided, lambda s: s == "decided", what="the authorization decided")
        assert (
            await owner_db.fetchval(
                "select count(*) from prior_authorization_exchanges where tenant_id = $1", org.tenant_id
            )
            == 1
        )
    finally:
        payer.server.shutdown()
        await serving
        payer.server.server_close()
