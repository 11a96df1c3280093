"""The audit trail over HTTP and in the database: one event per patient read or write, append-only,
hash-chained, listed for administrators, and checked by the real ``carecoord audit verify`` command."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import Org, add_user, create_patient, patient_body

PATIENTS = "/api/v1/patients"
EVENTS = "/api/v1/audit-events"
TEST_CLIENT_IP = "testclient"  # the peer address litestar's test client reports


async def count_events(db: asyncpg.Connection, tenant_id: UUID) -> int:
    return int(await db.fetchval("select count(*) from audit_events where tenant_id = $1", tenant_id))


async def events_after(db: asyncpg.Connection, tenant_id: UUID, seq: int) -> list[asyncpg.Record]:
    return list(
        await db.fetch("select * from audit_events where tenant_id = $1 and seq > $2 order by seq", tenant_id, seq)
    )


async def last_seq(db: asyncpg.Connection, tenant_id: UUID) -> int:
    return int(await db.fetchval("select coalesce(max(seq), 0) from audit_events where tenant_id = $1", tenant_id))


def request_id() -> str:
    return f"test-{secrets.token_hex(8)}"


def with_id(org: Org, rid: str) -> dict[str, str]:
    return {**org.headers, "X-Request-ID": rid}


async def list_events(client: AsyncTestClient[Any], headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await client.get(EVENTS, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def run_verify(slug: str) -> tuple[int, str]:
    """``carecoord audit verify --tenant slug`` in a child process; its exit code and all output."""
    script = Path(sys.executable).with_name("carecoord")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "core.cli"]
    process = await asyncio.create_subprocess_exec(
        *command,
        "audit",
        "verify",
        "--tenant",
        slug,
        env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


def verify_report(output: str) -> dict[str, Any]:
    """The JSON line ``audit verify`` prints for the one tenant it checked."""
    reports = [json.loads(line) for line in output.splitlines() if line.startswith("{") and '"problems"' in line]
    assert len(reports) == 1, output
    return dict(reports[0])


@asynccontextmanager
async def triggers_off(db: asyncpg.Connection) -> AsyncIterator[None]:
    """What an attacker with superuser access could do: bypass the append-only trigger."""
    await db.execute("set session_replication_role = replica")
    try:
        yield
    finally:
        await db.execute("set session_replication_role = origin")


@pytest.fixture
async def busy_org(client: AsyncTestClient[Any], org: Org) -> Org:
    """An organization with a patient, a contact and some reads: a chain worth tampering with."""
    patient = await create_patient(client, org)
    for _ in range(3):
        assert (await client.get(f"{PATIENTS}/{patient['id']}", headers=org.headers)).status_code == 200
    await client.post(
        f"{PATIENTS}/{patient['id']}/contacts", headers=org.headers, json={"name": "N", "relationship": "friend"}
    )
    return org


# -- one event per patient read or write -----------------------------------------------------------------


async def test_each_patient_read_or_write_writes_exactly_one_event(
    client: AsyncTestClient[Any], org: Org, owner_db: asyncpg.Connection
) -> None:
    start_count, start_seq = await count_events(owner_db, org.tenant_id), await last_seq(owner_db, org.tenant_id)
    patient: dict[str, Any] = {}
    contact: dict[str, Any] = {}
    expected: list[tuple[str, str, Callable[[], UUID | None]]] = []  # (request id, action, resource id)

    async def step(
        action: str, resource: Callable[[], UUID | None], call: Callable[[str], Awaitable[httpx.Response]], status: int
    ) -> dict[str, Any]:
        rid = request_id()
        response = await call(rid)
        assert response.status_code == status, response.text
        assert response.headers["x-request-id"] == rid
        expected.append((rid, action, resource))
        return dict(response.json()) if response.content else {}

    patient.update(
        await step(
            "patient.create",
            lambda: UUID(patient["id"]),
            lambda rid: client.post(PATIENTS, headers=with_id(org, rid), json=patient_body()),
            201,
        )
    )
    url = f"{PATIENTS}/{patient['id']}"
    await step("patient.read", lambda: UUID(patient["id"]), lambda rid: client.get(url, headers=with_id(org, rid)), 200)
    await step(
        "patient.update",
        lambda: UUID(patient["id"]),
        lambda rid: client.patch(url, headers=with_id(org, rid), json={"given_name": "Augusta"}),
        200,
    )
    await step("patient.search", lambda: None, lambda rid: client.get(PATIENTS, headers=with_id(org, rid)), 200)
    contact.update(
        await step(
            "patient_contact.create",
            lambda: UUID(contact["id"]),
            lambda rid: client.post(
                f"{url}/contacts", headers=with_id(org, rid), json={"name": "Byron", "relationship": "parent"}
            ),
            201,
        )
    )
    consent = await step(
        "patient_consent.grant",
        lambda: UUID(consent["id"]),
        lambda rid: client.post(
            f"{url}/consents", headers=with_id(org, rid), json={"kind": "channel", "channel": "sms"}
        ),
        201,
    )
    await step(
        "patient.delete", lambda: UUID(patient["id"]), lambda rid: client.delete(url, headers=with_id(org, rid)), 204
    )

    assert await count_events(owner_db, org.tenant_id) == start_count + len(expected)
    rows = await events_after(owner_db, org.tenant_id, start_seq)
    assert [r["seq"] for r in rows] == list(range(start_seq + 1, start_seq + 1 + len(expected)))
    assert [(r["request_id"], r["action"]) for r in rows] == [(rid, action) for rid, action, _ in expected]
    previous = None
    for row, (_, action, resource) in zip(rows, expected, strict=True):
        assert row["resource_id"] == resource(), action
        assert row["actor_type"] == "user"
        assert row["actor_id"] == org.owner_id
        assert row["ip"] == TEST_CLIENT_IP
        assert row["occurred_at"] is not None
        if previous is not None:
            assert row["occurred_at"] >= previous["occurred_at"]
            assert row["prev_hash"] == previous["hash"]
        previous = row
    search = next(r for r in rows if r["action"] == "patient.search")
    assert json.loads(search["details"]) == {"count": 1, "resource_ids": [patient["id"]]}
    update = next(r for r in rows if r["action"] == "patient.update")
    assert json.loads(update["details"]) == {"fields": ["given_name"]}


async def test_failed_requests_write_no_event(
    client: AsyncTestClient[Any], org: Org, owner_db: asyncpg.Connection
) -> None:
    patient = await create_patient(client, org)
    other = await create_patient(client, org)
    before = await count_events(owner_db, org.tenant_id)

    failures = [
        await client.get(f"{PATIENTS}/{uuid4()}", headers=org.headers),
        await client.patch(f"{PATIENTS}/{uuid4()}", headers=org.headers, json={"given_name": "X"}),
        await client.delete(f"{PATIENTS}/{uuid4()}", headers=org.headers),
        await client.post(PATIENTS, headers=org.headers, json=patient_body(mrn=patient["mrn"])),
        await client.patch(f"{PATIENTS}/{other['id']}", headers=org.headers, json={"mrn": patient["mrn"]}),
        await client.get(f"{PATIENTS}/{uuid4()}/contacts", headers=org.headers),
        await client.post(
            f"{PATIENTS}/{patient['id']}/consents",
            headers=org.headers,
            json={"kind": "sharing", "contact_id": str(uuid4())},
        ),
    ]
    assert [r.status_code for r in failures] == [404, 404, 404, 409, 409, 404, 422]
    assert await count_events(owner_db, org.tenant_id) == before
    # The failed update rolled back entirely: the patient still has its own MRN.
    assert (await client.get(f"{PATIENTS}/{other['id']}", headers=org.headers)).json()["mrn"] == other["mrn"]


async def test_a_request_without_x_request_id_gets_one_minted(
    client: AsyncTestClient[Any], org: Org, owner_db: asyncpg.Connection
) -> None:
    start = await last_seq(owner_db, org.tenant_id)
    response = await client.post(PATIENTS, headers={**org.headers, "X-Request-ID": "bad id!"}, json=patient_body())
    assert response.status_code == 201, response.text
    minted = response.headers["x-request-id"]
    assert minted != "bad id!"
    assert len(minted) >= 8
    [row] = await events_after(owner_db, org.tenant_id, start)
    assert row["request_id"] == minted


# -- the list for administrators ---------------------------------------------------------------------


async def test_owner_lists_events_with_filters(client: AsyncTestClient[Any], org: Org) -> None:
    coordinator = await add_user(client, org, "coordinator")
    first = await create_patient(client, org)
    second = await create_patient(client, org)
    await client.get(f"{PATIENTS}/{first['id']}", headers=coordinator)
    await client.patch(f"{PATIENTS}/{first['id']}", headers=coordinator, json={"email": "a@example.org"})
    await client.get(f"{PATIENTS}/{second['id']}", headers=org.headers)

    about_first = (await list_events(client, org.headers, resource_id=first["id"]))["items"]
    assert [e["action"] for e in about_first] == ["patient.update", "patient.read", "patient.create"]  # newest first
    assert all(e["resource_id"] == first["id"] for e in about_first)

    reads = (await list_events(client, org.headers, action="patient.read"))["items"]
    assert [e["resource_id"] for e in reads] == [second["id"], first["id"]]

    coordinator_id = about_first[0]["actor_id"]
    assert coordinator_id != str(org.owner_id)
    by_coordinator = (await list_events(client, org.headers, actor_id=coordinator_id))["items"]
    assert [(e["action"], e["resource_id"]) for e in by_coordinator] == [
        ("patient.update", first["id"]),
        ("patient.read", first["id"]),
        ("auth.login", coordinator_id),
    ]
    by_owner = (await list_events(client, org.headers, actor_id=str(org.owner_id), resource_type="patient"))["items"]
    assert [e["action"] for e in by_owner] == ["patient.read", "patient.create", "patient.create"]

    combined = await list_events(client, org.headers, resource_id=first["id"], action="patient.read")
    assert [e["seq"] for e in combined["items"]] == [about_first[1]["seq"]]
    assert (await list_events(client, org.headers, resource_id=str(uuid4())))["items"] == []


async def test_since_until_and_before_seq_paging(client: AsyncTestClient[Any], org: Org) -> None:
    patient = await create_patient(client, org)
    for _ in range(4):
        await client.get(f"{PATIENTS}/{patient['id']}", headers=org.headers)
    everything = (await list_events(client, org.headers, resource_id=patient["id"]))["items"]
    assert len(everything) == 5
    oldest_first = list(reversed(everything))
    times = [datetime.fromisoformat(e["occurred_at"]) for e in oldest_first]
    assert times == sorted(times)

    since, until = oldest_first[1]["occurred_at"], oldest_first[3]["occurred_at"]
    window = (await list_events(client, org.headers, resource_id=patient["id"], since=since, until=until))["items"]
    assert [e["seq"] for e in window] == [oldest_first[2]["seq"], oldest_first[1]["seq"]]  # since <= t < until
    later = (await list_events(client, org.headers, resource_id=patient["id"], since=until))["items"]
    assert [e["seq"] for e in later] == [everything[0]["seq"], everything[1]["seq"]]

    pages, before = [], None
    while True:
        params: dict[str, Any] = {"resource_id": patient["id"], "limit": 2}
        if before is not None:
            params["before_seq"] = before
        page = await list_events(client, org.headers, **params)
        pages.append([e["seq"] for e in page["items"]])
        before = page["next_cursor"]
        if before is None:
            break
    assert pages == [[e["seq"] for e in everything[i : i + 2]] for i in range(0, 5, 2)]


async def test_audit_list_is_for_administrators_only(client: AsyncTestClient[Any], org: Org) -> None:
    for role in ("coordinator", "clinician", "viewer"):
        response = await client.get(EVENTS, headers=await add_user(client, org, role))
        assert response.status_code == 403, (role, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    admin = await add_user(client, org, "admin")
    assert (await client.get(EVENTS, headers=admin)).status_code == 200
    assert (await client.get(EVENTS)).status_code == 401


async def test_audit_list_shows_only_the_callers_tenant(client: AsyncTestClient[Any], org: Org, other_org: Org) -> None:
    mine = await create_patient(client, org)
    theirs = await create_patient(client, other_org)
    assert (await list_events(client, org.headers, resource_id=theirs["id"]))["items"] == []
    seen = (await list_events(client, org.headers, limit=500))["items"]
    assert mine["id"] in {e["resource_id"] for e in seen}
    assert theirs["id"] not in {e["resource_id"] for e in seen}


# -- append-only for the app role ------------------------------------------------------------------------


async def test_app_role_cannot_update_or_delete_audit_events(busy_org: Org, settings: Any) -> None:
    conn = await asyncpg.connect(settings.app_dsn())
    try:
        for statement in (
            "update audit_events set action = 'patient.nothing' where tenant_id = $1",
            "delete from audit_events where tenant_id = $1",
        ):
            async with conn.transaction():
                await conn.execute("select set_config('app.tenant_id', $1, true)", str(busy_org.tenant_id))
                assert (
                    await conn.fetchval("select count(*) from audit_events where tenant_id = $1", busy_org.tenant_id)
                    > 0
                )
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute(statement, busy_org.tenant_id)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("truncate audit_events")
    finally:
        await conn.close()


async def test_even_the_owner_cannot_change_events_while_triggers_run(
    busy_org: Org, owner_db: asyncpg.Connection
) -> None:
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await owner_db.execute("update audit_events set action = 'x' where tenant_id = $1", busy_org.tenant_id)
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await owner_db.execute("delete from audit_events where tenant_id = $1", busy_org.tenant_id)


# -- carecoord audit verify ----------------------------------------------------------------------------


async def test_verify_passes_on_an_intact_chain(busy_org: Org, owner_db: asyncpg.Connection) -> None:
    code, output = await run_verify(busy_org.slug)
    assert code == 0, output
    report = verify_report(output)
    assert report == {
        "tenant_id": str(busy_org.tenant_id),
        "events": await count_events(owner_db, busy_org.tenant_id),
        "ok": True,
        "problems": [],
    }


async def test_concurrent_reads_chain_without_gaps_or_forks(
    client: AsyncTestClient[Any], org: Org, owner_db: asyncpg.Connection
) -> None:
    """Appends race for the chain head (one statement locks, advances and inserts): 40 reads at once
    must leave 40 events numbered without gaps, each linked to the one before, and verify passes."""
    patient = await create_patient(client, org)
    before = await last_seq(owner_db, org.tenant_id)
    answers = await asyncio.gather(*(client.get(f"{PATIENTS}/{patient['id']}", headers=org.headers) for _ in range(40)))
    assert [a.status_code for a in answers] == [200] * 40
    events = await events_after(owner_db, org.tenant_id, before)
    assert [e["seq"] for e in events] == list(range(before + 1, before + 41))
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in pairwise(events))
    assert len({e["hash"] for e in events}) == 40
    code, output = await run_verify(org.slug)
    assert code == 0, output


@pytest.mark.parametrize(
    ("column", "value"),
    [("details", '{"count": 0}'), ("action", "patient.search"), ("occurred_at", "2020-01-01T00:00:00Z")],
)
async def test_verify_detects_an_altered_event(
    busy_org: Org, owner_db: asyncpg.Connection, column: str, value: str
) -> None:
    tenant = busy_org.tenant_id
    victim = await owner_db.fetchrow(
        "select seq, action, details::text, occurred_at::text from audit_events "
        "where tenant_id = $1 and action = 'patient.read' order by seq limit 1",
        tenant,
    )
    cast = {"details": "::text::jsonb", "occurred_at": "::text::timestamptz"}.get(column, "")
    update = f"update audit_events set {column} = $3{cast} where tenant_id = $1 and seq = $2"
    async with triggers_off(owner_db):
        assert await owner_db.execute(update, tenant, victim["seq"], value) == "UPDATE 1"
    try:
        code, output = await run_verify(busy_org.slug)
        assert code == 1, output
        report = verify_report(output)
        assert report["ok"] is False
        assert f"event {victim['seq']} was altered (hash mismatch)" in report["problems"]
    finally:
        async with triggers_off(owner_db):  # put it back, which verify must then accept again
            await owner_db.execute(update, tenant, victim["seq"], victim[column])
    code, output = await run_verify(busy_org.slug)
    assert code == 0, output


async def test_verify_detects_a_deleted_event(busy_org: Org, owner_db: asyncpg.Connection) -> None:
    tenant = busy_org.tenant_id
    victim = await owner_db.fetchrow(
        "select * from audit_events where tenant_id = $1 and action = 'patient.read' order by seq limit 1", tenant
    )
    async with triggers_off(owner_db):
        await owner_db.execute("delete from audit_events where tenant_id = $1 and seq = $2", tenant, victim["seq"])
    try:
        code, output = await run_verify(busy_org.slug)
        assert code == 1, output
        problems = verify_report(output)["problems"]
        assert f"event {victim['seq']} is missing (next is {victim['seq'] + 1})" in problems
        assert f"event {victim['seq'] + 1} does not link to its predecessor" in problems
    finally:
        columns = list(victim.keys())
        placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
        async with triggers_off(owner_db):
            await owner_db.execute(
                f"insert into audit_events ({', '.join(columns)}) values ({placeholders})", *victim.values()
            )
    code, output = await run_verify(busy_org.slug)
    assert code == 0, output


async def test_verify_detects_a_deleted_last_event(busy_org: Org, owner_db: asyncpg.Connection) -> None:
    """Dropping the newest event leaves no gap in the sequence; the chain head still gives it away."""
    tenant = busy_org.tenant_id
    victim = await owner_db.fetchrow(
        "select * from audit_events where tenant_id = $1 order by seq desc limit 1", tenant
    )
    async with triggers_off(owner_db):
        await owner_db.execute("delete from audit_events where tenant_id = $1 and seq = $2", tenant, victim["seq"])
    try:
        code, output = await run_verify(busy_org.slug)
        assert code == 1, output
        problems = verify_report(output)["problems"]
        assert problems == [f"chain head says {victim['seq']} events but {victim['seq'] - 1} were found intact"]
    finally:
        columns = list(victim.keys())
        placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
        async with triggers_off(owner_db):
            await owner_db.execute(
                f"insert into audit_events ({', '.join(columns)}) values ({placeholders})", *victim.values()
            )
    code, output = await run_verify(busy_org.slug)
    assert code == 0, output


async def test_verify_checks_only_the_named_tenant(busy_org: Org, other_org: Org, owner_db: asyncpg.Connection) -> None:
    tenant = other_org.tenant_id
    seq = await last_seq(owner_db, tenant)
    original = await owner_db.fetchval(
        "select details::text from audit_events where tenant_id = $1 and seq = $2", tenant, seq
    )
    update = "update audit_events set details = $3::jsonb where tenant_id = $1 and seq = $2"
    async with triggers_off(owner_db):
        await owner_db.execute(update, tenant, seq, '{"forged": true}')
    try:
        assert (await run_verify(busy_org.slug))[0] == 0
        code, output = await run_verify(other_org.slug)
        assert code == 1, output
        assert f"event {seq} was altered (hash mismatch)" in verify_report(output)["problems"]
    finally:
        async with triggers_off(owner_db):
            await owner_db.execute(update, tenant, seq, original)
    assert (await run_verify(other_org.slug))[0] == 0


async def test_verify_of_an_unknown_tenant_is_an_error() -> None:
    code, output = await run_verify(f"no-such-{secrets.token_hex(3)}")
    assert code == 2, output
    assert "no tenant with slug" in output
