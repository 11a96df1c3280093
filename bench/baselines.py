"""Baselines measured in the same run as carecoord's figures: the floors its numbers are divided by.

- ``pgbench -S`` (select-only, scale 1, prepared statements) on a scratch database, at 1, 8 and 32 clients;
- asyncpg key lookup and insert on one connection and on a pool of 10 (in this process);
- ``redis-benchmark`` LPUSH and GET (``-q --csv``) on a spare Redis database number;
- a no-op Dramatiq actor: enqueue and drain (``bench.jobs_pipeline.noop_drain``);
- pluggy's own hook call and carecoord's ``emit`` (``bench.hook_dispatch.measure``);
- over HTTP with wrk: the bare litestar app's ``/hello``, ``/lookup/{id}`` and ``/insert``, and the
  API's ``/health`` (the API's middleware stack on a route that does nothing).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from bench.loadgen import CONCURRENCIES, QUICK, SECONDS, WRK_DIR, LoadResult, run_wrk
from bench.report import Report, Row
from bench.servers import BARE_TENANT, Servers

GROUP = "baseline"
LOOKUP_ROWS = 10_000
DIRECT_SECONDS = 1.0 if QUICK else 3.0
"""Duration of each in-process asyncpg run."""
POOL_SIZE = 10
REDIS_REQUESTS = 20_000 if QUICK else 100_000
REDIS_DB = 15
"""redis-benchmark writes its keys (``mylist``, ``key:__rand_int__``) here and they are deleted afterwards."""
DRAMATIQ_MESSAGES = 500 if QUICK else 2000
HOOK_ROUNDS, HOOK_CALLS = (3, 200) if QUICK else (5, 200)

BARE_HELLO, BARE_LOOKUP, BARE_INSERT = "bare /hello", "bare /lookup", "bare /insert"
"""Names of the bare app's rows (group ``baseline``), e.g. ``report.find("baseline", BARE_LOOKUP, 8)``."""


def _row(name: str, concurrency: int | None, value: float | None, unit: str, **extra: Any) -> Row:
    return Row(
        GROUP,
        name,
        concurrency,
        extra.pop("result", None),
        value,
        unit,
        extra.pop("baseline", ""),
        extra.pop("ratio", None),
        **extra,
    )


def _failed(report: Report, name: str, exc: BaseException) -> None:
    report.add(_row(name, None, None, "", note=f"failed: {type(exc).__name__}: {exc}"[:300]))


# ---------------------------------------------------------------------------------------------- tables


async def prepare_tables(dsn: str, rows: int = LOOKUP_ROWS, seed: int = 20261124) -> list[UUID]:
    """(Re)create ``bench_lookup`` (``rows`` patient-sized rows, written with COPY) and an empty
    ``bench_insert``; return the lookup ids."""
    import asyncpg

    rng = random.Random(seed)
    ids = [UUID(int=rng.getrandbits(128), version=4) for _ in range(rows)]
    columns = (
        "id uuid primary key, tenant_id uuid not null, mrn text not null, given_name text not null, "
        "family_name text not null, birth_date date not null, phone text, email text, address jsonb, "
        "created_at timestamptz not null default now(), updated_at timestamptz not null default now()"
    )
    address = json.dumps({"line": ["1 Main Street"], "city": "Springfield", "state": "MA", "postal_code": "01101"})
    now = datetime.now(UTC)
    records = [
        (
            row_id,
            BARE_TENANT,
            f"B-{n:07d}",
            f"Given{n % 997}",
            f"Family{n % 1009}",
            date(1940, 1, 1) + timedelta(days=rng.randrange(25_000)),
            f"+1555{n:07d}",
            f"p{n}@example.org",
            address,
            now,
            now,
        )
        for n, row_id in enumerate(ids)
    ]
    conn = await asyncpg.connect(dsn)
    try:
        for table in ("bench_lookup", "bench_insert"):
            await conn.execute(f"drop table if exists {table}")
            await conn.execute(f"create table {table} ({columns})")
        await conn.copy_records_to_table(
            "bench_lookup",
            records=records,
            columns=[
                "id",
                "tenant_id",
                "mrn",
                "given_name",
                "family_name",
                "birth_date",
                "phone",
                "email",
                "address",
                "created_at",
                "updated_at",
            ],
        )
        await conn.execute("vacuum analyze bench_lookup")
    finally:
        await conn.close()
    return ids


