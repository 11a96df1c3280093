"""Row-level security in PostgreSQL itself: the catalog, the app role, and what it can see.

The HTTP tests prove the routes behave; these prove the database would keep
tenants apart even if a route forgot to: every tenant table has forced RLS with
a restrictive policy on ``app.tenant_id``, the app role cannot switch it off,
a connection with no tenant sees nothing, and pooled connections never keep a
tenant between requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from core.db.tenant import SET_TENANT_AND_STATUS_SQL, SET_TENANT_SQL
from core.settings import APP_ROLE
from tests.conftest import Org, create_patient, patient_body

Client = AsyncTestClient[Any]
T = TypeVar("T")

KERNEL_TENANT_TABLES = {
    "users",
    "refresh_tokens",
    "api_keys",
    "patients",
    "patient_contacts",
    "patient_consents",
    "audit_events",
    "audit_heads",
}

TENANT_TABLES_SQL = """
select c.relname as name, c.relrowsecurity as enabled, c.relforcerowsecurity as forced
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'public'
  and c.relkind in ('r', 'p')
  and exists (
    select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
  )
order by c.relname
"""

RESTRICTIVE_POLICIES_SQL = """
select tablename, policyname, cmd, roles, qual, with_check
from pg_policies
where schemaname = 'public' and permissive = 'RESTRICTIVE'
"""

SET_LOCAL_TENANT = "select set_config('app.tenant_id', $1, true)"
POOLED_STATE_SQL = """
select pg_backend_pid() as pid,
       current_user as role,
       current_setting('app.tenant_id', true) as tenant,
       (select count(*) from patients) as visible_patients
"""


async def tenant_tables(owner_db: asyncpg.Connection) -> list[str]:
    return [row["name"] for row in await owner_db.fetch(TENANT_TABLES_SQL)]


async def populate(client: Client, org: Org) -> None:
    """Give ``org`` at least one row in every kernel tenant table, through the API."""
    patient = await create_patient(client, org)
    contact = await client.post(
        f"/api/v1/patients/{patient['id']}/contacts",
        headers=org.headers,
        json={"name": "Ida", "relationship": "sibling"},
    )
    assert contact.status_code == 201, contact.text
    consent = await client.post(
        f"/api/v1/patients/{patient['id']}/consents",
        headers=org.headers,
        json={"kind": "sharing", "contact_id": contact.json()["id"]},
    )
    assert consent.status_code == 201, consent.text
    key = await client.post(
        "/api/v1/api-keys", headers=org.headers, json={"name": "lab feed", "scopes": ["patients:read"]}
    )
    assert key.status_code == 201, key.text


async def owner_count(owner_db: asyncpg.Connection, table: str, tenant_id: UUID) -> int:
    """Rows of ``tenant_id`` in ``table``, counted by the superuser (RLS does not apply to it)."""
    return int(await owner_db.fetchval(f"select count(*) from {table} where tenant_id = $1", tenant_id))


async def insert_patient(conn: asyncpg.Connection, tenant_id: UUID) -> str:
    body = patient_body()
    result: str = await conn.execute(
        "insert into patients (tenant_id, mrn, given_name, family_name, birth_date) "
        "values ($1, $2, $3, $4, '1970-01-01')",
        tenant_id,
        body["mrn"],
        body["given_name"],
        body["family_name"],
    )
    return result


async def in_app_loop(client: Client, function: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run ``function`` in the event loop that serves the app (the test client's portal thread).

    The app's connection pool belongs to that loop and must only be used there.
    """
    result: T = await asyncio.to_thread(client.blocking_portal.call, function, *args)
    return result


async def every_pooled_connection_state() -> list[asyncpg.Record]:
    """Acquire all the connections the app's pool holds at once, and read each one's state.

    Taking ``get_size()`` connections concurrently yields exactly the existing
    ones when the size does not grow meanwhile; if it grew, an unconnected slot
    was taken instead of a live connection, so try again with the larger pool.
    """
    from core.db.engine import engine

    pool = engine().pool
    while True:
        size = pool.get_size()
        connections = await asyncio.gather(*(pool.acquire() for _ in range(size)))
        try:
            if pool.get_size() == size:
                return [await conn.fetchrow(POOLED_STATE_SQL) for conn in connections]
        finally:
            for conn in connections:
                await pool.release(conn)


