"""The built-in ``x12_http`` adapter against a real HTTP endpoint: a 270 goes out, the payer's 271 is
parsed and stored with both documents; outages are retried, refusals and garbage recorded, never a crash."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from core.payers.adapter import PayerUnavailableError
from tests.insurance.conftest import INSURANCE, new_coverage, new_payer, run_queued

SAMPLES = Path(__file__).parent / "samples"
CHECK = "insurance.check_eligibility"


class Payer:
    """A payer's real-time endpoint on a local port: records each request, answers what the test set."""

    def __init__(self) -> None:
        self.status = 200
        self.body = (SAMPLES / "271_active.x12").read_text()
        self.requests: list[tuple[dict[str, str], str]] = []
        payer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                payer.requests.append((dict(self.headers.items()), self.rfile.read(length).decode()))
                encoded = payer.body.encode()
                self.send_response(payer.status)
                self.send_header("Content-Type", "application/edi-x12")
                self.send_header("Content-Length", str(len(encoded)))
                self.end_headers()
                self.wfile.write(encoded)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/x12/realtime"


@pytest.fixture
def payer_endpoint() -> Iterator[Payer]:
    payer = Payer()
    thread = threading.Thread(target=payer.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield payer
    payer.server.shutdown()
    payer.server.server_close()


async def x12_coverage(client: Any, org: Any, endpoint: Payer, **secrets: str) -> dict[str, Any]:
    config = {"endpoint_url": endpoint.url, "sender_id": "CARECOORD", "receiver_id": "ACMEHP"}
    payer = await new_payer(client, org, adapter="x12_http", adapter_config=config, adapter_secrets=secrets)
    return await new_coverage(client, org, payer_id=payer["id"], member_id="W100200300")


async def latest(client: Any, org: Any, coverage_id: str) -> dict[str, Any]:
    checks = (await client.get(f"{INSURANCE}/coverages/{coverage_id}/eligibility-checks", headers=org.headers)).json()
    return dict(checks[0])


async def test_a_270_goes_to_the_payer_and_its_271_is_stored(
    client: Any, insured: Any, owner_db: Any, app_loop: Any, payer_endpoint: Payer
) -> None:
    coverage = await x12_coverage(client, insured, payer_endpoint, token="t0k3n")
    assert await run_queued(app_loop, owner_db, insured, CHECK) == ["done"]
    ((headers, sent),) = payer_endpoint.requests
    assert headers["Content-Type"] == "application/edi-x12"
    assert headers["Authorization"] == "Bearer t0k3n"
    assert sent.startswith("ISA*")
    assert "ST*270*" in sent
    assert "*MI*W100200300~" in sent
    assert "NM1*1P*2*Riverside Clinic*****XX*1234567893~" in sent
    check = await latest(client, insured, coverage["id"])
    assert check["status"] == "active"
    assert check["plan_number"] == "GP-500"
    raw = (await client.get(f"{INSURANCE}/eligibility-checks/{check['id']}/raw", headers=insured.headers)).json()
    assert raw["request"] == sent
    assert raw["response"] == payer_endpoint.body


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, "denied", "refused the request: HTTP 401"),
        (200, "<html>maintenance</html>", "ISA"),
        (200, (SAMPLES / "bad_amount.x12").read_text(), "not a monetary amount"),
        (200, (SAMPLES / "wrong_transaction.x12").read_text(), "expected a 271"),
    ],
)
async def test_refusals_and_unreadable_answers_are_recorded_as_failed(
    client: Any,
    insured: Any,
    owner_db: Any,
    app_loop: Any,
    payer_endpoint: Payer,
    status: int,
    body: str,
    error: str,
) -> None:
    payer_endpoint.status, payer_endpoint.body = status, body
    coverage = await x12_coverage(client, insured, payer_endpoint)
    assert await run_queued(app_loop, owner_db, insured, CHECK) == ["done"]
    check = await latest(client, insured, coverage["id"])
    assert check["status"] == "failed"
    assert error in check["error"]


async def test_a_payer_outage_is_retried(
    client: Any, insured: Any, owner_db: Any, app_loop: Any, payer_endpoint: Payer
) -> None:
    payer_endpoint.status = 503
    coverage = await x12_coverage(client, insured, payer_endpoint)
    with pytest.raises(PayerUnavailableError):
        await run_queued(app_loop, owner_db, insured, CHECK)
    assert (await latest(client, insured, coverage["id"]))["status"] == "queued"
    payer_endpoint.status, payer_endpoint.body = 200, (SAMPLES / "271_inactive.x12").read_text()
    await owner_db.execute("update outbox set published_at = null where tenant_id = $1", insured.tenant_id)
    assert await run_queued(app_loop, owner_db, insured, CHECK, attempt=1) == ["done"]
    assert (await latest(client, insured, coverage["id"]))["status"] == "inactive"


async def test_the_adapter_configuration_is_validated(client: Any, insured: Any) -> None:
    response = await client.post(
        f"{INSURANCE}/payers",
        headers=insured.headers,
        json={"name": "X", "payer_code": "X12X", "adapter": "x12_http", "adapter_config": {"endpoint_url": "ftp://x"}},
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["key"].startswith("adapter_config")


async def test_without_an_npi_the_check_fails_with_the_reason_and_nothing_is_sent(
    client: Any, org: Any, owner_db: Any, app_loop: Any, payer_endpoint: Payer
) -> None:
    from core.testing.fixtures import enable_module

    await enable_module(client, org, "insurance")  # no provider_npi in the settings
    coverage = await x12_coverage(client, org, payer_endpoint)
    assert await run_queued(app_loop, owner_db, org, CHECK) == ["done"]
    check = await latest(client, org, coverage["id"])
    assert check["status"] == "failed"
    assert "provider NPI" in check["error"]
    assert payer_endpoint.requests == []
