"""An organization's data leaves whole (export as JSON lines) and goes whole (deletion with a grace period,
then a purge after which no row of it remains anywhere), through the API and the operator's CLI."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from core.reports.storage import reports_root
from core.tenancy.lifecycle import export_lines
from tests.conftest import Org, add_user, create_patient
from tests.reports.helpers import build, start_run

Client = AsyncTestClient[Any]
TENANT_TABLES = """
select c.relname::text as name from pg_class c
join pg_namespace ns on ns.oid = c.relnamespace
join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
where ns.nspname = current_schema() and c.relkind = 'r' order by 1
"""
CREDENTIALS = re.compile(r'"(password_hash|totp_secret|secret_hash|token_hash|secrets|adapter_secrets)"')


async def cli(*arguments: str) -> tuple[int, str]:
    """``carecoord ...`` in a child process with the session's environment; exit code and output."""
    script = Path(sys.executable).with_name("carecoord")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "core.cli"]
    process = await asyncio.create_subprocess_exec(
        *command, *arguments, env=dict(os.environ), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode() + err.decode()


async def rows_of(db: asyncpg.Connection[Any], tenant_id: Any) -> dict[str, int]:
    """Rows of ``tenant_id`` in every table that has a ``tenant_id``, as the owner with the tenant pinned."""
    counts = {}
    async with db.transaction():
        await db.execute("select set_config('app.tenant_id', $1, true)", str(tenant_id))
        for row in await db.fetch(TENANT_TABLES):
            counts[row["name"]] = await db.fetchval(
                f'select count(*) from "{row["name"]}" where tenant_id = $1', tenant_id
            )
    return counts


async def populate(client: Client, org: Org) -> dict[str, Any]:
    patient = await create_patient(client, org, given_name="Ada", family_name="Lovelace")
    contact = await client.post(
        f"/api/v1/patients/{patient['id']}/contacts",
        headers=org.headers,
        json={"name": "Grace", "relationship": "friend"},
    )
    assert contact.status_code == 201, contact.text
    return patient


async def test_the_owner_exports_every_row_of_the_organization_and_nothing_else(
    client: Client, org: Org, other_org: Org, owner_db: asyncpg.Connection[Any]
) -> None:
    patient = await populate(client, org)
    stranger = await create_patient(client, other_org, given_name="Other", family_name="Tenant")

    response = await client.get("/api/v1/tenant/export", headers=org.headers)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert response.headers["content-disposition"] == (
        f'attachment; filename="carecoord-{org.slug}-{response.headers["content-disposition"][-17:-7]}.jsonl"'
    )
    lines = [json.loads(line) for line in response.text.splitlines()]
    header, tenant, trailer, rows = lines[0], lines[1], lines[-1], lines[2:-1]
    assert (header["format"], header["version"], header["tenant_id"]) == (
        "carecoord-tenant-export",
        1,
        str(org.tenant_id),
    )
    assert tenant == {"table": "tenants", "row": tenant["row"]}
    assert tenant["row"]["id"] == str(org.tenant_id)
    assert trailer["end"] is True
    # every row is this organization's, and every table it has rows in is counted exactly
    assert {row["row"]["tenant_id"] for row in rows} == {str(org.tenant_id)}
    expected = {name: n for name, n in (await rows_of(owner_db, org.tenant_id)).items() if n}
    exported = {name: n for name, n in trailer["rows"].items() if n}
    expected.pop("unrouted_messages", None)  # insert-only for the app: operators read it, exports do not
    assert exported == expected
    assert set(header["tables"]) >= set(expected)
    assert patient["id"] in response.text
    assert stranger["id"] not in response.text
    assert "Lovelace" in response.text
    assert not CREDENTIALS.search(response.text), "credentials must not leave in an export"
    users = [row["row"] for row in rows if row["table"] == "users"]
    assert users
    assert all("password_hash" not in user for user in users)
    exported_event = await owner_db.fetchval(
        "select count(*) from audit_events where tenant_id = $1 and action = 'tenant.exported'", org.tenant_id
    )
    assert exported_event == 1

    for role in ("admin", "viewer"):
        refused = await client.get("/api/v1/tenant/export", headers=await add_user(client, org, role))
        assert refused.status_code == 403, refused.text
    assert (await client.get("/api/v1/tenant/export")).status_code == 401


async def test_the_cli_exports_the_same_lines(client: Client, org: Org, tmp_path: Path) -> None:
    await populate(client, org)
    target = tmp_path / "export.jsonl"
    code, output = await cli("tenant", "export", org.slug, "--output", str(target))
    assert code == 0, output
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert lines[0]["tenant_id"] == str(org.tenant_id)
    assert lines[-1]["rows"]["patients"] == 1
    assert f"{len(lines)} lines" in output


async def test_deletion_closes_at_once_and_the_purge_leaves_no_row(
    client: Client, org: Org, other_org: Org, owner_db: asyncpg.Connection[Any], settings: Any
) -> None:
    await populate(client, org)
    run = await start_run(client, org.headers, "tasks_overdue_by_owner", "csv")
    assert await build(client, org, run) == "done"
    files = reports_root(settings) / str(org.tenant_id)
    assert any(files.iterdir())
    others_before = await rows_of(owner_db, other_org.tenant_id)
    admin = await add_user(client, org, "admin")

    wrong = await client.post("/api/v1/tenant/deletion", headers=org.headers, json={"confirm_slug": "nope"})
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["key"] == "confirm_slug"
    assert (
        await client.post("/api/v1/tenant/deletion", headers=admin, json={"confirm_slug": org.slug})
    ).status_code == 403
    accepted = await client.post("/api/v1/tenant/deletion", headers=org.headers, json={"confirm_slug": org.slug})
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["status"] == "closed"

    # closed at once: no credential of the organization works any more
    assert (await client.get("/api/v1/patients", headers=org.headers)).status_code == 401
    assert (await client.get("/api/v1/patients", headers=admin)).status_code == 401
    # not purged within the grace period, neither by the operator nor by the app role
    code, output = await cli("tenant", "purge", "--slug", org.slug)
    assert code != 0
    assert "not closed past its grace period" in output
    app = await asyncpg.connect(settings.app_dsn())
    try:
        with pytest.raises(asyncpg.RaiseError):
            await app.fetchval("select carecoord_purge_tenant($1)", other_org.tenant_id)  # an active tenant
    finally:
        await app.close()
    assert sum((await rows_of(owner_db, org.tenant_id)).values()) > 0

    await owner_db.execute("update tenants set purge_after = now() - interval '1 second' where id = $1", org.tenant_id)
    code, output = await cli("tenant", "purge")
    assert code == 0, output
    purged = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert {p["tenant_id"] for p in purged} >= {str(org.tenant_id)}
    assert next(p for p in purged if p["tenant_id"] == str(org.tenant_id))["rows_deleted"] > 0

    remaining = {name: n for name, n in (await rows_of(owner_db, org.tenant_id)).items() if n}
    assert remaining == {}, f"rows of the deleted tenant remain: {remaining}"
    assert await owner_db.fetchval("select count(*) from tenants where id = $1", org.tenant_id) == 0
    assert not files.exists()
    # the other organization lost nothing and still works
    assert await rows_of(owner_db, other_org.tenant_id) == others_before
    assert (await client.get("/api/v1/patients", headers=other_org.headers)).status_code == 200


async def test_an_operator_can_reopen_within_the_grace_period(client: Client, org: Org) -> None:
    await populate(client, org)
    code, output = await cli("tenant", "delete", org.slug, "--grace-days", "7")
    assert code == 0, output
    assert json.loads(output.splitlines()[0])["status"] == "closed"
    assert (await client.get("/api/v1/patients", headers=org.headers)).status_code == 401

    code, output = await cli("tenant", "reopen", org.slug)
    assert code == 0, output
    listing = await client.get("/api/v1/patients", headers=org.headers)
    assert listing.status_code == 200
    assert len(listing.json()["items"]) == 1
    code, output = await cli("tenant", "reopen", org.slug)
    assert code != 0
    assert "no deletion was requested" in output


async def test_an_export_is_one_snapshot_of_the_organization(
    client: Client, org: Org, app_loop: Any, test_services: Any
) -> None:
    """A patient registered while the export runs is in none of its tables: every table is read as the data
    stood when the export began (the export reaches ``patients`` after the registration committed)."""
    before = await create_patient(client, org, given_name="Before")
    during = str(uuid4())

    async def export_around_a_registration() -> str:
        lines = export_lines(org.tenant_id)
        header = await anext(lines)  # the export's first statements ran: its snapshot is taken
        owner = await asyncpg.connect(test_services.database_url)
        try:
            await owner.execute(
                "insert into patients (tenant_id, id, mrn, given_name, family_name, birth_date) "
                "values ($1, $2, 'SNAPSHOT-1', 'During', 'Export', '1950-01-01')",
                org.tenant_id,
                UUID(during),
            )
        finally:
            await owner.close()
        return (header + b"".join([line async for line in lines])).decode()

    text = await app_loop(export_around_a_registration)
    assert before["id"] in text
    assert during not in text
    assert json.loads(text.splitlines()[-1])["rows"]["patients"] == 1