async def concurrent_gets(app: Any, headers: dict[str, str], paths: list[str]) -> list[int]:
    """GET ``paths`` all at once (the test client sends one request at a time), so the pool grows."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as http:
        responses = await asyncio.gather(*(http.get(path, headers=headers) for path in paths))
    return [r.status_code for r in responses]


def assert_no_tenant_on(states: list[asyncpg.Record]) -> None:
    assert states, "the app's pool holds no connection"
    assert len({s["pid"] for s in states}) == len(states)
    for state in states:
        assert state["role"] == APP_ROLE
        assert state["tenant"] in ("", None), f"pooled connection {state['pid']} still has tenant {state['tenant']}"
        assert state["visible_patients"] == 0


@pytest.fixture
async def app_db(settings: Any) -> AsyncIterator[asyncpg.Connection]:
    """A fresh connection as the app role, with no tenant set."""
    conn = await asyncpg.connect(settings.app_dsn())
    try:
        yield conn
    finally:
        await conn.close()


# -- the catalog -------------------------------------------------------------------------------------


async def test_every_tenant_table_has_forced_rls_with_a_restrictive_tenant_policy(
    owner_db: asyncpg.Connection,
) -> None:
    tables = await owner_db.fetch(TENANT_TABLES_SQL)
    policies = await owner_db.fetch(RESTRICTIVE_POLICIES_SQL)

    names = {t["name"] for t in tables}
    assert names >= KERNEL_TENANT_TABLES
    for table in tables:
        assert table["enabled"], f"RLS is not enabled on {table['name']}"
        assert table["forced"], f"RLS is not forced on {table['name']}"
        restrictive = [
            p
            for p in policies
            if p["tablename"] == table["name"]
            and p["cmd"] == "ALL"
            and list(p["roles"]) == ["public"]
            and all(
                "tenant_id =" in expr and "current_setting('app.tenant_id'" in expr
                for expr in (p["qual"], p["with_check"])
            )
        ]
        assert restrictive, f"{table['name']} has no restrictive policy on app.tenant_id"


async def test_the_app_role_is_not_privileged_and_owns_nothing(owner_db: asyncpg.Connection) -> None:
    role = await owner_db.fetchrow(
        "select oid, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb from pg_roles where rolname = $1", APP_ROLE
    )
    assert role is not None, f"role {APP_ROLE} is missing"
    owned_tables = await owner_db.fetch(
        "select tablename from pg_tables where schemaname = 'public' and tableowner = $1", APP_ROLE
    )
    owned_relations = await owner_db.fetch(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = 'public' and c.relowner = $1",
        role["oid"],
    )
    memberships = await owner_db.fetch("select roleid from pg_auth_members where member = $1", role["oid"])

    assert not role["rolsuper"]
    assert not role["rolbypassrls"]
    assert not role["rolcreaterole"]
    assert not role["rolcreatedb"]
    assert owned_tables == []
    assert owned_relations == []
    assert memberships == []


@pytest.mark.parametrize(
    "statement",
    [
        "set role {owner}",
        "set session authorization {owner}",
        "alter table patients disable row level security",
        "alter table patients no force row level security",
        "drop policy tenant_isolation on patients",
        "create policy open_door on patients as permissive for all using (true)",
        "update audit_events set action = 'tampered'",
        "delete from audit_events",
        "truncate audit_events",
        "set session_replication_role = replica",
        "alter role {app} bypassrls",
    ],
)
async def test_the_app_role_cannot_bypass_rls_or_touch_the_audit_log(
    client: Client, org: Org, owner_db: asyncpg.Connection, app_db: asyncpg.Connection, statement: str
) -> None:
    owner = await owner_db.fetchval("select tableowner from pg_tables where tablename = 'patients'")
    events_before = await owner_count(owner_db, "audit_events", org.tenant_id)
    assert events_before > 0
    # With the tenant set, RLS would let these rows through: only privileges stand in the way.
    await app_db.execute("select set_config('app.tenant_id', $1, false)", str(org.tenant_id))

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_db.execute(statement.format(owner=f'"{owner}"', app=APP_ROLE))

    assert await app_db.fetchval("select current_user") == APP_ROLE
    assert await owner_count(owner_db, "audit_events", org.tenant_id) == events_before
    rls = await owner_db.fetchrow(
        "select relrowsecurity, relforcerowsecurity from pg_class where oid = 'public.patients'::regclass"
    )
    assert rls is not None
    assert tuple(rls) == (True, True)


async def test_turning_row_security_off_makes_queries_fail_not_open(
    client: Client, org: Org, app_db: asyncpg.Connection
) -> None:
    await create_patient(client, org)

    await app_db.execute("set row_security = off")

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_db.fetch("select * from patients")


# -- what the app role sees --------------------------------------------------------------------------


@pytest.mark.parametrize("tenant_setting", [None, "", "random"], ids=["never-set", "empty", "unknown-tenant"])
async def test_without_a_tenant_every_tenant_table_looks_empty(
    client: Client,
    org: Org,
    owner_db: asyncpg.Connection,
    app_db: asyncpg.Connection,
    tenant_setting: str | None,
) -> None:
    await populate(client, org)
    if tenant_setting is not None:
        value = str(uuid4()) if tenant_setting == "random" else tenant_setting
        await app_db.execute("select set_config('app.tenant_id', $1, false)", value)

    for table in await tenant_tables(owner_db):
        if table in KERNEL_TENANT_TABLES:
            assert await owner_count(owner_db, table, org.tenant_id) > 0, f"test set-up left {table} empty"
        assert await app_db.fetchval(f"select count(*) from {table}") == 0, table


async def test_without_a_tenant_writes_fail_or_touch_nothing(
    client: Client, org: Org, owner_db: asyncpg.Connection, app_db: asyncpg.Connection
) -> None:
    patient = await create_patient(client, org)

    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        await insert_patient(app_db, org.tenant_id)
    updated = await app_db.execute("update patients set given_name = 'Nobody'")
    deleted = await app_db.execute("delete from patient_consents")

    assert updated == "UPDATE 0"
    assert deleted == "DELETE 0"
    stored = await owner_db.fetchval("select given_name from patients where id = $1", UUID(patient["id"]))
    assert stored == patient["given_name"]


async def test_with_a_tenant_set_only_its_rows_are_visible(
    client: Client, org: Org, other_org: Org, owner_db: asyncpg.Connection, app_db: asyncpg.Connection
) -> None:
    await populate(client, org)
    await populate(client, other_org)
    tables = await tenant_tables(owner_db)

    async with app_db.transaction():
        await app_db.execute(SET_LOCAL_TENANT, str(org.tenant_id))
        for table in tables:
            seen = await app_db.fetchrow(
                f"select count(*) as total, count(*) filter (where tenant_id <> $1) as foreign_rows from {table}",
                org.tenant_id,
            )
            assert seen is not None
            assert seen["foreign_rows"] == 0, table
            assert seen["total"] == await owner_count(owner_db, table, org.tenant_id), table
            if table in KERNEL_TENANT_TABLES:
                assert await owner_count(owner_db, table, other_org.tenant_id) > 0, table

    # The setting was transaction-local: gone after commit.
    assert await app_db.fetchval("select current_setting('app.tenant_id', true)") in ("", None)
    assert await app_db.fetchval("select count(*) from patients") == 0


async def test_with_a_tenant_set_rows_for_another_tenant_are_refused(
    client: Client, org: Org, other_org: Org, owner_db: asyncpg.Connection, app_db: asyncpg.Connection
) -> None:
    a_patient = await create_patient(client, org)
    b_patient = await create_patient(client, other_org)

    async def as_tenant_a(statement: str, *args: Any) -> str:
        async with app_db.transaction():
            await app_db.execute(SET_LOCAL_TENANT, str(org.tenant_id))
            result: str = await app_db.execute(statement, *args)
            return result

    async with app_db.transaction():
        await app_db.execute(SET_LOCAL_TENANT, str(org.tenant_id))
        assert await insert_patient(app_db, org.tenant_id) == "INSERT 0 1"
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
            await insert_patient(app_db, other_org.tenant_id)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        await as_tenant_a(
            "update patients set tenant_id = $2 where id = $1", UUID(a_patient["id"]), other_org.tenant_id
        )
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        await as_tenant_a(
            "insert into audit_events (tenant_id, seq, occurred_at, actor_type, action, resource_type, "
            "prev_hash, hash) values ($1, 999999, now(), 'system', 'forged', 'patient', '', '')",
            other_org.tenant_id,
        )
    assert await as_tenant_a("update patients set given_name = 'Hijacked' where id = $1", UUID(b_patient["id"])) == (
        "UPDATE 0"
    )
    assert await as_tenant_a("delete from patient_contacts where tenant_id = $1", other_org.tenant_id) == "DELETE 0"

    rows = await owner_db.fetch(
        "select id, tenant_id, given_name from patients where id = any($1::uuid[])",
        [UUID(a_patient["id"]), UUID(b_patient["id"])],
    )
    assert {(str(r["id"]), r["tenant_id"], r["given_name"]) for r in rows} == {
        (a_patient["id"], org.tenant_id, a_patient["given_name"]),
        (b_patient["id"], other_org.tenant_id, b_patient["given_name"]),
    }


# -- the app's connection pool -----------------------------------------------------------------------


@pytest.mark.parametrize("statement", [SET_TENANT_SQL, SET_TENANT_AND_STATUS_SQL], ids=["set", "set-and-status"])
@pytest.mark.parametrize("outcome", ["commit", "rollback"])
async def test_the_apps_tenant_statements_last_only_for_their_transaction(
    org: Org, app_db: asyncpg.Connection, statement: str, outcome: str
) -> None:
    """The request path's own statements, on a bare connection: no pool reset helps here."""
    transaction = app_db.transaction()
    await transaction.start()
    await app_db.execute(statement, str(org.tenant_id))
    assert await app_db.fetchval("select current_setting('app.tenant_id', true)") == str(org.tenant_id)
    assert await app_db.fetchval("select count(*) from users") > 0

    await (transaction.commit() if outcome == "commit" else transaction.rollback())

    assert await app_db.fetchval("select current_setting('app.tenant_id', true)") in ("", None)
    assert await app_db.fetchval("select count(*) from users") == 0


