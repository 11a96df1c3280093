"""The suite's report: rows (each with its same-run baseline and ratio), a table, JSON, run metadata."""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from bench.loadgen import LoadResult

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Row:
    """One measured figure. ``ratio`` is ours / ``baseline`` in the row's unit (for a rate, higher is better;
    for a cost such as microseconds per call, lower is). ``result`` is set for load runs (wrk or in-process)."""

    group: str
    name: str
    concurrency: int | None
    result: LoadResult | None
    value: float | None
    unit: str
    baseline: str
    ratio: float | None
    target: str = ""
    met: bool | None = None
    peak_rss_mb: float | None = None
    note: str = ""

    @property
    def shown_value(self) -> float | None:
        """``value``, or the load run's requests per second."""
        if self.value is not None:
            return self.value
        return self.result.rps if self.result is not None else None


class Report:
    """Rows in the order they were measured."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: list[Row] = []
        self.started = time.monotonic()

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def find(self, group: str, name: str, concurrency: int | None = None) -> Row | None:
        """The last row with this group, name (and concurrency, when given)."""
        for row in reversed(self.rows):
            if row.group == group and row.name == name and (concurrency is None or row.concurrency == concurrency):
                return row
        return None

    def table(self) -> list[list[str]]:
        header = [
            "group",
            "name",
            "c",
            "value",
            "unit",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "errors",
            "peak RSS MB",
            "baseline",
            "ratio",
            "target",
            "met",
        ]
        lines = [header]
        for row in self.rows:
            result = row.result
            lines.append(
                [
                    row.group,
                    row.name,
                    "" if row.concurrency is None else str(row.concurrency),
                    _number(row.shown_value),
                    row.unit or ("req/s" if result is not None else ""),
                    _ms(result.p50_ms) if result else "",
                    _ms(result.p95_ms) if result else "",
                    _ms(result.p99_ms) if result else "",
                    _errors(result),
                    "" if row.peak_rss_mb is None else f"{row.peak_rss_mb:.0f}",
                    row.baseline,
                    "" if row.ratio is None else f"{row.ratio:.2f}x",
                    row.target,
                    {None: "", True: "yes", False: "NO"}[row.met],
                ]
            )
        return lines

    def print_table(self, out: TextIO | None = None) -> None:
        out = out or sys.stdout
        lines = self.table()
        numeric = {2, 3, 5, 6, 7, 8, 9, 11}
        widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
        print(f"\n{self.title}", file=out)
        for index, line in enumerate(lines):
            cells = [cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i]) for i, cell in enumerate(line)]
            print("  ".join(cells).rstrip(), file=out)
            if index == 0:
                print("  ".join("-" * width for width in widths), file=out)
        notes = [(row.name, row.note) for row in self.rows if row.note]
        if notes:
            print("\nnotes:", file=out)
            for name, note in notes:
                line = " ".join(note.split())
                print(f"  {name}: {line if len(line) <= 300 else line[:297] + '...'}", file=out)
        missed = [row for row in self.rows if row.met is False]
        met = [row for row in self.rows if row.met is True]
        print(f"\ntargets: {len(met)} met, {len(missed)} missed", file=out)
        out.flush()

    def to_dict(self, metadata: dict[str, Any]) -> dict[str, Any]:
        rows = []
        for row in self.rows:
            data = asdict(row)
            data["value"] = row.shown_value
            rows.append(data)
        return {
            "title": self.title,
            "metadata": metadata,
            "elapsed_seconds": round(time.monotonic() - self.started, 1),
            "rows": rows,
        }

    def write_json(self, path: str | Path, metadata: dict[str, Any]) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.to_dict(metadata), indent=2, default=str) + "\n")
        return target


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _errors(result: LoadResult | None) -> str:
    if result is None:
        return ""
    if not result.errors:
        return "0"
    return f"{result.errors} ({result.error_rate:.1%})"


# ------------------------------------------------------------------------------------------- metadata


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _command(*args: str) -> str | None:
    if shutil.which(args[0]) is None:
        return None
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=10, check=False, cwd=ROOT)
    except (OSError, subprocess.SubprocessError):
        return None
    return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr).strip() else None


def _git() -> dict[str, Any]:
    sha = _command("git", "rev-parse", "HEAD")
    dirty = _command("git", "status", "--porcelain", "--untracked-files=no")
    return {"sha": sha, "dirty": bool(dirty)}


async def _postgres() -> dict[str, Any]:
    import asyncpg

    dsn = os.environ.get("DATABASE_URL")
    if not dsn:
        return {}
    conn = await asyncpg.connect(dsn)
    try:
        version = await conn.fetchval("show server_version")
        found = {"version": version, "full": await conn.fetchval("select version()")}
        for setting in ("shared_buffers", "synchronous_commit", "max_connections"):
            found[setting] = await conn.fetchval(f"show {setting}")
        try:
            found["data_directory"] = await conn.fetchval("show data_directory")
        except asyncpg.PostgresError:
            found["data_directory"] = None
        return found
    finally:
        await conn.close()


def _redis() -> dict[str, Any]:
    import redis

    url = os.environ.get("REDIS_URL")
    if not url:
        return {}
    client = redis.Redis.from_url(url)
    try:
        info = client.info("server")
        return {"version": info.get("redis_version"), "mode": info.get("redis_mode")}
    finally:
        client.close()


def fsync_ms(folder: str | None, writes: int = 50) -> tuple[float | None, str]:
    """Median milliseconds of ``writes`` write+fsync of 8 KiB in ``folder`` (a temporary folder if unusable)."""
    candidates = [folder] if folder else []
    candidates.append(tempfile.gettempdir())
    block = os.urandom(8192)
    for candidate in candidates:
        if not candidate or not os.access(candidate, os.W_OK):
            continue
        path = Path(candidate) / f"bench-fsync-{os.getpid()}.tmp"
        try:
            samples = []
            with open(path, "wb") as handle:
                for _ in range(writes):
                    start = time.perf_counter()
                    handle.write(block)
                    handle.flush()
                    os.fsync(handle.fileno())
                    samples.append((time.perf_counter() - start) * 1000)
            return statistics.median(samples), candidate
        except OSError:
            continue
        finally:
            path.unlink(missing_ok=True)
    return None, ""


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        return None
    return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def run_metadata(**extra: Any) -> dict[str, Any]:
    """Versions, machine and storage facts of this run (DATABASE_URL / REDIS_URL as exported), plus ``extra``."""
    try:
        postgres = asyncio.run(_postgres())
    except Exception as exc:  # noqa: BLE001 - metadata is best effort
        postgres = {"error": str(exc)}
    try:
        redis_info = _redis()
    except Exception as exc:  # noqa: BLE001 - metadata is best effort
        redis_info = {"error": str(exc)}
    fsync, fsync_dir = fsync_ms(postgres.get("data_directory"))
    return {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "carecoord_git": _git(),
        "python": platform.python_version(),
        "postgres": postgres,
        "redis": redis_info,
        "packages": {
            name: _version(name)
            for name in ("litestar", "asyncpg", "uvicorn", "msgspec", "dramatiq", "pluggy", "uvloop", "httptools")
        },
        "tools": {
            "wrk": _command("wrk", "--version"),
            "pgbench": _command("pgbench", "--version"),
            "redis-benchmark": _command("redis-benchmark", "--version"),
        },
        "machine": {
            "cores": os.cpu_count(),
            "ram_gib": _memory_gib(),
            "cpu": _cpu_model(),
            "kernel": platform.release(),
            "load_average": list(os.getloadavg()),
        },
        "disk_fsync_8k_median_ms": None if fsync is None else round(fsync, 3),
        "disk_fsync_dir": fsync_dir,
        "quick": os.environ.get("BENCH_QUICK", "") not in ("", "0"),
        **extra,
    }
