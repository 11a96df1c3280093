"""Servers under load, each its own process on a free port, started and stopped by context managers.

- ``carecoord_api()``: the real API, ``python -m core.cli serve --port N`` (uvicorn, one process).
- ``bare_app()``: the floor, a bare litestar app served by uvicorn with the same settings as
  ``carecoord serve`` (uvloop/httptools when installed, no access log, no proxy headers, no server
  header) and an asyncpg pool of the same size as the API's (``DB_POOL_MAX_SIZE``, 20):
  ``GET /hello`` (plain text), ``GET /lookup/{id}`` (one ``fetchrow`` by primary key from
  ``bench_lookup``) and ``POST /insert`` (one insert into ``bench_insert``); the tables are made by
  ``bench.baselines.prepare_tables``.
- ``peak_rss_mb(pid)``: VmHWM from /proc, children included; ``reset_peak_rss(pid)`` restarts it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import msgspec
from litestar import Litestar, MediaType, get, post
from litestar.exceptions import NotFoundException

ROOT = Path(__file__).resolve().parent.parent
SERVE_ENV = {"LOG_LEVEL": "WARNING", "ACCESS_TOKEN_TTL_SECONDS": "7200"}
"""Added to every server's environment (quiet logs; access tokens outlive the run)."""
START_SECONDS = 90


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def peak_rss_mb(self) -> float | None:
        return peak_rss_mb(self.pid)

    def reset_peak_rss(self) -> bool:
        return reset_peak_rss(self.pid)


