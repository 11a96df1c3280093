"""HTTP load with wrk: one run -> a LoadResult (rate, latency percentiles, errors).

Every scenario script (``bench/wrk/*.lua``) is copied between ``bench/wrk/rotation.lua`` (reading a
parameter file, numbering the threads, rotating through rows from each thread's offset) and
``bench/wrk/report.lua``, which counts responses by status and defines ``done()``: it prints one
``BENCH_WRK_JSON {...}`` line parsed here. Scenario scripts read their parameters with ``os.getenv``
(pass them in ``env``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

WRK_DIR = Path(__file__).resolve().parent / "wrk"
REPORT_LUA = WRK_DIR / "report.lua"
ROTATION_LUA = WRK_DIR / "rotation.lua"
MARKER = "BENCH_WRK_JSON "
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
SECONDS = float(os.environ.get("BENCH_WRK_SECONDS", "2" if QUICK else "5"))
"""Duration of one wrk run (``BENCH_WRK_SECONDS``; 5 s, 2 s with ``BENCH_QUICK=1``)."""
CONCURRENCIES = (1, 8, 32)
TIMEOUT = "10s"
"""wrk's per-request timeout: slower answers count as errors (timeouts), not as latency."""


class WrkMissingError(RuntimeError):
    """wrk is not installed."""


@dataclass
class LoadResult:
    """One load run. Latencies in milliseconds; ``errors`` = non-2xx/3xx answers + socket errors."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    error_rate: float
    statuses: dict[str, int] = field(default_factory=dict)
    socket_errors: dict[str, int] = field(default_factory=dict)
    mean_ms: float | None = None
    max_ms: float | None = None


def wrk_binary() -> str:
    """The wrk executable, or WrkMissingError with what to do."""
    found = shutil.which("wrk")
    if found is None:
        raise WrkMissingError(
            "wrk is not installed: `make bench` installs it (apt-get install -y wrk, with sudo if not root); "
            "or install it yourself and run `python -m bench` again"
        )
    return found


def _script(lua: Path | None, folder: Path) -> Path:
    """The scenario (if any) between rotation.lua (shared helpers) and report.lua, written into ``folder``."""
    parts = [ROTATION_LUA.read_text(), lua.read_text()] if lua is not None else []
    parts.append(REPORT_LUA.read_text())
    composed = folder / f"{lua.stem if lua else 'plain'}.lua"
    composed.write_text("\n".join(parts))
    return composed


def parse(output: str) -> LoadResult:
    """The LoadResult of wrk's stdout (the line report.lua printed)."""
    line = next((row for row in output.splitlines() if row.startswith(MARKER)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no {MARKER.strip()} line:\n{output[-2000:]}")
    raw = json.loads(line[len(MARKER) :])
    statuses = {str(code): int(n) for code, n in raw["statuses"].items()}
    socket_errors = {name: int(raw["errors"][name]) for name in ("connect", "read", "write", "timeout")}
    bad_answers = (
        sum(n for code, n in statuses.items() if not 200 <= int(code) < 400) if statuses else raw["errors"]["status"]
    )
    requests = int(raw["requests"])
    seconds = raw["duration_us"] / 1e6
    errors = int(bad_answers) + sum(socket_errors.values())
    latency = raw["latency_us"]
    return LoadResult(
        requests=requests,
        seconds=seconds,
        rps=requests / seconds if seconds else 0.0,
        p50_ms=latency["p50"] / 1000,
        p95_ms=latency["p95"] / 1000,
        p99_ms=latency["p99"] / 1000,
        errors=errors,
        error_rate=errors / max(1, requests + sum(socket_errors.values())),
        statuses=statuses,
        socket_errors=socket_errors,
        mean_ms=latency["mean"] / 1000,
        max_ms=latency["max"] / 1000,
    )


def run_wrk(
    url: str,
    *,
    lua: Path | None,
    connections: int,
    seconds: float,
    threads: int = 2,
    env: dict[str, str] | None = None,
) -> LoadResult:
    """Load ``url`` with ``connections`` keep-alive connections for ``seconds`` (wrk, ``threads`` threads)."""
    binary = wrk_binary()
    threads = max(1, min(threads, connections))
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        script = _script(lua, Path(folder))
        command = [
            binary,
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{max(1, round(seconds))}s",
            "--timeout",
            TIMEOUT,
            "-s",
            str(script),
            url,
        ]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env={**os.environ, "BENCH_WRK_REPORT": str(REPORT_LUA), **(env or {})},
            timeout=seconds + 60,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return parse(done.stdout)