def write_ids(ids: list[UUID]) -> Path:
    """A file of one id per line for wrk scripts (``BENCH_IDS_FILE``)."""
    handle, name = tempfile.mkstemp(prefix="bench-ids-", suffix=".txt")
    with os.fdopen(handle, "w") as out:
        out.write("\n".join(str(row_id) for row_id in ids) + "\n")
    return Path(name)


# --------------------------------------------------------------------------------------------- pgbench


def _with_database(url: str, database: str) -> str:
    from core.testing.services import with_database

    return with_database(url, database)


def _pgbench_parse(output: str) -> tuple[float, float | None]:
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", output)
    latency = re.search(r"latency average = ([\d.]+) ms", output)
    if tps is None:
        raise RuntimeError(f"unexpected pgbench output: {output[-500:]}")
    return float(tps.group(1)), float(latency.group(1)) if latency else None


def pgbench(report: Report, admin_url: str) -> None:
    """``pgbench -S -M prepared`` at each concurrency, scale 1, on a scratch database dropped afterwards."""
    binary = shutil.which("pgbench")
    if binary is None:
        report.add(
            _row("pgbench -S", None, None, "", note="pgbench is not installed (apt-get install postgresql-client)")
        )
        return
    from core.testing.services import create_database, drop_database

    database = f"bench_pgbench_{secrets.token_hex(4)}"
    asyncio.run(create_database(admin_url, database))
    url = _with_database(admin_url, database)
    seconds = max(1, round(SECONDS))
    try:
        subprocess.run([binary, "-i", "-s", "1", "-q", url], check=True, capture_output=True, text=True)
        for clients in CONCURRENCIES:
            done = subprocess.run(
                [
                    binary,
                    "-S",
                    "-M",
                    "prepared",
                    "-n",
                    "-T",
                    str(seconds),
                    "-c",
                    str(clients),
                    "-j",
                    str(min(clients, 2)),
                    url,
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            tps, latency = _pgbench_parse(done.stdout)
            note = f"latency average {latency:.3f} ms" if latency is not None and clients == CONCURRENCIES[-1] else ""
            report.add(_row("pgbench -S (select-only, scale 1)", clients, tps, "tx/s", note=note))
    finally:
        asyncio.run(drop_database(admin_url, database))


# --------------------------------------------------------------------------------------------- asyncpg


def _result(latencies: list[float], seconds: float) -> LoadResult:
    """A LoadResult of in-process calls (latencies in seconds)."""
    ordered = sorted(latencies)

    def percentile(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if ordered else 0.0

    count = len(ordered)
    return LoadResult(
        requests=count,
        seconds=seconds,
        rps=count / seconds if seconds else 0.0,
        p50_ms=percentile(50),
        p95_ms=percentile(95),
        p99_ms=percentile(99),
        errors=0,
        error_rate=0.0,
        mean_ms=statistics.fmean(ordered) * 1000 if ordered else None,
        max_ms=ordered[-1] * 1000 if ordered else None,
    )


async def _timed_loop(call: Callable[[], Awaitable[Any]], seconds: float) -> tuple[list[float], float]:
    latencies: list[float] = []
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        before = time.perf_counter()
        if before >= deadline:
            break
        await call()
        latencies.append(time.perf_counter() - before)
    return latencies, time.perf_counter() - start


async def _direct(dsn: str, ids: list[UUID]) -> dict[tuple[str, int], LoadResult]:
    import asyncpg

    from bench.servers import INSERT_SQL, LOOKUP_SQL

    rng = random.Random(7)
    results: dict[tuple[str, int], LoadResult] = {}

    def insert_args() -> tuple[Any, ...]:
        from uuid import uuid4

        row_id = uuid4()
        return (row_id, BARE_TENANT, f"D-{row_id.hex[:10]}", "Bench", "Direct", date(1970, 1, 1), None, None)

    conn = await asyncpg.connect(dsn)
    try:
        statements = {"lookup": await conn.prepare(LOOKUP_SQL), "insert": await conn.prepare(INSERT_SQL)}

        async def one_lookup() -> None:
            await statements["lookup"].fetchrow(rng.choice(ids))

        async def one_insert() -> None:
            await statements["insert"].fetchval(*insert_args())

        for kind, call in (("lookup", one_lookup), ("insert", one_insert)):
            latencies, seconds = await _timed_loop(call, DIRECT_SECONDS)
            results[(kind, 1)] = _result(latencies, seconds)
    finally:
        await conn.close()

    pool = await asyncpg.create_pool(dsn, min_size=POOL_SIZE, max_size=POOL_SIZE)
    try:
        for kind, sql in (("lookup", LOOKUP_SQL), ("insert", INSERT_SQL)):

            async def pooled(sql: str = sql, kind: str = kind) -> None:
                async with pool.acquire() as conn:
                    if kind == "lookup":
                        await conn.fetchrow(sql, rng.choice(ids))
                    else:
                        await conn.fetchval(sql, *insert_args())

            start = time.perf_counter()
            runs = await asyncio.gather(*(_timed_loop(pooled, DIRECT_SECONDS) for _ in range(POOL_SIZE)))
            seconds = time.perf_counter() - start
            results[(kind, POOL_SIZE)] = _result([lat for latencies, _ in runs for lat in latencies], seconds)
    finally:
        await pool.close()
    return results


def asyncpg_direct(report: Report, dsn: str, ids: list[UUID]) -> None:
    """Key lookup and insert through asyncpg alone: one connection, then POOL_SIZE tasks on a pool."""
    results = asyncio.run(_direct(dsn, ids))
    for (kind, concurrency), result in results.items():
        name = "asyncpg lookup by key" if kind == "lookup" else "asyncpg insert"
        note = "one connection, prepared" if concurrency == 1 else f"{POOL_SIZE} tasks on a pool of {POOL_SIZE}"
        report.add(
            _row(
                f"{name} ({'1 conn' if concurrency == 1 else 'pool'})",
                concurrency,
                None,
                "ops/s",
                result=result,
                note=note if kind == "lookup" else "",
            )
        )


# ----------------------------------------------------------------------------------------------- redis


def redis_benchmark(report: Report, url: str) -> None:
    """``redis-benchmark -t lpush,get -q --csv`` (50 clients) on database REDIS_DB, whose keys are then deleted."""
    binary = shutil.which("redis-benchmark")
    if binary is None:
        report.add(_row("redis-benchmark", None, None, "", note="redis-benchmark is not installed (redis-tools)"))
        return
    parts = urlsplit(url)
    target = (
        ["-s", parts.path]
        if parts.scheme == "unix"
        else ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 6379)]
    )
    if parts.password:
        target += ["-a", parts.password]
    done = subprocess.run(
        [binary, *target, "--dbnum", str(REDIS_DB), "-t", "lpush,get", "-n", str(REDIS_REQUESTS), "-q", "--csv"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    _redis_cleanup(url)
    for line in csv.DictReader(io.StringIO(done.stdout)):
        test = line.get("test", "")
        latency = {
            key: float(line[key]) for key in ("p50_latency_ms", "p95_latency_ms", "p99_latency_ms") if key in line
        }
        rps = float(line["rps"])
        result = LoadResult(
            requests=REDIS_REQUESTS,
            seconds=REDIS_REQUESTS / rps if rps else 0.0,
            rps=rps,
            p50_ms=latency.get("p50_latency_ms", 0.0),
            p95_ms=latency.get("p95_latency_ms", 0.0),
            p99_ms=latency.get("p99_latency_ms", 0.0),
            errors=0,
            error_rate=0.0,
        )
        report.add(_row(f"redis-benchmark {test}", 50, None, "ops/s", result=result))


def _redis_cleanup(url: str) -> None:
    import redis

    parts = urlsplit(url)
    if parts.scheme == "unix":
        client = redis.Redis(unix_socket_path=parts.path, db=REDIS_DB)
    else:
        client = redis.Redis(
            host=parts.hostname or "127.0.0.1", port=parts.port or 6379, password=parts.password, db=REDIS_DB
        )
    try:
        client.delete("mylist", "key:__rand_int__", "counter:__rand_int__")
    finally:
        client.close()


# ------------------------------------------------------------------------------------- dramatiq, pluggy


def dramatiq_noop(report: Report) -> None:
    from bench.jobs_pipeline import noop_drain

    found = noop_drain(DRAMATIQ_MESSAGES)
    note = f"{DRAMATIQ_MESSAGES} messages, one worker, {found['threads']:.0f} threads"
    report.add(_row("dramatiq enqueue, no-op actor", None, found["enqueue"], "msg/s", note=note))
    report.add(_row("dramatiq worker drain, no-op actor", None, found["drain"], "msg/s"))


def hook_calls(report: Report) -> None:
    """pluggy's hook call (the floor) and carecoord's ``emit`` for 1 and 20 plugins, microseconds per event."""
    from bench.hook_dispatch import measure

    found = asyncio.run(measure((1, 20), HOOK_ROUNDS, HOOK_CALLS))
    for count, figures in found.items():
        report.add(
            _row(f"pluggy hook call, {count} impl{'s' if count > 1 else ''}", None, figures["pluggy"], "us/call")
        )
    for count, figures in found.items():
        ratio = figures["emit"] / figures["pluggy"] if figures["pluggy"] else None
        report.add(
            Row(
                "plugins",
                f"emit to {count} enabled plugin{'s' if count > 1 else ''}",
                None,
                None,
                figures["emit"],
                "us/call",
                f"pluggy hook call, {count} impl{'s' if count > 1 else ''}",
                ratio,
                note=f"{figures['savepoints']:.0f} us of it are {count} savepoint(s) (isolation)",
            )
        )


# ------------------------------------------------------------------------------------------------ HTTP


def _wrk_row(
    report: Report,
    server: Any,
    name: str,
    path: str,
    lua: str,
    concurrency: int,
    env: dict[str, str] | None = None,
    group: str = GROUP,
    baseline: Row | None = None,
    target: float | None = None,
) -> Row:
    server.reset_peak_rss()
    result = run_wrk(f"{server.url}{path}", lua=WRK_DIR / lua, connections=concurrency, seconds=SECONDS, env=env)
    ratio = None
    if baseline is not None and baseline.result is not None and baseline.result.rps:
        ratio = result.rps / baseline.result.rps
    return report.add(
        Row(
            group,
            name,
            concurrency,
            result,
            None,
            "req/s",
            f"{baseline.name} c={baseline.concurrency}" if baseline else "",
            ratio,
            f">= {target:.2f}x" if target is not None else "",
            (ratio >= target) if (target is not None and ratio is not None) else None,
            server.peak_rss_mb(),
        )
    )


def http(report: Report, servers: Servers, ids_file: Path) -> None:
    """The bare app's /hello, /lookup and /insert at each concurrency; then the API's /health vs /hello."""
    ids = {"BENCH_IDS_FILE": str(ids_file)}
    # warm-up, not reported: opens the bare app's pool connections (min 1, max 20) and its code paths
    run_wrk(f"{servers.bare.url}/lookup/", lua=WRK_DIR / "lookup.lua", connections=32, seconds=1, env=ids)
    for concurrency in CONCURRENCIES:
        _wrk_row(report, servers.bare, BARE_HELLO, "/hello", "hello.lua", concurrency)
    for concurrency in CONCURRENCIES:
        _wrk_row(report, servers.bare, BARE_LOOKUP, "/lookup/", "lookup.lua", concurrency, ids)
    for concurrency in CONCURRENCIES:
        _wrk_row(report, servers.bare, BARE_INSERT, "/insert", "insert.lua", concurrency)
    for concurrency in CONCURRENCIES:
        _wrk_row(
            report,
            servers.api,
            "API /health (middleware stack)",
            "/health",
            "hello.lua",
            concurrency,
            group="api",
            baseline=report.find(GROUP, BARE_HELLO, concurrency),
        )
