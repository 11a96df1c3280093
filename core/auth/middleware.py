"""Authentication: bearer JWT or API key -> :class:`Principal`. Deny by default.

Every route requires a credential unless its handler sets ``opt={"public": True}``.
The tenant comes from the verified credential only, never from a header or body.
"""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.base import DefineMiddleware
from litestar.types import ASGIApp

from core.auth.permissions import api_key_scopes, permissions_for
from core.auth.principal import Principal
from core.auth.secrets import API_KEY_PREFIX, parse, same_digest
from core.auth.sessions import is_session_revoked
from core.auth.tokens import decode_access_token
from core.db.tenant import tenant_transaction
from core.settings import Settings

PUBLIC_PATHS = ["^/health$", "^/ready$", "^/schema", "^/metrics$", "^/static/"]


class AuthMiddleware(AbstractAuthenticationMiddleware):
    """Resolves the caller; anonymous requests to non-public routes get 401."""

    def __init__(self, app: ASGIApp, **kwargs: Any) -> None:
        super().__init__(app, exclude=PUBLIC_PATHS, exclude_from_auth_key="public", **kwargs)

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        settings = cast(Settings, connection.app.state.settings)
        header = connection.headers.get("authorization", "")
        api_key = connection.headers.get("x-api-key")
        scheme, _, credential = header.partition(" ")
        if header and scheme.lower() != "bearer":
            raise NotAuthorizedException("Use a Bearer token or an X-API-Key header")
        if credential.startswith(f"{API_KEY_PREFIX}_"):
            api_key, credential = credential, ""
        if api_key:
            principal = await _principal_from_api_key(api_key)
        elif credential:
            principal = await _principal_from_jwt(connection, credential, settings)
        else:
            raise NotAuthorizedException("Authentication required")
        if principal.mfa_pending and not connection.route_handler.opt.get("mfa_enrolment"):
            raise PermissionDeniedException("Multi-factor enrolment required before anything else")
        return AuthenticationResult(user=principal, auth=None)


async def _principal_from_jwt(
    connection: ASGIConnection[Any, Any, Any, Any], encoded: str, settings: Settings
) -> Principal:
    token = decode_access_token(encoded, settings.jwt_secret())
    try:
        tenant_id = UUID(token.extras["tid"])
        session_id = UUID(token.extras["sid"])
        user_id = UUID(token.sub)
        permissions = permissions_for(str(token.extras["role"]))
    except (KeyError, ValueError):
        raise NotAuthorizedException("Invalid token") from None
    if await is_session_revoked(connection.app.state.redis, session_id):
        raise NotAuthorizedException("Session has ended")
    return Principal(
        tenant_id=tenant_id,
        actor_id=user_id,
        kind="user",
        role=str(token.extras["role"]),
        permissions=permissions,
        session_id=session_id,
        mfa_pending=bool(token.extras.get("mfa_pending", False)),
    )


async def _principal_from_api_key(key: str) -> Principal:
    parsed = parse(API_KEY_PREFIX, key)
    if parsed is None:
        raise NotAuthorizedException("Invalid API key")
    tenant_id, key_id, secret = parsed
    async with tenant_transaction(tenant_id) as tx:
        row = await tx.fetchrow(
            "update api_keys set last_used_at = now() "
            "where id = $1 and revoked_at is null returning secret_hash, scopes",
            key_id,
        )
    if row is None or not same_digest(secret, row["secret_hash"]):
        raise NotAuthorizedException("Invalid API key")
    scopes = frozenset(row["scopes"]) & api_key_scopes()
    return Principal(tenant_id=tenant_id, actor_id=key_id, kind="api_key", role=None, permissions=scopes)


auth_middleware = DefineMiddleware(AuthMiddleware)
