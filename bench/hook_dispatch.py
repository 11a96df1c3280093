"""Hook dispatch overhead: what telling a tenant's plugins about an event costs.

Measured on real PostgreSQL (embedded unless DATABASE_URL is set), inside one tenant
transaction, for 0, 1 and 20 enabled plugins implementing ``patient_updated``. Baselines from the
same run: pluggy's own hook call with the same implementations (no isolation, no tenant
filtering) and one bare savepoint round trip per plugin (the price of isolation).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from uuid import UUID

ROUNDS = 7
CALLS = 400


def _plugin(index: int) -> Any:
    from core.plugins.sdk import ModuleSpec, hookimpl

    class Plugin:
        @staticmethod
        @hookimpl
        def register_module() -> ModuleSpec:
            return ModuleSpec(name=f"bench_{index:02d}", title=f"Bench {index}")

        @staticmethod
        @hookimpl
        def patient_updated(ctx: Any, patient: Any, changed: Any) -> None:
            return None

    return Plugin


async def _timed(call: Callable[[], Awaitable[Any]], rounds: int = ROUNDS, calls: int = CALLS) -> float:
    """Median microseconds per call over ``rounds`` rounds of ``calls`` calls."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            await call()
        samples.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(samples)


async def _measure(count: int, tenant_id: UUID, rounds: int = ROUNDS, calls: int = CALLS) -> dict[str, float]:
    from core.auth.permissions import Permission
    from core.auth.principal import Principal
    from core.db.tenant import tenant_transaction
    from core.http.context import RequestContext
    from core.patients.schemas import CommunicationPreferences, Patient
    from core.plugins.dispatch import emit
    from core.plugins.manager import PluginHost

    host = PluginHost(load_entry_points=False, plugins=[(f"bench_{i:02d}", _plugin(i)) for i in range(count)])
    principal = Principal(
        tenant_id=tenant_id, actor_id=UUID(int=0), kind="system", role=None, permissions=frozenset(Permission)
    )
    now = time.time()
    from datetime import UTC, datetime

    patient = Patient(
        id=UUID(int=1),
        mrn="B-1",
        given_name="Bench",
        family_name="Mark",
        birth_date=date(1970, 1, 1),
        sex=None,
        phone=None,
        email=None,
        address=None,
        communication=CommunicationPreferences(),
        created_at=datetime.fromtimestamp(now, UTC),
        updated_at=datetime.fromtimestamp(now, UTC),
    )
    async with tenant_transaction(tenant_id, require_active=True) as tx:
        await tx.execute("delete from tenant_modules")
        for name in host.modules:
            await tx.execute(
                "insert into tenant_modules (tenant_id, module, enabled) values ($1, $2, true)", tenant_id, name
            )
        ctx = RequestContext(tx, principal, None, None, host)

        async def dispatch() -> None:
            await emit(ctx, "patient_updated", patient=patient, changed=["phone"])

        async def pluggy_call() -> None:
            host.pm.hook.patient_updated(ctx=ctx, patient=patient, changed=["phone"])

        async def savepoints() -> None:
            for _ in range(count):
                async with tx.connection.transaction():
                    pass

        await dispatch()  # warm the per-tenant cache
        result = {"emit": await _timed(dispatch, rounds, calls), "pluggy": await _timed(pluggy_call, rounds, calls)}
        result["savepoints"] = await _timed(savepoints, rounds, calls) if count else 0.0
        await tx.execute("delete from tenant_modules")
    return result


def main() -> None:
    """Start (or reuse) the services, run the benchmark, drop its database."""
    from core.testing import services

    started = services.start()
    try:
        asyncio.run(_run())
    finally:
        asyncio.run(services.drop_database(started.admin_url, started.database))
        started.embedded.stop()


async def measure(
    counts: tuple[int, ...] = (0, 1, 20), rounds: int = ROUNDS, calls: int = CALLS
) -> dict[int, dict[str, float]]:
    """Microseconds per event (emit, pluggy, savepoints) for each plugin count, in a tenant of its own."""
    from core.db.engine import close_pool, start_pool
    from core.platform import create_tenant
    from core.tenancy.schemas import SignupRequest

    await start_pool(2)
    try:
        tenant = await create_tenant(
            SignupRequest(
                organization_name="Bench",
                slug=f"bench-hooks-{os.getpid()}-{time.monotonic_ns() % 1_000_000}",
                owner_email="bench@bench.example",
                owner_password="bench-password-123",
            )
        )
        return {count: await _measure(count, tenant.id, rounds, calls) for count in counts}
    finally:
        await close_pool()


async def _run() -> None:
    results = await measure()
    print("hook dispatch, microseconds per event (median of rounds), one tenant transaction")
    print(f"{'plugins':>8} {'emit':>9} {'pluggy':>9} {'savepoints':>11} {'emit/pluggy':>12} {'emit-savepoints':>16}")
    for count, r in results.items():
        ratio = r["emit"] / r["pluggy"] if r["pluggy"] else float("nan")
        print(
            f"{count:>8} {r['emit']:>9.1f} {r['pluggy']:>9.2f} {r['savepoints']:>11.1f} {ratio:>12.1f} "
            f"{r['emit'] - r['savepoints']:>16.1f}"
        )


if __name__ == "__main__":
    main()
