"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from litestar import Request, get
from litestar.response import Response

from core.db.engine import engine

log = logging.getLogger(__name__)


@get("/health", opt={"public": True}, tags=["operations"], summary="Liveness", include_in_schema=True)
async def health() -> dict[str, str]:
    """The process is up; says nothing about its dependencies."""
    return {"status": "ok"}


@get("/ready", opt={"public": True}, tags=["operations"], summary="Readiness")
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """200 when PostgreSQL and Redis both answer within two seconds, else 503."""
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(2):
            await engine()._run_in_pool("select 1")
        checks["database"] = "ok"
    except Exception:
        log.warning("readiness: database unavailable", exc_info=True)
        checks["database"] = "unavailable"
    try:
        async with asyncio.timeout(2):
            await request.app.state.redis.ping()
        checks["redis"] = "ok"
    except Exception:
        log.warning("readiness: redis unavailable", exc_info=True)
        checks["redis"] = "unavailable"
    ok = all(v == "ok" for v in checks.values())
    body: dict[str, Any] = {"status": "ready" if ok else "not ready", "checks": checks}
    if ok:
        return Response(body, status_code=200)
    body.update({"type": "/problems/unavailable", "title": "Service Unavailable", "status": 503})
    return Response(body, status_code=503, media_type="application/problem+json")
