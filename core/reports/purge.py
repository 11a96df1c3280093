"""Expiry: delete the files of runs whose time is up, for the scheduler to call periodically.

Downloads already refuse an expired run (410) the moment ``expires_at`` passes; the purge is what
removes the file. Each tenant is purged in its own short transaction (row-level security allows
no other way); rows are locked ``for update skip locked`` so two schedulers never fight over them.
A file is deleted before its row says ``expired``: if the commit is lost, the next purge deletes
nothing (missing files are fine) and marks the row.
"""

from __future__ import annotations

import logging
from uuid import UUID

from core.db.tenant import platform_transaction, tenant_transaction
from core.reports.storage import ReportStorage, report_storage

log = logging.getLogger("carecoord.reports")
BATCH = 500


async def purge_tenant(tenant_id: UUID, storage: ReportStorage | None = None) -> int:
    """Expire ``tenant_id``'s runs past ``expires_at``; returns how many."""
    storage = storage or report_storage()
    purged = 0
    while True:
        async with tenant_transaction(tenant_id) as tx:
            rows = await tx.fetch(
                "select id, file_key from report_runs where status = 'done' and expires_at <= now() "
                "order by expires_at limit $1 for update skip locked",
                BATCH,
            )
            for row in rows:
                if row["file_key"]:
                    await storage.delete(row["file_key"])
            if rows:
                await tx.execute(
                    "update report_runs set status = 'expired', file_key = null where id = any($1::uuid[])",
                    [row["id"] for row in rows],
                )
        purged += len(rows)
        if len(rows) < BATCH:
            return purged


async def purge_expired_reports(storage: ReportStorage | None = None) -> int:
    """Purge every tenant's expired report files; returns how many runs expired. Safe to run often."""
    async with platform_transaction() as tx:
        tenant_ids = [row["id"] for row in await tx.fetch("select id from tenants")]
    total = 0
    for tenant_id in tenant_ids:
        try:
            total += await purge_tenant(tenant_id, storage)
        except Exception:  # one tenant's trouble must not stop the others' purge
            log.exception("purging expired reports of tenant %s failed", tenant_id)
    if total:
        log.info("purged %d expired report files", total)
    return total
