"""Single-use links e-mailed to a pending user: confirm the address after sign-up, accept an invitation.

A link's token is ``{prefix}_{tenant}_{row}_{secret}`` (:mod:`core.auth.secrets`): the ids find the row
in the tenant's own RLS-pinned transaction, the secret proves it, and only its SHA-256 is stored.
Issuing a new link for the same user and purpose retires the older ones (they answer like expired
links). Refusals: unknown or tampered 404 (one body for both), used 409, expired or retired 410, an
organization that is no longer active 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID, uuid4

from core.audit.service import append_event
from core.auth.secrets import compose, digest, new_secret, parse, same_digest
from core.db.tenant import ACTIVE_STATUSES, Tx, tenant_transaction
from core.http.context import RequestContext
from core.http.problems import problem
from core.jobs.context import system_principal
from core.notifications.account_mail import seal
from core.notifications.callbacks import public_base_url
from core.notifications.service import request_user_notification

PurposeName = Literal["verify_email", "invite"]


@dataclass(frozen=True)
class Purpose:
    name: PurposeName
    prefix: str
    ttl: timedelta
    template: str
    page: str
    """The portal page the link opens (the token follows it)."""


VERIFY_EMAIL = Purpose("verify_email", "ccv", timedelta(hours=48), "account.verify_email", "/portal/verify-email/")
INVITE = Purpose("invite", "cci", timedelta(days=7), "account.invitation", "/portal/invitations/")

NOT_FOUND = "This link is not valid"


class TokenRefusedError(Exception):
    """A link that cannot be used; ``status`` and ``message`` are the problem to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def problem(self) -> Exception:
        return problem(self.status, self.message)


@dataclass(frozen=True)
class Holder:
    """A usable link and whom it belongs to."""

    token_id: UUID
    tenant_id: UUID
    tenant_slug: str
    organization_name: str
    user_id: UUID
    email: str
    full_name: str
    role: str
    expires_at: datetime


def tenant_of(token: str, purpose: Purpose) -> tuple[UUID, UUID, str]:
    """``(tenant_id, token_id, secret)`` of a well-formed token; a malformed one is refused as unknown."""
    parsed = parse(purpose.prefix, token)
    if parsed is None:
        raise TokenRefusedError(404, NOT_FOUND)
    return parsed


async def holder(tx: Tx, token: str, purpose: Purpose, *, lock: bool = False) -> Holder:
    """The link's holder, read in ``tx`` (pinned to the token's tenant); raises :class:`TokenRefusedError`."""
    tenant_id, token_id, secret = tenant_of(token, purpose)
    row = await tx.fetchrow(
        "select k.token_hash, k.expires_at, k.used_at, k.user_id, u.email, u.full_name, u.role, u.status, "
        "t.slug, t.name, t.status as tenant_status from user_tokens k join users u on u.id = k.user_id "
        "join tenants t on t.id = k.tenant_id where k.id = $1 and k.purpose = $2"
        + (" for update of k" if lock else ""),
        token_id,
        purpose.name,
    )
    if row is None or not same_digest(secret, row["token_hash"]):
        raise TokenRefusedError(404, NOT_FOUND)
    if row["used_at"] is not None:
        raise TokenRefusedError(409, "This link was already used")
    if row["expires_at"] <= datetime.now(UTC) or row["status"] != "pending":
        raise TokenRefusedError(410, "This link has expired or was replaced by a newer one")
    if row["tenant_status"] not in ACTIVE_STATUSES:
        raise TokenRefusedError(403, "The organization's account is not active")
    return Holder(
        token_id=token_id,
        tenant_id=tenant_id,
        tenant_slug=row["slug"],
        organization_name=row["name"],
        user_id=row["user_id"],
        email=row["email"],
        full_name=row["full_name"],
        role=row["role"],
        expires_at=row["expires_at"],
    )


