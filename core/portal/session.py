"""The portal's login session: a server-side session (Redis) behind an HttpOnly cookie.

The cookie carries only a random session id. The session holds who is logged in and their API tokens,
which never reach the browser. It ends after ``PORTAL_IDLE_TIMEOUT_SECONDS`` without a request (the
store entry expires and the page counts down too), ``PORTAL_ABSOLUTE_TIMEOUT_SECONDS`` after login
whatever the activity, at logout, or when the API refuses to refresh its tokens (user disabled,
session revoked, organization suspended).
"""

from __future__ import annotations

import time
from typing import Any, cast
from uuid import UUID

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from redis.asyncio import Redis

from core.auth import login as login_flow
from core.auth.permissions import permissions_for
from core.auth.schemas import TokenResponse
from core.auth.tokens import decode_access_token
from core.db.tenant import platform_transaction
from core.portal.session_backend import rotate_session_id
from core.settings import Settings

_STATE_KEY = "portal_user"
REFRESH_MARGIN_SECONDS = 60


class PortalUser(msgspec.Struct, kw_only=True):
    """The logged-in user of a portal request, as kept in the session."""

    tenant_id: UUID
    tenant_slug: str
    tenant_name: str
    time_zone: str
    user_id: UUID
    email: str
    name: str
    role: str
    access_token: str
    access_expires_at: float
    refresh_token: str
    login_at: float
    seen_at: float
    mfa_pending: bool = False

    @property
    def permissions(self) -> frozenset[str]:
        return permissions_for(self.role)

    def can(self, permission: str) -> bool:
        return not self.mfa_pending and permission in self.permissions


class LoginRequiredError(Exception):
    """No (or no longer a) logged-in session: the page sends the browser to the login form."""

    def __init__(self, reason: str = "required") -> None:
        super().__init__(reason)
        self.reason = reason


class MfaEnrolmentRequiredError(Exception):
    """Logged in, but the organization requires MFA and this user has not enrolled yet."""


def _settings(connection: ASGIConnection[Any, Any, Any, Any]) -> Settings:
    return cast(Settings, connection.app.state.settings)


async def _user_from_tokens(tokens: TokenResponse, login_at: float, secret: str) -> PortalUser:
    token = decode_access_token(tokens.access_token, secret)
    tenant_id, user_id = UUID(token.extras["tid"]), UUID(token.sub)
    async with platform_transaction() as tx:
        tenant = await tx.fetchrow("select slug, name, time_zone from tenants where id = $1", tenant_id)
        await tx.set_tenant(tenant_id)
        user = await tx.fetchrow("select email, full_name from users where id = $1", user_id)
    now = time.time()
    return PortalUser(
        tenant_id=tenant_id,
        tenant_slug=tenant["slug"],
        tenant_name=tenant["name"],
        time_zone=tenant["time_zone"],
        user_id=user_id,
        email=user["email"],
        name=user["full_name"] or user["email"],
        role=str(token.extras["role"]),
        access_token=tokens.access_token,
        access_expires_at=now + tokens.expires_in,
        refresh_token=tokens.refresh_token,
        login_at=login_at,
        seen_at=now,
        mfa_pending=bool(token.extras.get("mfa_pending", False)),
    )


async def start_session(request: Request[Any, Any, Any], tokens: TokenResponse) -> PortalUser:
    """Log the browser in with a fresh token pair (a new session id: no fixation)."""
    user = await _user_from_tokens(tokens, time.time(), _settings(request).jwt_secret())
    rotate_session_id(request)
    request.set_session(msgspec.to_builtins(user))
    request.scope.setdefault("state", {})[_STATE_KEY] = user
    return user


async def renew_tokens(request: Request[Any, Any, Any], user: PortalUser) -> PortalUser:
    """A new token pair now (after MFA enrolment, a role change): raises :class:`LoginRequiredError` if refused."""
    settings = _settings(request)
    try:
        tokens = await login_flow.refresh(settings, cast(Redis, request.app.state.redis), user.refresh_token)
    except login_flow.LoginError:
        request.clear_session()
        raise LoginRequiredError("ended") from None
    renewed = await _user_from_tokens(tokens, user.login_at, settings.jwt_secret())
    request.set_session(msgspec.to_builtins(renewed))
    request.scope.setdefault("state", {})[_STATE_KEY] = renewed
    return renewed


def end_session(request: Request[Any, Any, Any]) -> None:
    request.clear_session()
    request.scope.setdefault("state", {}).pop(_STATE_KEY, None)


def session_user(request: Request[Any, Any, Any]) -> PortalUser | None:
    """The session's user as stored (no timeout checks), or None."""
    data = request.session if request.scope.get("session") else None
    if not data or "user_id" not in data:
        return None
    try:
        return msgspec.convert(data, PortalUser)
    except msgspec.ValidationError:
        return None


def current_user(request: Request[Any, Any, Any]) -> PortalUser | None:
    """The user :func:`require_portal_login` checked for this request."""
    return cast(PortalUser | None, request.scope.get("state", {}).get(_STATE_KEY))


async def require_portal_login(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard of every non-public portal page: a live session, within both timeouts, with fresh tokens.

    Requests marked ``opt={"passive": True}`` (progress polling) do not count as activity.
    """
    if handler.opt.get("portal_public"):
        return
    request = cast(Request[Any, Any, Any], connection)
    user = session_user(request)
    if user is None:
        raise LoginRequiredError("required")
    settings = _settings(connection)
    now = time.time()
    if now - user.login_at > settings.portal_absolute_timeout_seconds:
        end_session(request)
        raise LoginRequiredError("expired")
    if now - user.seen_at > settings.portal_idle_timeout_seconds:
        end_session(request)
        raise LoginRequiredError("idle")
    if user.access_expires_at - now < REFRESH_MARGIN_SECONDS:
        user = await renew_tokens(request, user)
    if not handler.opt.get("passive"):
        user.seen_at = now
        request.set_session(msgspec.to_builtins(user))
    request.scope.setdefault("state", {})[_STATE_KEY] = user
    if user.mfa_pending and not handler.opt.get("mfa_enrolment"):
        raise MfaEnrolmentRequiredError()
