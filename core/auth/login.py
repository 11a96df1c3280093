"""Login, refresh-token rotation with reuse detection, and logout.

Refresh tokens are opaque (``ccr_<tenant>_<id>_<secret>``), stored as SHA-256
and single-use. Presenting one that was already used means it leaked: the
whole family (every token of that login) is revoked, and so is the session its
access tokens carry.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from redis.asyncio import Redis

from core.audit.service import append_event
from core.auth.mfa import accepted_counter
from core.auth.passwords import hash_password, needs_rehash, verify_password
from core.auth.schemas import TokenRequest, TokenResponse
from core.auth.secrets import REFRESH_PREFIX, compose, digest, new_secret, parse, same_digest
from core.auth.sessions import revoke_session
from core.auth.tokens import issue_access_token
from core.db.tenant import ACTIVE_STATUSES, Tx, platform_transaction, tenant_transaction
from core.settings import Settings


class LoginError(Exception):
    """Credentials refused. ``reason`` is for logs; callers show one message for all.

    ``pending`` is set only after the right password of a user who has not confirmed the e-mail
    address yet (the portal offers to send the link again); the API still answers 401.
    """

    def __init__(self, reason: str, *, mfa_required: bool = False, pending: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.mfa_required = mfa_required
        self.pending = pending


class TenantInactiveLoginError(Exception):
    """Right password, but the organization is suspended or closed."""


async def login(settings: Settings, request: TokenRequest, *, ip: str | None, request_id: str | None) -> TokenResponse:
    async with platform_transaction() as tx:
        tenant = await tx.fetchrow(
            "select id, status, mfa_required from tenants where slug = $1", request.tenant.lower()
        )
        if tenant is None:
            verify_password(None, request.password)
            raise LoginError("unknown tenant")
        await tx.set_tenant(tenant["id"])
        user = await tx.fetchrow(
            "select id, role, status, password_hash, mfa_enabled, totp_secret, totp_last_counter "
            "from users where lower(email) = lower($1)",
            request.email,
        )
        if not verify_password(user["password_hash"] if user else None, request.password):
            raise LoginError("bad password or unknown user")
        if user["status"] == "pending":
            raise LoginError("user pending", pending=True)
        if user["status"] != "active":
            raise LoginError("user disabled")
        if tenant["status"] not in ACTIVE_STATUSES:
            raise TenantInactiveLoginError(tenant["status"])
        if needs_rehash(user["password_hash"]):
            await tx.execute(
                "update users set password_hash = $2 where id = $1", user["id"], hash_password(request.password)
            )
        if user["mfa_enabled"]:
            await _check_totp(tx, user, request.totp)
        mfa_pending = bool(tenant["mfa_required"]) and not user["mfa_enabled"]
        response = await _issue_pair(tx, settings, tenant["id"], user["id"], user["role"], uuid4(), mfa_pending)
        await append_event(
            tx,
            tenant_id=tenant["id"],
            actor_type="user",
            actor_id=user["id"],
            action="auth.login",
            resource_type="user",
            resource_id=user["id"],
            ip=ip,
            request_id=request_id,
            details={"mfa": bool(user["mfa_enabled"])},
        )
        return response


async def _check_totp(tx: Tx, user: Any, code: str | None) -> None:
    if code is None:
        raise LoginError("totp missing", mfa_required=True)
    counter = accepted_counter(user["totp_secret"], code, user["totp_last_counter"])
    if counter is None:
        raise LoginError("totp wrong or replayed", mfa_required=True)
    await tx.execute("update users set totp_last_counter = $2 where id = $1", user["id"], counter)


async def _issue_pair(
    tx: Tx, settings: Settings, tenant_id: UUID, user_id: UUID, role: str, family_id: UUID, mfa_pending: bool
) -> TokenResponse:
    secret = new_secret()
    token_id = uuid4()
    await tx.execute(
        "insert into refresh_tokens (tenant_id, id, user_id, family_id, token_hash, expires_at) "
        "values ($1, $2, $3, $4, $5, $6)",
        tenant_id,
        token_id,
        user_id,
        family_id,
        digest(secret),
        datetime.now(UTC) + timedelta(seconds=settings.refresh_token_ttl_seconds),
    )
    ttl = settings.access_token_ttl_seconds
    access = issue_access_token(
        secret=settings.jwt_secret(),
        ttl_seconds=ttl,
        user_id=user_id,
        tenant_id=tenant_id,
        role=role,
        session_id=family_id,
        mfa_pending=mfa_pending,
    )
    return TokenResponse(
        access_token=access,
        refresh_token=compose(REFRESH_PREFIX, tenant_id, token_id, secret),
        expires_in=ttl,
        mfa_enrolment_required=mfa_pending,
    )


async def refresh(settings: Settings, redis: Redis, token: str) -> TokenResponse:
    """Rotate ``token``: a fresh pair for a valid one, family revocation for a reused one."""
    parsed = parse(REFRESH_PREFIX, token)
    if parsed is None:
        raise LoginError("malformed refresh token")
    tenant_id, token_id, secret = parsed
    async with tenant_transaction(tenant_id) as tx:
        row = await tx.fetchrow(
            "select r.user_id, r.family_id, r.token_hash, r.expires_at, r.used_at, r.revoked_at, "
            "u.role, u.status, u.mfa_enabled, t.status as tenant_status, t.mfa_required "
            "from refresh_tokens r join users u on u.id = r.user_id join tenants t on t.id = r.tenant_id "
            "where r.id = $1",
            token_id,
        )
        if row is None or not same_digest(secret, row["token_hash"]):
            raise LoginError("unknown refresh token")
        if row["used_at"] is not None or row["revoked_at"] is not None:
            await _revoke_family(tx, redis, settings, row["family_id"])
            await append_event(
                tx,
                tenant_id=tenant_id,
                actor_type="user",
                actor_id=row["user_id"],
                action="auth.refresh_reuse",
                resource_type="user",
                resource_id=row["user_id"],
            )
            # Commit the revocation before refusing: raising would roll it back.
            return_error = LoginError("refresh token reuse: session revoked")
        elif (
            row["expires_at"] <= datetime.now(UTC)
            or row["status"] != "active"
            or row["tenant_status"] not in ACTIVE_STATUSES
        ):
            return_error = LoginError("refresh token expired or account inactive")
        else:
            await tx.execute("update refresh_tokens set used_at = now() where id = $1", token_id)
            mfa_pending = bool(row["mfa_required"]) and not row["mfa_enabled"]
            return await _issue_pair(
                tx, settings, tenant_id, row["user_id"], row["role"], row["family_id"], mfa_pending
            )
    raise return_error


async def _revoke_family(tx: Tx, redis: Redis, settings: Settings, family_id: UUID) -> None:
    await tx.execute(
        "update refresh_tokens set revoked_at = coalesce(revoked_at, now()) where family_id = $1", family_id
    )
    await revoke_session(redis, family_id, settings.access_token_ttl_seconds)


async def logout(tx: Tx, redis: Redis, settings: Settings, session_id: UUID) -> None:
    """End the login ``session_id``: its refresh tokens and live access tokens stop working."""
    await _revoke_family(tx, redis, settings, session_id)