async def redeem(
    tx: Tx,
    found: Holder,
    *,
    action: str,
    ip: str | None,
    request_id: str | None,
    password_hash: str | None = None,
    full_name: str | None = None,
) -> None:
    """Use the link: mark it used, activate its user (verified address, optional password and name), audit."""
    await tx.execute("update user_tokens set used_at = now() where id = $1", found.token_id)
    await tx.execute(
        "update users set status = 'active', email_verified_at = now(), updated_at = now(), "
        "password_hash = coalesce($2, password_hash), full_name = coalesce($3, full_name) where id = $1",
        found.user_id,
        password_hash,
        full_name,
    )
    await append_event(
        tx,
        tenant_id=found.tenant_id,
        actor_type="user",
        actor_id=found.user_id,
        action=action,
        resource_type="user",
        resource_id=found.user_id,
        ip=ip,
        request_id=request_id,
        details={"token_id": str(found.token_id)},
    )


async def redeem_link(
    token: str,
    purpose: Purpose,
    *,
    action: str,
    ip: str | None,
    request_id: str | None,
    password_hash: str | None = None,
    full_name: str | None = None,
) -> Holder:
    """Find, check and use an e-mailed link in its tenant's transaction; raises the link's problem (404, 409,
    410, 403) when it cannot be used. Returns whose link it was."""
    try:
        tenant_id, _, _ = tenant_of(token, purpose)
        async with tenant_transaction(tenant_id) as tx:
            found = await holder(tx, token, purpose, lock=True)
            await redeem(
                tx,
                found,
                action=action,
                ip=ip,
                request_id=request_id,
                password_hash=password_hash,
                full_name=full_name,
            )
    except TokenRefusedError as exc:
        raise exc.problem() from None
    return found


async def issue(tx: Tx, tenant_id: UUID, user_id: UUID, purpose: Purpose) -> tuple[str, UUID, datetime]:
    """A new link's token for ``user_id`` (older unused ones of the same purpose retire); ``(token, id, expiry)``."""
    await tx.execute(
        "update user_tokens set expires_at = now() where user_id = $1 and purpose = $2 and used_at is null "
        "and expires_at > now()",
        user_id,
        purpose.name,
    )
    token_id, secret = uuid4(), new_secret()
    expires_at = datetime.now(UTC) + purpose.ttl
    await tx.execute(
        "insert into user_tokens (tenant_id, id, user_id, purpose, token_hash, expires_at) "
        "values ($1, $2, $3, $4, $5, $6)",
        tenant_id,
        token_id,
        user_id,
        purpose.name,
        digest(secret),
        expires_at,
    )
    return compose(purpose.prefix, tenant_id, token_id, secret), token_id, expires_at


def link(purpose: Purpose, token: str) -> str:
    return f"{public_base_url()}{purpose.page}{token}"


async def email_link(
    ctx: RequestContext, user_id: UUID, purpose: Purpose, variables: dict[str, Any] | None = None
) -> UUID:
    """Issue a link for ``user_id`` and queue its e-mail (sealed, see core/notifications/account_mail.py);
    returns the token's id."""
    token, token_id, expires_at = await issue(ctx.tx, ctx.tenant_id, user_id, purpose)
    context = {
        **(variables or {}),
        "expires_at": f"{expires_at:%Y-%m-%d %H:%M} UTC",
        **seal({"link": link(purpose, token)}),
    }
    await request_user_notification(
        ctx, user_id=user_id, template=purpose.template, context=context, idempotency_key=f"account:{token_id}"
    )
    return token_id


async def send_verification(tx: Tx, tenant_id: UUID, user_id: UUID, *, ip: str | None, request_id: str | None) -> UUID:
    """E-mail ``user_id`` a new address-verification link, as the platform (no caller is logged in)."""
    ctx = RequestContext(tx, system_principal(tenant_id), ip, request_id)
    return await email_link(ctx, user_id, VERIFY_EMAIL)