async def test_pooled_connections_carry_no_tenant_after_requests(
    client: Client, org: Org, owner_db: asyncpg.Connection
) -> None:
    patient = await create_patient(client, org)
    paths = [f"/api/v1/patients/{patient['id']}"] * 6 + ["/api/v1/patients", "/api/v1/audit-events"]

    statuses = await in_app_loop(client, concurrent_gets, client.app, org.headers, paths)

    assert statuses == [200] * len(paths)
    assert await owner_count(owner_db, "patients", org.tenant_id) > 0
    states = await in_app_loop(client, every_pooled_connection_state)
    assert len(states) > 1, "the concurrent requests should have needed several connections"
    assert_no_tenant_on(states)


async def test_pooled_connections_carry_no_tenant_after_a_failed_transaction(
    client: Client, org: Org, owner_db: asyncpg.Connection
) -> None:
    patient = await create_patient(client, org)
    mrn_count = await owner_db.fetchval(
        "select count(*) from patients where tenant_id = $1 and mrn = $2", org.tenant_id, patient["mrn"]
    )

    duplicate = await client.post("/api/v1/patients", headers=org.headers, json=patient_body(mrn=patient["mrn"]))

    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.headers["content-type"] == "application/problem+json"
    assert_no_tenant_on(await in_app_loop(client, every_pooled_connection_state))
    assert (
        await owner_db.fetchval(
            "select count(*) from patients where tenant_id = $1 and mrn = $2", org.tenant_id, patient["mrn"]
        )
        == mrn_count
    )
    # The pool still serves the tenant normally afterwards.
    after = await client.get(f"/api/v1/patients/{patient['id']}", headers=org.headers)
    assert after.status_code == 200, after.text


