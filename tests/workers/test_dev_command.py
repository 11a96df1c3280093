"""`carecoord dev` (what `make dev` runs) starts the API, a worker and the scheduler, and stops them all."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from core.platform import DEMO_EMAIL, DEMO_PASSWORD, DEMO_SLUG
from core.testing.portal import csrf_of
from core.testing.services import TestServices, create_database, drop_database, with_database
from tests.workers.conftest import wait_for


def descendants(pid: int) -> list[int]:
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    found = [int(c) for c in children]
    return found + [g for c in found for g in descendants(c)]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start_dev(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "core.cli", "dev", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def carecoord(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def dev_database(test_services: TestServices) -> AsyncIterator[str]:
    """An empty database of its own, as `make dev` starts with: the session's holds some 3,000 organizations
    by now, and a scheduler ticking all of their periodic jobs on two cores made the API miss a 5 s timeout
    in one CI run. `carecoord dev` migrates it and seeds the demo itself."""
    database = f"carecoord_dev_{secrets.token_hex(4)}"
    await create_database(test_services.admin_url, database)
    try:
        yield with_database(test_services.admin_url, database)
    finally:
        await drop_database(test_services.admin_url, database)


async def test_dev_serves_and_runs_jobs_end_to_end_then_stops_cleanly(tmp_path: Path, dev_database: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": dev_database,
        "DATA_DIR": str(tmp_path),
        "QUEUE_NAMESPACE": f"dev-{port}",
        "OUTBOX_SWEEP_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
    }
    dev = start_dev(port, env)
    owner_db = None
    try:

        async def health() -> int:
            try:
                async with httpx.AsyncClient() as http:
                    return (await http.get(f"http://127.0.0.1:{port}/health")).status_code
            except httpx.HTTPError:
                return 0

        assert await wait_for(health, lambda code: code == 200, seconds=90, what="the API") == 200
        owner_db = await asyncpg.connect(dev_database)
        outbox_id = await asyncio.to_thread(carecoord, env, "jobs", "ping", "--tenant", "demo", "--note", f"dev-{port}")
        # outbox -> relay (scheduler) -> Redis -> worker -> job_pings: every process took part
        await wait_for(
            lambda: owner_db.fetchval("select count(*) from job_pings where note = $1", f"dev-{port}"),
            lambda count: count == 1,
            seconds=60,
            what="the ping to be processed",
        )
        assert await owner_db.fetchval("select published_at is not null from outbox where id = $1::uuid", outbox_id)
        family = descendants(dev.pid)
        assert len(family) >= 4, family  # API, scheduler, dramatiq's main process and its worker process
        # the demo organization has its modules on: its dashboard shows every module's KPIs
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            login = {"tenant": DEMO_SLUG, "email": DEMO_EMAIL, "password": DEMO_PASSWORD}
            token = (await http.post("/api/v1/auth/token", json=login)).json()["access_token"]
            board = await http.get("/api/v1/metrics/dashboard", headers={"Authorization": f"Bearer {token}"})
        assert board.status_code == 200, board.text
        assert {card["module"] for card in board.json()["items"]} == {"metrics", "referrals", "insurance", "reminders"}
        # and its owner logs into the web portal over plain HTTP (dev's cookies are not Secure-only)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as browser:
            form = await browser.get("/portal/login")
            fields = {"tenant": DEMO_SLUG, "email": DEMO_EMAIL, "password": DEMO_PASSWORD}
            answer = await browser.post("/portal/login", data={**fields, "_csrf_token": csrf_of(form.text)})
            assert answer.status_code == 303, answer.text
            assert answer.headers["location"] == "/portal/"  # the demo organization is set up already
            worklist = await browser.get("/portal/")
        assert worklist.status_code == 200, worklist.text
        assert "Demo Community Clinic" in worklist.text
        assert "Referral board" in worklist.text  # the demo's modules are in the menu
    finally:
        if owner_db is not None:
            await owner_db.close()
        dev.send_signal(signal.SIGINT)
        started = time.monotonic()
        output, _ = await asyncio.to_thread(dev.communicate, timeout=60)
    text = output.decode(errors="replace")
    assert dev.returncode == 0, text[-3000:]
    assert time.monotonic() - started < 30
    assert "carecoord stopped" in text
    assert [pid for pid in family if alive(pid)] == [], "processes outlived `carecoord dev`"