@dataclass
class Servers:
    """What the suite hands to the workloads: the API and the bare app, both running."""

    api: Server
    bare: Server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc/PID/task/*/children)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                kids = [int(kid) for kid in (task / "children").read_text().split()]
            except OSError:
                continue
            found.extend(kids)
            pending.extend(kids)
    return found


def peak_rss_mb(pid: int, *, children: bool = True) -> float | None:
    """Peak resident memory (VmHWM) of ``pid``, plus its descendants' when ``children``, in MiB."""
    total_kib = 0
    seen = False
    for each in [pid, *(_children(pid) if children else [])]:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total_kib += int(line.split()[1])
                    seen = True
        except OSError:
            continue
    return total_kib / 1024 if seen else None


def reset_peak_rss(pid: int) -> bool:
    """Restart VmHWM at the current RSS (``echo 5 > /proc/PID/clear_refs``) for ``pid`` and its descendants."""
    done = False
    for each in [pid, *_children(pid)]:
        try:
            Path(f"/proc/{each}/clear_refs").write_text("5")
            done = True
        except OSError:
            continue
    return done


def _environment(env: dict[str, str] | None) -> dict[str, str]:
    return {**os.environ, **SERVE_ENV, **(env or {})}


@contextmanager
def _serve(name: str, arguments: list[str], port: int, env: dict[str, str] | None) -> Iterator[Server]:
    """Run ``python -m <arguments>`` in its own session; ready when GET /health answers 200."""
    import httpx

    log = Path(tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".log")[1])
    with open(log, "wb") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", *arguments],
            env=_environment(env),
            cwd=ROOT,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    server = Server(name, f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} ({' '.join(arguments)}) did not start:\n{tail}")
            time.sleep(0.2)
        yield server
    finally:
        stop(process)
        log.unlink(missing_ok=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, SIGKILL after 10 s."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass


@contextmanager
def carecoord_api(env: dict[str, str] | None = None) -> Iterator[Server]:
    """The real API on a free port (``python -m core.cli serve``), with the bench environment plus ``env``."""
    port = free_port()
    with _serve("api", ["core.cli", "serve", "--port", str(port)], port, env) as server:
        yield server


def uvicorn_arguments(factory: str, port: int) -> list[str]:
    """uvicorn's command line matching ``carecoord serve`` (core/cli.py) for an app factory."""
    return [
        "uvicorn",
        factory,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--no-proxy-headers",
        "--no-server-header",
    ]


@contextmanager
def bare_app(env: dict[str, str] | None = None) -> Iterator[Server]:
    """The bare litestar app (``create_bare_app``) on a free port."""
    port = free_port()
    with _serve("bare", uvicorn_arguments("bench.servers:create_bare_app", port), port, env) as server:
        yield server


@contextmanager
def start_all(api_env: dict[str, str] | None = None) -> Iterator[Servers]:
    with carecoord_api(api_env) as api, bare_app() as bare:
        yield Servers(api=api, bare=bare)


# ------------------------------------------------------------------------------------------ the bare app

LOOKUP_SQL = (
    "select id, tenant_id, mrn, given_name, family_name, birth_date, phone, email, address, created_at, updated_at "
    "from bench_lookup where id = $1"
)
INSERT_SQL = (
    "insert into bench_insert (id, tenant_id, mrn, given_name, family_name, birth_date, phone, email) "
    "values ($1, $2, $3, $4, $5, $6, $7, $8) returning created_at"
)
BARE_TENANT = UUID(int=0xBE)
_bare: dict[str, Any] = {}


class NewRow(msgspec.Struct):
    """The bare /insert body: a patient-sized row."""

    given_name: str
    family_name: str
    birth_date: date
    phone: str | None = None
    email: str | None = None


async def _open_pool() -> None:
    import asyncpg

    from core.settings import get_settings

    size = get_settings().db_pool_max_size
    _bare["pool"] = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=1, max_size=size)


async def _close_pool() -> None:
    await _bare["pool"].close()


@get("/hello", media_type=MediaType.TEXT)
async def hello() -> str:
    return "Hello, world!"


@get("/lookup/{row_id:uuid}")
async def lookup(row_id: UUID) -> dict[str, Any]:
    async with _bare["pool"].acquire() as conn:
        found = await conn.fetchrow(LOOKUP_SQL, row_id)
    if found is None:
        raise NotFoundException()
    row = dict(found)
    row["address"] = msgspec.json.decode(row["address"]) if row["address"] else None
    return row


@post("/insert", status_code=201)
async def insert(data: NewRow) -> dict[str, Any]:
    row_id = uuid4()
    async with _bare["pool"].acquire() as conn:
        created = await conn.fetchval(
            INSERT_SQL, row_id, BARE_TENANT, f"B-{row_id.hex[:10]}", data.given_name, data.family_name,
            data.birth_date, data.phone, data.email,
        )  # fmt: skip
    return {"id": row_id, "created_at": created}


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


def create_bare_app() -> Litestar:
    """The floor for the API: the same stack (litestar, msgspec, uvicorn, asyncpg), no carecoord."""
    return Litestar([hello, lookup, insert, health], on_startup=[_open_pool], on_shutdown=[_close_pool])


class PostgresMemory:
    """Samples PostgreSQL's private memory while the suite runs: the sum of RssAnon over every process
    named ``postgres`` (backends, autovacuum, checkpointer...), every ``interval`` seconds, keeping the
    peak since the last ``take()``. Shared buffers are shared memory and counted once, in ``settings``
    (``shared_buffers``), not here. Processes it may not read (another user's, without root) are skipped."""

    def __init__(self, interval: float = 0.5) -> None:
        import threading

        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="postgres-memory", daemon=True)

    def start(self) -> PostgresMemory:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def take(self) -> float:
        """The peak since the last call (MiB), and start a new one."""
        peak, self.peak_mb = self.peak_mb, self.now_mb()
        return round(max(peak, self.peak_mb), 1)

    @staticmethod
    def now_mb() -> float:
        total_kib = 0
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                text = status.read_text()
            except OSError:
                continue
            if not text.startswith("Name:\tpostgres"):
                continue
            for line in text.splitlines():
                if line.startswith("RssAnon:"):
                    total_kib += int(line.split()[1])
                    break
        return total_kib / 1024

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mb = max(self.peak_mb, self.now_mb())
