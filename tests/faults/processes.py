"""The pieces a fault test breaks: a PostgreSQL cluster of its own and carecoord's processes.

``PostgresCluster`` runs the pgserver wheel's PostgreSQL (as the embedded default does) on a data folder of
the test's own, so it can be crashed (``pg_ctl stop -m immediate``: no checkpoint, recovery from the WAL at
the next start) and started again at the same address. Redis is ``tests.workers.conftest.RedisServer`` with
its append-only file. ``Service`` is one ``carecoord`` command in a process group of its own, so SIGKILL
takes its children (a worker's forked processes) with it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


class PostgresCluster:
    """A pgserver PostgreSQL on a unix socket in its data folder; ``crash`` and ``start`` keep the address."""

    def __init__(self) -> None:
        self.pgdata = Path(tempfile.mkdtemp(prefix="carecoord-faults-pg-"))
        self.server: Any = None
        self.url = ""

    def start(self) -> None:
        if self.server is None:
            import pgserver  # type: ignore[attr-defined,unused-ignore]

            self.server = pgserver.get_server(self.pgdata, cleanup_mode="stop")  # type: ignore[attr-defined,unused-ignore]
            self.url = self.server.get_uri()
            return
        with self.server._lock:
            self.server.ensure_postgres_running()
        assert self.server.get_uri() == self.url, "PostgreSQL came back at another address"

    def crash(self) -> None:
        """Stop without a checkpoint, as a power cut would; clients' connections are cut."""
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined,import-untyped,unused-ignore]

        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=self.pgdata, user=self.server.system_user)

    def close(self) -> None:
        if self.server is None:
            return
        from core.embedded import _stop_postgres

        _stop_postgres(self.server)


class Service:
    """``python -m core.cli <args>`` with its output in ``log``; SIGKILL and start again at will."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with open(self.log, "ab") as out:
            out.write(f"\n=== start {self.starts} ===\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "core.cli", *self.args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL to the whole process group: no shutdown code runs, in-flight work is cut off."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 20) -> bool:
        """SIGTERM to the process group, SIGKILL after ``timeout``; whether it exited by itself in time."""
        if self.process is None or self.process.poll() is not None:
            return True
        os.killpg(self.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.process.poll() is None:
            self.kill()
            return False
        return True

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
