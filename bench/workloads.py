"""carecoord's HTTP workloads under wrk, each figure a ratio to a baseline measured in the same run.

``http_workloads(report, servers, dataset)`` (called by ``bench/suite.py`` once the data set is built
and the API and the bare app are up) adds rows to the report, group ``workloads``:

- patient read ``GET /api/v1/patients/{id}``, search ``GET /api/v1/patients?q=<5 letters of a family
  name>``, create ``POST /api/v1/patients``, referral transition ``POST
  /api/v1/referrals/{id}/transitions`` (sent -> on hold -> sent ...), worklist ``GET
  /api/v1/worklist?mine=true&limit=50``; at concurrency 1, 8 and 32, each request as the coordinator
  of a tenant, the requests spread round-robin over the tenants (``bench/wrk/<workload>.lua``).
  Read and search are compared with the bare app's ``/lookup`` (one fetchrow by primary key) at the
  same concurrency, create with its ``/insert`` (the suite's baseline rows); targets >= 0.75x, >= 0.6x,
  >= 0.5x. Every workload must answer without errors: a run with errors says how many, by status.
- shapes: patient read at concurrency 32 on each shape of ``bench.datasets.shapes()`` (the ones not
  built yet are built into the same database, so the tables are the same size for all: what differs
  is how the patients spread over tenants), the spread (max - min) / max of their rates <= 10 %.
- plugin dispatch: patient read at concurrency 8 against an API of its own loading the 20 tiny plugins
  of ``bench/plugins/tiny.py`` (``CARECOORD_PLUGINS_EXTRA``), with 0, 5 and 20 of them enabled for
  every tenant of the data set; a read with 5 enabled must lose less than 3 % against 0.

Shapes and plugin counts are measured ``ROUNDS`` times (2; 1 with ``BENCH_QUICK=1``), every other
round in reverse order, and compared by their median rates.

``BENCH_QUICK=1 python -m bench.workloads`` runs just these on a small data set (``BENCH_SHAPE``, default
the first of ``bench.datasets.shapes()``) with its own database, servers and bare-app baselines: a
quick check of the scripts.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import datasets
from bench.loadgen import CONCURRENCIES, QUICK, SECONDS, LoadResult, run_wrk
from bench.report import Report, Row

GROUP = "workloads"
WRK_DIR = Path(__file__).resolve().parent / "wrk"
BASELINE_GROUP = "baseline"
BARE_LOOKUP, BARE_INSERT = "bare /lookup", "bare /insert"
"""The suite's bare-app rows (``bench/baselines.py``) the workloads are compared with."""
WARMUP_SECONDS = 1.0
SHAPE_CONCURRENCY = 32
PLUGIN_CONCURRENCY = 8
PLUGIN_COUNTS = (0, 5, 20)
ROUNDS = 1 if QUICK else 2
"""Shapes and plugin counts are measured in this many rounds, alternating their order; median rate."""
SPREAD_TARGET = 0.10
PLUGIN_TARGET = 0.03


@dataclass(frozen=True)
class Workload:
    name: str
    lua: str
    lines: Callable[[datasets.Dataset], list[str]]
    baseline: str | None = None
    target: float | None = None
    before_each: Callable[[datasets.Dataset], None] | None = None


WORKLOADS = (
    Workload("patient read", "patient_read.lua", lambda d: d.lines(d.patients), BARE_LOOKUP, 0.75),
    Workload("patient search", "patient_search.lua", lambda d: d.lines(d.search_terms), BARE_LOOKUP, 0.6),
    Workload("patient create", "patient_create.lua", lambda d: d.lines(), BARE_INSERT, 0.5),
    Workload(
        "referral transition",
        "referral_transition.lua",
        lambda d: d.lines(d.sent_referrals),
        before_each=datasets.reset_sent_referrals,
    ),
    Workload("worklist", "worklist.lua", lambda d: d.lines()),
)


def http_workloads(report: Report, servers: Any, dataset: datasets.Dataset) -> None:
    """The workloads, the shape spread and the plugin overhead; ``servers.api`` / ``servers.bare`` run."""
    with tempfile.TemporaryDirectory(prefix="bench-workloads-") as folder:
        for workload in WORKLOADS:
            _workload(report, servers.api, dataset, workload, Path(folder))
        _shapes(report, servers.api, dataset, Path(folder))
        _plugins(report, dataset, Path(folder))


# ------------------------------------------------------------------------------------------------ runs


