"""Build one queued report run as a worker does, in a process of its own, and measure it.

``python -m bench.report_build TENANT_ID RUN_ID`` runs ``run_job("reports.build", ...)`` (the worker's
path: tenant transaction, effect key, the report's query through its cursor, rendering, storage),
then the floor: the same referral-list query fetched with raw asyncpg in a tenant transaction and
written with the ``csv`` module. It prints one JSON line: seconds of each, and the process's resident
memory after the imports and at its peak during the build (the floor runs after the peak is read).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _build(tenant_id: str, run_id: str) -> float:
    from core.db.engine import close_pool, start_pool
    from core.jobs.runner import run_job

    await start_pool(2)
    try:
        started = time.perf_counter()
        await run_job("reports.build", tenant_id=tenant_id, payload={"run_id": run_id}, message_id=uuid.uuid4().hex)
        return time.perf_counter() - started
    finally:
        await close_pool()


async def _floor(tenant_id: str, params: dict[str, Any]) -> tuple[float, int]:
    """The same rows with raw asyncpg (one fetch) and the ``csv`` module: what any build must at least do."""
    import asyncpg

    from core.settings import get_settings
    from plugins.referrals.reports import _SELECT, _WHERE

    conn = await asyncpg.connect(get_settings().app_dsn())
    try:
        started = time.perf_counter()
        async with conn.transaction():
            await conn.execute("select set_config('app.tenant_id', $1, true)", tenant_id)
            rows = await conn.fetch(
                f"{_SELECT} {_WHERE} order by r.created_at, r.id",
                params["start"],
                params["end"],
                params["time_zone"],
                None,
                None,
            )
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        return time.perf_counter() - started, len(rows)
    finally:
        await conn.close()


def main() -> None:
    from datetime import date

    tenant_id, run_id, params_json = sys.argv[1:4]
    from core.plugins.manager import get_host

    get_host()  # every plugin imported now, so the memory figure below is the build's own
    after_imports = _status_mb("VmRSS")
    seconds = asyncio.run(_build(tenant_id, run_id))
    peak = _status_mb("VmHWM")
    params = json.loads(params_json)
    params.update(start=date.fromisoformat(params["start"]), end=date.fromisoformat(params["end"]))
    floor_seconds, floor_rows = asyncio.run(_floor(tenant_id, params))
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rss_after_imports_mb": after_imports,
                "peak_rss_mb": peak,
                "floor_seconds": floor_seconds,
                "floor_rows": floor_rows,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
