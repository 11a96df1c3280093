"""Litestar's server-side sessions, with two changes the portal needs.

- An anonymous visitor gets no session: litestar stores (and sets a cookie for) an empty session on
  every response; here nothing is stored until someone logs in.
- Logging in takes a brand-new session id (:func:`rotate_session_id`), so an id planted before login
  (session fixation) is worthless afterwards; the old entry is deleted.
- Redis failing between reading the session and writing it back (the write happens as the answer starts,
  after the page was made) does not turn the answer into a 500: the page goes out without the write (its
  idle clock not renewed, a flash message or a refreshed token lost; at worst the user logs in again) and
  a logout still clears the cookie.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import Empty, Message, ScopeSession
from litestar.utils.dataclass import extract_dataclass_items

from core.http.problems import OUTAGES

log = logging.getLogger("carecoord.portal")

_NEW_ID = "portal_new_session_id"


def rotate_session_id(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Store this request's session under a fresh id (call when logging in)."""
    connection.scope.setdefault("state", {})[_NEW_ID] = True


class PortalSessionBackend(ServerSideSessionBackend):
    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        state = connection.scope.setdefault("state", {})
        if state.get(_NEW_ID) is True:
            state[_NEW_ID] = self.generate_session_id()
        if isinstance(state.get(_NEW_ID), str):
            return str(state[_NEW_ID])
        return super().get_session_id(connection)

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        old_id = connection.cookies.get(self.config.key)
        if scope_session is not Empty and not scope_session and (not old_id or old_id == "null"):
            return  # nobody logged in and no session to end: no cookie, nothing stored
        try:
            if connection.scope.get("state", {}).get(_NEW_ID) and old_id and old_id != "null":
                await self.delete(old_id, store=self.config.get_store_from_app(connection.scope["app"]))
            await super().store_in_message(scope_session, message, connection)
        except OUTAGES as exc:
            log.warning("portal session not saved, the answer goes out without it: %s: %s", type(exc).__name__, exc)
            if scope_session is Empty:  # a logout: the browser forgets the id; the entry expires by itself
                params = dict(extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys()))
                forget = Cookie(value="null", key=self.config.key, expires=0, **params)
                MutableScopeHeaders.from_message(message).add("Set-Cookie", forget.to_header(header=""))


@dataclass
class PortalSessionConfig(ServerSideSessionConfig):
    _backend_class: type[ServerSideSessionBackend] = PortalSessionBackend
