"""Inviting users by e-mail: a ``pending`` account, a 7-day single-use link, and its acceptance.

Managers (``users:manage``) invite and re-invite; the invitee, not logged in, inspects the invitation
and accepts it with a password of their own (public, rate-limited routes). Only an owner invites or
re-invites an owner. Invitations count against the plan's users limit from the moment they are sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, post
from litestar.di import Provide
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from core.audit.service import record
from core.auth.guards import requires_permission
from core.auth.password_policy import refuse_weak
from core.auth.passwords import hash_password
from core.auth.permissions import Permission, Role
from core.auth.schemas import UserOut
from core.auth.secrets import new_secret
from core.auth.user_tokens import INVITE, Holder, TokenRefusedError, email_link, holder, redeem_link, tenant_of
from core.auth.users import USER_COLUMNS, user_out
from core.db.tenant import tenant_transaction
from core.http.context import RequestContext, provide_context, request_origin
from core.http.problems import problem
from core.tenancy.plans import check_user_limit
from core.tenancy.schemas import Email, Password
from core.tenancy.verification import PUBLIC_THROTTLED, Activated, LinkToken

FullName = Annotated[str, msgspec.Meta(max_length=200)]


class InvitationCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: Email
    role: Role
    full_name: FullName = ""
    team_id: UUID | None = None


class InvitationOut(msgspec.Struct, kw_only=True):
    organization_name: str
    email: str
    full_name: str
    role: str
    expires_at: datetime


class InvitationAccept(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    password: Password
    full_name: FullName | None = None
    """Replaces the name the inviter typed, when given."""


async def _inviter_name(ctx: RequestContext) -> str:
    row = await ctx.tx.fetchrow("select full_name, email from users where id = $1", ctx.principal.actor_id)
    return str(row["full_name"] or row["email"]) if row else "An administrator"


async def _send(ctx: RequestContext, user_id: UUID, role: str) -> UUID:
    return await email_link(ctx, user_id, INVITE, {"role": role, "invited_by": await _inviter_name(ctx)})


class InvitationController(Controller):
    path = "/api/v1/users"
    tags = ["users"]
    dependencies = {"ctx": Provide(provide_context)}
    guards = [requires_permission(Permission.USERS_MANAGE)]

    @post("/invitations", status_code=HTTP_201_CREATED, summary="Invite a user by e-mail")
    async def invite(self, ctx: RequestContext, data: InvitationCreate) -> UserOut:
        """Creates the user ``pending`` and e-mails a 7-day link; 409 when the address is already a user."""
        if data.role == Role.OWNER and ctx.principal.role != Role.OWNER:
            raise problem(403, "Only an owner can invite an owner")
        if await ctx.tx.fetchval("select exists (select 1 from users where lower(email) = lower($1))", data.email):
            raise problem(
                409, "A user with this e-mail address already exists", errors=[{"field": "email", "message": "taken"}]
            )
        if data.team_id is not None and not await ctx.tx.fetchval(
            "select exists (select 1 from teams where id = $1)", data.team_id
        ):
            raise problem(422, "No such team", errors=[{"field": "team_id", "message": "no such team"}])
        await check_user_limit(ctx.tx, ctx.tenant_id)
        row = await ctx.tx.fetchrow(
            "insert into users (tenant_id, email, full_name, role, password_hash, status, team_id) "
            f"values ($1, $2, $3, $4, $5, 'pending', $6) returning {USER_COLUMNS}",
            ctx.tenant_id,
            data.email,
            data.full_name,
            data.role.value,
            hash_password(new_secret()),  # nobody knows it; a real hash keeps log-in timing alike
            data.team_id,
        )
        token_id = await _send(ctx, row["id"], data.role.value)
        await record(ctx, "user.invite", "user", row["id"], {"role": data.role.value, "token_id": str(token_id)})
        return user_out(row)

    @post("/{user_id:uuid}/invitation", status_code=HTTP_200_OK, summary="Send a pending user a new invitation")
    async def reinvite(self, ctx: RequestContext, user_id: UUID) -> UserOut:
        """A new 7-day link; the earlier ones stop working. 409 unless the user is still pending."""
        row = await ctx.tx.fetchrow(f"select {USER_COLUMNS} from users where id = $1 for update", user_id)
        if row is None:
            raise problem(404, "No such user")
        if row["role"] == Role.OWNER and ctx.principal.role != Role.OWNER:
            raise problem(403, "Only an owner can invite an owner")
        if row["status"] != "pending":
            raise problem(409, f"The user is {row['status']}; only a pending user can be invited again")
        token_id = await _send(ctx, user_id, row["role"])
        await record(ctx, "user.reinvite", "user", user_id, {"token_id": str(token_id)})
        return user_out(row)


async def _invitation(token: str) -> Holder:
    """The invitation's holder, read in its tenant's transaction; raises the problem to answer with."""
    try:
        tenant_id, _, _ = tenant_of(token, INVITE)
        async with tenant_transaction(tenant_id) as tx:
            return await holder(tx, token, INVITE)
    except TokenRefusedError as exc:
        raise exc.problem() from None


@post(
    "/api/v1/invitations/inspect",
    opt=PUBLIC_THROTTLED,
    status_code=HTTP_200_OK,
    tags=["users"],
    summary="What an invitation link offers (organization, e-mail, role, expiry)",
)
async def inspect_invitation(data: LinkToken) -> InvitationOut:
    """Unknown or altered token 404, used 409, expired or replaced 410."""
    found = await _invitation(data.token)
    return InvitationOut(
        organization_name=found.organization_name,
        email=found.email,
        full_name=found.full_name,
        role=found.role,
        expires_at=found.expires_at,
    )


@post(
    "/api/v1/invitations/accept",
    opt=PUBLIC_THROTTLED,
    status_code=HTTP_200_OK,
    tags=["users"],
    summary="Accept an invitation: set a password, activate the account",
)
async def accept_invitation(data: InvitationAccept, request: Request[Any, Any, Any]) -> Activated:
    """The user becomes active with a verified address and can log in; the link is used up."""
    ip, request_id = request_origin(request)
    await refuse_weak(data.password, "password", context=(data.full_name or "",))
    found = await redeem_link(
        data.token,
        INVITE,
        action="user.invitation_accepted",
        ip=ip,
        request_id=request_id,
        password_hash=hash_password(data.password),
        full_name=data.full_name,
    )
    return Activated(tenant_slug=found.tenant_slug, email=found.email)


INVITATION_ROUTES: list[Any] = [InvitationController, inspect_invitation, accept_invitation]