def _lines_file(folder: Path, name: str, lines: Sequence[str]) -> Path:
    path = folder / f"{name.replace(' ', '_')}.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def _load(
    server: Any, workload: Workload, dataset: datasets.Dataset, tokens: Path, concurrency: int, seconds: float
) -> LoadResult:
    if workload.before_each is not None:
        workload.before_each(dataset)
    env = {
        "BENCH_TOKENS_FILE": str(tokens),
        "BENCH_RUN_ID": f"{os.getpid()}x{time.monotonic_ns() % 10**9}",
        "BENCH_WRK_THREADS": str(max(1, min(2, concurrency))),
    }
    return run_wrk(server.url, lua=WRK_DIR / workload.lua, connections=concurrency, seconds=seconds, env=env)


def _errors(result: LoadResult) -> str:
    if not result.errors:
        return ""
    statuses = {code: n for code, n in result.statuses.items() if not 200 <= int(code) < 400}
    sockets = {name: n for name, n in result.socket_errors.items() if n}
    return f"{result.errors} errors of {result.requests} requests: statuses {statuses or '-'}, socket {sockets or '-'}"


def _row(
    name: str,
    concurrency: int | None,
    result: LoadResult,
    *,
    server: Any = None,
    baseline: Row | None = None,
    baseline_rps: float | None = None,
    baseline_name: str = "",
    minimum: float | None = None,
    rps: float | None = None,
    note: str = "",
) -> Row:
    """A load row; its target is ``ratio >= minimum`` (when given) and no errors. ``rps`` overrides the
    result's rate (a median of several runs)."""
    if baseline is not None and baseline.result is not None:
        baseline_rps = baseline.result.rps
        baseline_name = f"{baseline.name} c={baseline.concurrency}"
    rate = result.rps if rps is None else rps
    ratio = rate / baseline_rps if baseline_rps else None
    notes = [note]
    if minimum is not None and ratio is None:
        notes.append("no baseline row in this run")
        met = False if result.errors else None
    else:
        met = not result.errors and (minimum is None or (ratio is not None and ratio >= minimum))
    notes.append(_errors(result))
    return Row(
        GROUP,
        name,
        concurrency,
        result,
        rps,
        "req/s",
        baseline_name,
        ratio,
        " ".join(filter(None, [f">= {minimum:.2f}x" if minimum is not None else "", "0 errors"])),
        met,
        server.peak_rss_mb() if server is not None else None,
        "; ".join(filter(None, notes)),
    )


def _workload(report: Report, api: Any, dataset: datasets.Dataset, workload: Workload, folder: Path) -> None:
    tokens = _lines_file(folder, workload.name, workload.lines(dataset))
    _load(api, workload, dataset, tokens, 8, WARMUP_SECONDS)  # warm-up (connections, caches), not reported
    for concurrency in CONCURRENCIES:
        api.reset_peak_rss()
        result = _load(api, workload, dataset, tokens, concurrency, SECONDS)
        baseline = report.find(BASELINE_GROUP, workload.baseline, concurrency) if workload.baseline else None
        report.add(
            _row(
                f"{workload.name} ({dataset.shape})",
                concurrency,
                result,
                server=api,
                baseline=baseline,
                minimum=workload.target,
            )
        )


# ---------------------------------------------------------------------------------------------- shapes


def _shapes(report: Report, api: Any, dataset: datasets.Dataset, folder: Path) -> None:
    """Patient read on every shape of the run, same API, same database; the spread of the rates."""
    read = WORKLOADS[0]
    built: dict[str, datasets.Dataset] = {}
    for shape in datasets.shapes():
        if shape == dataset.shape:
            built[shape] = dataset
        else:  # into the same database: the shapes differ only in how the rows spread over tenants
            built[shape] = datasets.build(dataset.dsn, shape, dataset.seed)
            print(f"[bench] built {shape} in {built[shape].seconds:.0f} s", flush=True)
    tokens = {shape: _lines_file(folder, f"read {shape}", read.lines(data)) for shape, data in built.items()}

    def run(shape: str) -> LoadResult:
        _load(api, read, built[shape], tokens[shape], SHAPE_CONCURRENCY, WARMUP_SECONDS)
        return _load(api, read, built[shape], tokens[shape], SHAPE_CONCURRENCY, SECONDS)

    runs = _alternated(list(built), run)
    rates = {shape: statistics.median(r.rps for r in results) for shape, results in runs.items()}
    best = max(rates.values())
    for shape, results in runs.items():
        tenants, patients = datasets.parse_shape(shape)
        report.add(
            _row(
                f"patient read, shape {shape} ({tenants} tenants x {patients} patients)",
                SHAPE_CONCURRENCY,
                _shown(results),
                server=api,
                baseline_rps=best,
                baseline_name="fastest shape",
                rps=rates[shape],
                note=f"median of {ROUNDS} alternated run(s); data built in {built[shape].seconds:.0f} s",
            )
        )
    spread = (best - min(rates.values())) / best if best else None
    report.add(
        Row(
            GROUP,
            "patient read spread across shapes, (max - min) / max",
            SHAPE_CONCURRENCY,
            None,
            None if spread is None else round(spread * 100, 1),
            "%",
            "",
            None,
            f"<= {SPREAD_TARGET * 100:.0f} %",
            None if spread is None else spread <= SPREAD_TARGET,
            note=", ".join(f"{shape} {rate:.0f} req/s" for shape, rate in rates.items()),
        )
    )