async def release_inside_a_transaction(tenant_id: str) -> list[asyncpg.Record]:
    """Take every pooled connection, leave each inside a tenant transaction holding an advisory
    transaction lock, give them back uncommitted; then read every pooled connection's state."""
    from core.db.engine import PooledConnection, engine

    pool = engine().pool
    connections = await asyncio.gather(*(pool.acquire() for _ in range(pool.get_size())))
    for conn in connections:
        assert isinstance(conn._con, PooledConnection)  # the pool skips asyncpg's reset query
        await conn.execute("begin")
        await conn.execute(SET_TENANT_SQL, tenant_id)
        await conn.execute("select pg_advisory_xact_lock(4242)")
        await pool.release(conn)
    states = await every_pooled_connection_state()
    async with pool.acquire() as conn:
        locks = await conn.fetchval("select count(*) from pg_locks where locktype = 'advisory' and objid = 4242")
    assert locks == 0, "a released connection still holds its transaction's lock"
    return states


async def test_a_connection_given_back_inside_a_transaction_is_rolled_back(client: Client, org: Org) -> None:
    """The pool runs no reset query (no session state is kept); a transaction left open must still
    end when its connection goes back, with its tenant setting and its locks."""
    assert (await client.get("/api/v1/patients", headers=org.headers)).status_code == 200  # the pool exists
    assert_no_tenant_on(await in_app_loop(client, release_inside_a_transaction, str(org.tenant_id)))
