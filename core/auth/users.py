"""User management within a tenant, and API keys for integrations."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from litestar import Controller, delete, get, patch, post
from litestar.di import Provide
from litestar.status_codes import HTTP_204_NO_CONTENT

from core.audit.service import record
from core.auth.guards import requires_permission
from core.auth.password_policy import refuse_weak
from core.auth.passwords import hash_password
from core.auth.permissions import Permission, api_key_scopes
from core.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut, UserCreate, UserOut, UserUpdate
from core.auth.secrets import API_KEY_PREFIX, compose, digest, new_secret
from core.http.context import RequestContext, provide_context
from core.http.partial import changed_fields
from core.http.problems import problem
from core.tenancy.plans import check_user_limit

USER_COLUMNS = "id, email, full_name, role, status, mfa_enabled, team_id, email_verified_at, created_at"
_KEY_COLUMNS = "id, name, prefix, scopes, created_at, last_used_at, revoked_at"


def user_out(row: Any) -> UserOut:
    return UserOut(**dict(row))


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["users"]
    dependencies = {"ctx": Provide(provide_context)}

    @get("/me", summary="The calling user", opt={"mfa_enrolment": True})
    async def me(self, ctx: RequestContext) -> UserOut:
        row = await ctx.tx.fetchrow(f"select {USER_COLUMNS} from users where id = $1", ctx.principal.actor_id)
        if row is None:
            raise problem(404, "Not a user")
        return user_out(row)

    @get("/", guards=[requires_permission(Permission.USERS_READ)], summary="List users")
    async def list_users(self, ctx: RequestContext) -> list[UserOut]:
        rows = await ctx.tx.fetch(f"select {USER_COLUMNS} from users order by lower(email)")
        return [user_out(r) for r in rows]

    @post("/", guards=[requires_permission(Permission.USERS_MANAGE)], summary="Add a user")
    async def create(self, ctx: RequestContext, data: UserCreate) -> UserOut:
        if data.role == "owner" and ctx.principal.role != "owner":
            raise problem(403, "Only an owner can add another owner")
        await check_user_limit(ctx.tx, ctx.tenant_id)
        await refuse_weak(data.password, "password", context=(data.email, data.full_name))
        row = await ctx.tx.fetchrow(
            f"insert into users (tenant_id, email, full_name, role, password_hash) values ($1, $2, $3, $4, $5) "
            f"returning {USER_COLUMNS}",
            ctx.tenant_id,
            data.email,
            data.full_name,
            data.role.value,
            hash_password(data.password),
        )
        await record(ctx, "user.create", "user", row["id"], {"role": data.role.value})
        return user_out(row)

    @patch("/{user_id:uuid}", guards=[requires_permission(Permission.USERS_MANAGE)], summary="Change a user")
    async def update(self, ctx: RequestContext, user_id: UUID, data: UserUpdate) -> UserOut:
        changes = changed_fields(data)
        current = await ctx.tx.fetchrow("select role, status from users where id = $1", user_id)
        if current is None:
            raise problem(404, "No such user")
        if "owner" in (current["role"], changes.get("role")) and ctx.principal.role != "owner":
            raise problem(403, "Only an owner can change an owner")
        if changes.get("status") == "active" and current["status"] != "active":
            if current["status"] == "pending":
                raise problem(
                    409,
                    "The user has not accepted the invitation or confirmed the e-mail address yet",
                    errors=[{"field": "status", "message": "pending users become active through their link"}],
                )
            await check_user_limit(ctx.tx, ctx.tenant_id)  # a disabled user did not count; an active one does
        values = {k: (v.value if hasattr(v, "value") else v) for k, v in changes.items()}
        if values.get("team_id") is not None and not await ctx.tx.fetchval(
            "select exists (select 1 from teams where id = $1)", values["team_id"]
        ):
            raise problem(422, "No such team", errors=[{"field": "team_id", "message": "no such team"}])
        if values:
            sets = ", ".join(f"{k} = ${i}" for i, k in enumerate(values, start=2))
            await ctx.tx.execute(
                f"update users set {sets}, updated_at = now() where id = $1", user_id, *values.values()
            )
        row = await ctx.tx.fetchrow(f"select {USER_COLUMNS} from users where id = $1", user_id)
        await record(ctx, "user.update", "user", user_id, {"fields": sorted(values)})
        return user_out(row)

    @post(
        "/{user_id:uuid}/mfa/reset",
        guards=[requires_permission(Permission.USERS_MANAGE)],
        status_code=HTTP_204_NO_CONTENT,
        summary="Reset a user's MFA (they enrol again at their next login)",
    )
    async def reset_mfa(self, ctx: RequestContext, user_id: UUID) -> None:
        """Turns MFA off and forgets the TOTP secret, e.g. for a lost phone. Only an owner resets an owner."""
        role = await ctx.tx.fetchval("select role from users where id = $1", user_id)
        if role is None:
            raise problem(404, "No such user")
        if role == "owner" and ctx.principal.role != "owner":
            raise problem(403, "Only an owner can reset an owner's MFA")
        await ctx.tx.execute(
            "update users set mfa_enabled = false, totp_secret = null, totp_last_counter = null, updated_at = now() "
            "where id = $1",
            user_id,
        )
        await record(ctx, "user.mfa_reset", "user", user_id)


class ApiKeyController(Controller):
    path = "/api/v1/api-keys"
    tags = ["api keys"]
    dependencies = {"ctx": Provide(provide_context)}
    guards = [requires_permission(Permission.API_KEYS_MANAGE)]

    @get("/", summary="List API keys (never their secrets)")
    async def list_keys(self, ctx: RequestContext) -> list[ApiKeyOut]:
        rows = await ctx.tx.fetch(f"select {_KEY_COLUMNS} from api_keys order by created_at")
        return [ApiKeyOut(**dict(r)) for r in rows]

    @post("/", summary="Create an API key; the key is shown once")
    async def create(self, ctx: RequestContext, data: ApiKeyCreate) -> ApiKeyCreated:
        refused = sorted(set(data.scopes) - api_key_scopes())
        if refused:
            raise problem(
                422,
                "These scopes cannot be given to an API key",
                errors=[{"key": "scopes", "message": f"not allowed: {', '.join(refused)}"}],
            )
        key_id, secret = uuid4(), new_secret()
        key = compose(API_KEY_PREFIX, ctx.tenant_id, key_id, secret)
        row = await ctx.tx.fetchrow(
            f"insert into api_keys (tenant_id, id, name, prefix, secret_hash, scopes, created_by) "
            f"values ($1, $2, $3, $4, $5, $6, $7) returning {_KEY_COLUMNS}",
            ctx.tenant_id,
            key_id,
            data.name,
            secret[:8],
            digest(secret),
            sorted(set(data.scopes)),
            ctx.principal.actor_id,
        )
        await record(ctx, "api_key.create", "api_key", key_id, {"scopes": list(row["scopes"])})
        return ApiKeyCreated(key=key, api_key=ApiKeyOut(**dict(row)))

    @delete("/{key_id:uuid}", status_code=HTTP_204_NO_CONTENT, summary="Revoke an API key")
    async def revoke(self, ctx: RequestContext, key_id: UUID) -> None:
        done = await ctx.tx.fetchval(
            "update api_keys set revoked_at = coalesce(revoked_at, now()) where id = $1 returning id", key_id
        )
        if done is None:
            raise problem(404, "No such API key")
        await record(ctx, "api_key.revoke", "api_key", key_id)