def _alternated(keys: list[Any], run: Callable[[Any], LoadResult]) -> dict[Any, list[LoadResult]]:
    """``run(key)`` for every key, ``ROUNDS`` times, every other round in reverse order (no key always
    goes first, right after the previous workload)."""
    runs: dict[Any, list[LoadResult]] = {key: [] for key in keys}
    for round_number in range(ROUNDS):
        for key in keys[::-1] if round_number % 2 else keys:
            runs[key].append(run(key))
    return runs


def _shown(results: list[LoadResult]) -> LoadResult:
    """The run a row shows latencies and errors of: the first with errors, else the last."""
    return next((r for r in results if r.errors), results[-1])


# --------------------------------------------------------------------------------------------- plugins


def _plugins(report: Report, dataset: datasets.Dataset, folder: Path) -> None:
    """Patient read with 0, 5 and 20 tiny plugins enabled for every tenant (own API process)."""
    from bench import servers
    from bench.plugins import tiny

    read = WORKLOADS[0]
    tokens = _lines_file(folder, "read plugins", read.lines(dataset))
    everyone = range(len(dataset.tenants))
    known = tiny.modules(tiny.COUNT)
    try:
        with servers.carecoord_api(tiny.extra_plugins_env()) as api:

            def run(count: int) -> LoadResult:
                datasets.enable_modules(dataset, everyone, tiny.modules(count), known)
                _load(api, read, dataset, tokens, PLUGIN_CONCURRENCY, WARMUP_SECONDS)
                return _load(api, read, dataset, tokens, PLUGIN_CONCURRENCY, SECONDS)

            _load(api, read, dataset, tokens, PLUGIN_CONCURRENCY, SECONDS)  # a fresh process: warm it up first
            runs = _alternated(list(PLUGIN_COUNTS), run)
    finally:
        datasets.enable_modules(dataset, everyone, [], known)
    rate = {count: statistics.median(r.rps for r in results) for count, results in runs.items()}
    for count in PLUGIN_COUNTS:
        change = f", {100 * (rate[count] / rate[0] - 1):+.1f} % req/s vs 0 enabled" if count and rate[0] else ""
        report.add(
            _row(
                f"patient read, {count} tiny plugins enabled ({dataset.shape})",
                PLUGIN_CONCURRENCY,
                _shown(runs[count]),
                baseline_rps=rate[0] if count else None,
                baseline_name="0 plugins enabled" if count else "",
                minimum=1 - PLUGIN_TARGET if count == 5 else None,
                rps=rate[count],
                note=f"median of {ROUNDS} alternated run(s){change}",
            )
        )


# ------------------------------------------------------------------------------------------ standalone


def main() -> None:
    """The workloads alone on a small data set, with the bare app's lookup and insert as baselines."""
    import asyncio

    from bench import baselines, servers
    from core.testing import services

    started = services.start()
    report = Report("carecoord HTTP workloads (python -m bench.workloads)")
    try:
        dsn = os.environ["DATABASE_URL"]
        shape = os.environ.get("BENCH_SHAPE", datasets.shapes()[0])
        dataset = datasets.build(dsn, shape, int(os.environ.get("BENCH_SEED", "20261124")))
        print(f"[bench] built {shape} in {dataset.seconds:.1f} s: {dataset.counts}", flush=True)
        ids = asyncio.run(baselines.prepare_tables(dsn))
        ids_file = baselines.write_ids(ids)
        try:
            with servers.start_all() as running:
                for concurrency in CONCURRENCIES:
                    for name, lua, path, env in (
                        (BARE_LOOKUP, "lookup.lua", "/lookup/", {"BENCH_IDS_FILE": str(ids_file)}),
                        (BARE_INSERT, "insert.lua", "/insert", {}),
                    ):
                        result = run_wrk(
                            f"{running.bare.url}{path}", lua=WRK_DIR / lua, connections=concurrency, seconds=SECONDS,
                            env=env,
                        )  # fmt: skip
                        report.add(Row(BASELINE_GROUP, name, concurrency, result, None, "req/s", "", None))
                http_workloads(report, running, dataset)
        finally:
            ids_file.unlink(missing_ok=True)
    finally:
        asyncio.run(services.drop_database(started.admin_url, started.database))
        started.embedded.stop()
    report.print_table()


if __name__ == "__main__":
    main()
