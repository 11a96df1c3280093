"""Request ids: taken from ``X-Request-ID`` when sane, else minted; echoed on the response."""

from __future__ import annotations

import re
from uuid import uuid4

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

_SANE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id_of(scope: Scope) -> str:
    """The request's id, kept in the scope state: a sane offered ``X-Request-ID`` or a minted one."""
    state = scope.setdefault("state", {})  # type: ignore[typeddict-item,unused-ignore]
    request_id = state.get("request_id")
    if not isinstance(request_id, str):
        offered = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = offered if _SANE.fullmatch(offered) else uuid4().hex
        state["request_id"] = request_id
    return request_id


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Pins the id before anything else runs, so logs and audit events of the request carry it."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":  # type: ignore[comparison-overlap,unused-ignore]
            request_id_of(scope)
        await app(scope, receive, send)

    return middleware


async def add_request_id_header(message: Message, scope: Scope) -> None:
    """``before_send`` hook: every HTTP response carries the id, including errors raised by
    middleware (401, 429) or by routing (404, 405), which bypass route middleware's ``send``."""
    if message["type"] == "http.response.start":
        MutableScopeHeaders.from_message(message)["X-Request-ID"] = request_id_of(scope)
