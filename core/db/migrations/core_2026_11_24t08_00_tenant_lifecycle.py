"""A tenant's deletion: closed at once, purged after a grace period by one function nothing else can misuse.

``carecoord_purge_tenant(id)`` runs as the owner (SECURITY DEFINER) and refuses any tenant that is not
closed with its ``purge_after`` passed, so the app role may call it (the scheduler does) without being
able to delete an active tenant. It deletes the tenant's rows from every table that has a
``tenant_id`` column (plugins' tables included, found in the catalog at run time), children before
parents by retrying tables a foreign key still holds, then the ``tenants`` row. The audit log's
append-only trigger lets exactly this through: a row delete by the owner while
``carecoord.purge_tenant`` names the row's tenant.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.db.raw import run_statements

ID = "2026-11-24T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "tenant deletion with a grace period: tenants.deletion_requested_at, purge_after, purge function"

SCHEMA = [
    "alter table tenants add column if not exists deletion_requested_at timestamptz",
    "alter table tenants add column if not exists purge_after timestamptz",
    """create or replace function audit_events_append_only() returns trigger language plpgsql as $$
        begin
          if tg_op = 'DELETE' and tg_level = 'ROW'
             and current_setting('carecoord.purge_tenant', true) = old.tenant_id::text
             and current_user = (select tableowner from pg_tables
                                 where schemaname = current_schema() and tablename = 'audit_events') then
            return old;
          end if;
          raise exception 'audit_events is append-only';
        end $$""",
    """create or replace function carecoord_purge_tenant(target uuid) returns bigint
        language plpgsql security definer set search_path from current as $$
        declare
          remaining text[];
          tbl text;
          progress boolean;
          n bigint;
          total bigint := 0;
        begin
          if not exists (select 1 from tenants where id = target and status = 'closed'
                         and purge_after is not null and purge_after <= now()) then
            raise exception 'tenant % is not closed past its grace period', target using errcode = 'P0001';
          end if;
          perform set_config('app.tenant_id', target::text, true);
          perform set_config('carecoord.purge_tenant', target::text, true);
          select coalesce(array_agg(c.relname::text order by c.relname), '{}') into remaining
            from pg_class c
            join pg_namespace ns on ns.oid = c.relnamespace
            join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
           where ns.nspname = current_schema() and c.relkind = 'r';
          while cardinality(remaining) > 0 loop
            progress := false;
            foreach tbl in array remaining loop
              begin
                execute format('delete from %I where tenant_id = $1', tbl) using target;
                get diagnostics n = row_count;
                total := total + n;
                remaining := array_remove(remaining, tbl);
                progress := true;
              exception when foreign_key_violation then
                null;  -- a table still referenced: after its children, in the next pass
              end;
            end loop;
            if not progress then
              raise exception 'purge of tenant % is stuck on %', target, remaining;
            end if;
          end loop;
          delete from tenants where id = target;
          return total;
        end $$""",
    "revoke all on function carecoord_purge_tenant(uuid) from public",
    "comment on function carecoord_purge_tenant(uuid) is "
    "'carecoord:app: the scheduler purges closed tenants once their grace period is over'",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run() -> None:
        await run_statements(SCHEMA)

    manager.add_raw(run)
    return manager
