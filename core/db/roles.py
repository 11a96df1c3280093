"""The app role: the least-privileged login the request path connects as.

``carecoord migrate`` (running as the owner) creates or updates it: LOGIN,
NOSUPERUSER, NOBYPASSRLS, owning nothing, with table privileges granted one
by one. The audit log is insert-only for it.
"""

from __future__ import annotations

from typing import Any

from core.settings import APP_ROLE

# Tables whose rows the app may only add to.
APPEND_ONLY = {"audit_events"}
# Tables the app may only write to, never read (operators read them as the owner).
INSERT_ONLY = {"unrouted_messages"}
# Narrow SECURITY DEFINER functions the app may call.
FUNCTIONS = ("outbox_pending_tenants(interval)", "notifications_due_tenants(interval)")
APP_FUNCTIONS_SQL = (
    "select p.oid::regprocedure::text as signature from pg_proc p "
    "join pg_namespace n on n.oid = p.pronamespace and n.nspname = 'public' "
    "join pg_description d on d.objoid = p.oid and d.classoid = 'pg_proc'::regclass "
    "where d.description like 'carecoord:app%'"
)
"""Functions a plugin's migration offers the app role: ``comment on function ... is 'carecoord:app: why'``
(the app role needs execute on a plugin's narrow SECURITY DEFINER lookups, and core cannot list them)."""
# Piccolo's own bookkeeping: not the app's business.
PRIVATE = {"migration"}


async def ensure_app_role(conn: Any, password: str) -> None:
    """Create or refresh the app role and its grants on every public table.

    Roles are cluster-wide: a lock keeps two migrations (two pods, two databases)
    from altering the role at the same moment.
    """
    async with conn.transaction():
        await conn.execute("select pg_advisory_xact_lock(hashtext('carecoord_app_role'))")
        await _grant(conn, password)


async def _grant(conn: Any, password: str) -> None:
    exists = await conn.fetchval("select 1 from pg_roles where rolname = $1", APP_ROLE)
    verb = "alter" if exists else "create"
    quoted_password = await conn.fetchval("select quote_literal($1)", password)
    await conn.execute(
        f"{verb} role {APP_ROLE} login nosuperuser nobypassrls nocreatedb nocreaterole "
        f"noinherit password {quoted_password}"
    )
    database = await conn.fetchval("select current_database()")
    await conn.execute(f'grant connect on database "{database}" to {APP_ROLE}')
    await conn.execute(f"grant usage on schema public to {APP_ROLE}")
    tables = await conn.fetch("select tablename from pg_tables where schemaname = 'public' order by tablename")
    for row in tables:
        table = row["tablename"]
        await conn.execute(f'revoke all on table "{table}" from {APP_ROLE}')
        if table in PRIVATE:
            continue
        if table in INSERT_ONLY:
            privileges = "insert"
        elif table in APPEND_ONLY:
            privileges = "select, insert"
        else:
            privileges = "select, insert, update, delete"
        await conn.execute(f'grant {privileges} on table "{table}" to {APP_ROLE}')
    await conn.execute(f"grant usage, select on all sequences in schema public to {APP_ROLE}")
    for function in FUNCTIONS:
        if await conn.fetchval("select to_regprocedure($1)", function) is not None:
            await conn.execute(f"grant execute on function {function} to {APP_ROLE}")
    for row in await conn.fetch(APP_FUNCTIONS_SQL):
        await conn.execute(f"grant execute on function {row['signature']} to {APP_ROLE}")
