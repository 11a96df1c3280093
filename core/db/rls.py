"""Row-level security: the SQL that confines every tenant table to ``app.tenant_id``."""

from __future__ import annotations

TENANT_PREDICATE = "tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid"


def rls_statements(table: str) -> list[str]:
    """Statements that enable and force RLS on ``table`` with the tenant policies.

    A RESTRICTIVE policy alone grants nothing, so a permissive twin opens the
    tenant's own rows; the restrictive one keeps any later permissive policy (a
    plugin's, say) from ever widening access beyond the current tenant.
    """
    return [
        f"alter table {table} enable row level security",
        f"alter table {table} force row level security",
        f"drop policy if exists tenant_access on {table}",
        f"drop policy if exists tenant_isolation on {table}",
        f"create policy tenant_access on {table} as permissive for all "
        f"using ({TENANT_PREDICATE}) with check ({TENANT_PREDICATE})",
        f"create policy tenant_isolation on {table} as restrictive for all "
        f"using ({TENANT_PREDICATE}) with check ({TENANT_PREDICATE})",
    ]
