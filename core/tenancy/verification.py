"""The owner's e-mail verification after ``POST /api/v1/signup`` with ``verify_email``: use the link, or
ask for a new one. Both routes are public and under the login rate limit."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, post
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from core.audit.service import append_event
from core.auth.user_tokens import VERIFY_EMAIL, redeem_link, send_verification
from core.db.tenant import ACTIVE_STATUSES, platform_transaction
from core.http.context import request_origin

PUBLIC_THROTTLED = {"public": True, "throttled": True}
RESEND_COOLDOWN_SECONDS = 60
"""A pending user gets at most one new link a minute, however often it is asked for."""

Token = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]


class LinkToken(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    token: Token
    """The last part of the link that was e-mailed."""


class Activated(msgspec.Struct, kw_only=True):
    tenant_slug: str
    email: str


class ResendVerification(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    tenant: Annotated[str, msgspec.Meta(min_length=1, max_length=63, description="organization slug")]
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=254)]


@post(
    "/api/v1/signup/verify-email",
    opt=PUBLIC_THROTTLED,
    status_code=HTTP_200_OK,
    tags=["tenancy"],
    summary="Confirm the owner's e-mail address with the link's token",
)
async def verify_email(data: LinkToken, request: Request[Any, Any, Any]) -> Activated:
    """Activates the pending user the link was sent to. Unknown or altered token 404, used 409, expired 410."""
    ip, request_id = request_origin(request)
    found = await redeem_link(data.token, VERIFY_EMAIL, action="user.email_verified", ip=ip, request_id=request_id)
    return Activated(tenant_slug=found.tenant_slug, email=found.email)


@post(
    "/api/v1/signup/resend-verification",
    opt=PUBLIC_THROTTLED,
    status_code=HTTP_202_ACCEPTED,
    tags=["tenancy"],
    summary="E-mail a new verification link (always 202)",
)
async def resend_verification(data: ResendVerification, request: Request[Any, Any, Any]) -> None:
    """Sends a new link only to a pending user who signed up with ``verify_email`` (older links stop working),
    at most once a minute; the answer is the same whether or not anything was sent."""
    ip, request_id = request_origin(request)
    async with platform_transaction() as tx:
        tenant = await tx.fetchrow("select id, status from tenants where slug = $1", data.tenant.lower())
        if tenant is None or tenant["status"] not in ACTIVE_STATUSES:
            return
        await tx.set_tenant(tenant["id"])
        user_id = await tx.fetchval(
            "select u.id from users u where lower(u.email) = lower($1) and u.status = 'pending' "
            "and exists (select 1 from user_tokens k where k.user_id = u.id and k.purpose = 'verify_email') "
            "and not exists (select 1 from user_tokens k where k.user_id = u.id and k.purpose = 'verify_email' "
            "and k.created_at > now() - make_interval(secs => $2))",
            data.email,
            RESEND_COOLDOWN_SECONDS,
        )
        if user_id is None:
            return
        token_id = await send_verification(tx, tenant["id"], user_id, ip=ip, request_id=request_id)
        await append_event(
            tx,
            tenant_id=tenant["id"],
            actor_type="system",
            actor_id=None,
            action="user.verification_resent",
            resource_type="user",
            resource_id=user_id,
            ip=ip,
            request_id=request_id,
            details={"token_id": str(token_id)},
        )


VERIFICATION_ROUTES = [verify_email, resend_verification]
