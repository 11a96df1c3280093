"""Auth routes: tokens, refresh, logout and MFA enrolment."""

from __future__ import annotations

from typing import Any, cast

from litestar import Controller, Request, post
from litestar.di import Provide
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT
from redis.asyncio import Redis

from core.audit.service import record
from core.auth import login as login_flow
from core.auth.mfa import accepted_counter, new_secret, provisioning_uri
from core.auth.schemas import MfaCode, MfaEnrolment, RefreshRequest, TokenRequest, TokenResponse
from core.http.context import RequestContext, provide_context, request_origin
from core.http.problems import problem
from core.settings import Settings

INVALID_CREDENTIALS = "Invalid credentials"


def _settings(request: Request[Any, Any, Any]) -> Settings:
    return cast(Settings, request.app.state.settings)


def _redis(request: Request[Any, Any, Any]) -> Redis:
    return cast(Redis, request.app.state.redis)


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/token", opt={"public": True}, status_code=HTTP_200_OK, summary="Log in")
    async def token(self, data: TokenRequest, request: Request[Any, Any, Any]) -> TokenResponse:
        """Exchange tenant slug, e-mail and password (and a TOTP code when enrolled) for tokens.

        Wrong password and unknown user get the same 401.
        """
        ip, request_id = request_origin(request)
        try:
            return await login_flow.login(_settings(request), data, ip=ip, request_id=request_id)
        except login_flow.LoginError as exc:
            if exc.mfa_required:
                raise problem(401, "A valid TOTP code is required", mfa_required=True) from None
            raise problem(401, INVALID_CREDENTIALS) from None
        except login_flow.TenantInactiveLoginError:
            raise problem(403, "The organization's account is not active") from None

    @post("/refresh", opt={"public": True}, status_code=HTTP_200_OK, summary="Rotate a refresh token")
    async def refresh(self, data: RefreshRequest, request: Request[Any, Any, Any]) -> TokenResponse:
        try:
            return await login_flow.refresh(_settings(request), _redis(request), data.refresh_token)
        except login_flow.LoginError:
            raise problem(401, "Invalid or expired refresh token") from None

    @post(
        "/logout",
        status_code=HTTP_204_NO_CONTENT,
        opt={"mfa_enrolment": True},
        dependencies={"ctx": Provide(provide_context)},
        summary="End this login session",
    )
    async def logout(self, ctx: RequestContext, request: Request[Any, Any, Any]) -> None:
        if ctx.principal.session_id is None:
            raise problem(400, "API keys have no session; revoke the key instead")
        await login_flow.logout(ctx.tx, _redis(request), _settings(request), ctx.principal.session_id)
        await record(ctx, "auth.logout", "user", ctx.principal.actor_id)


class MfaController(Controller):
    path = "/api/v1/auth/mfa"
    tags = ["auth"]
    opt = {"mfa_enrolment": True}
    dependencies = {"ctx": Provide(provide_context)}

    @post("/enroll", status_code=HTTP_200_OK, summary="Start TOTP enrolment")
    async def enroll(self, ctx: RequestContext) -> MfaEnrolment:
        """Issue a new TOTP secret; MFA is on only once ``/verify`` accepts a code."""
        user = await self._user(ctx)
        if user["mfa_enabled"]:
            raise problem(409, "MFA is already enabled; disable it first to re-enrol")
        secret = new_secret()
        await ctx.tx.execute(
            "update users set totp_secret = $2, totp_last_counter = null where id = $1", user["id"], secret
        )
        await record(ctx, "auth.mfa_enroll", "user", user["id"])
        return MfaEnrolment(secret=secret, otpauth_uri=provisioning_uri(secret, user["email"]))

    @post("/verify", status_code=HTTP_204_NO_CONTENT, summary="Confirm enrolment with a code")
    async def verify(self, ctx: RequestContext, data: MfaCode) -> None:
        user = await self._user(ctx)
        if not user["totp_secret"]:
            raise problem(409, "Start with /api/v1/auth/mfa/enroll")
        counter = accepted_counter(user["totp_secret"], data.code, user["totp_last_counter"])
        if counter is None:
            raise problem(422, "The code does not match", errors=[{"key": "code", "message": "wrong code"}])
        await ctx.tx.execute(
            "update users set mfa_enabled = true, totp_last_counter = $2 where id = $1", user["id"], counter
        )
        await record(ctx, "auth.mfa_enabled", "user", user["id"])

    @post("/disable", status_code=HTTP_204_NO_CONTENT, summary="Turn MFA off (needs a current code)")
    async def disable(self, ctx: RequestContext, data: MfaCode) -> None:
        user = await self._user(ctx)
        if not user["mfa_enabled"]:
            raise problem(409, "MFA is not enabled")
        if accepted_counter(user["totp_secret"], data.code, user["totp_last_counter"]) is None:
            raise problem(422, "The code does not match", errors=[{"key": "code", "message": "wrong code"}])
        await ctx.tx.execute(
            "update users set mfa_enabled = false, totp_secret = null, totp_last_counter = null where id = $1",
            user["id"],
        )
        await record(ctx, "auth.mfa_disabled", "user", user["id"])

    @staticmethod
    async def _user(ctx: RequestContext) -> Any:
        if ctx.principal.kind != "user":
            raise problem(403, "Only users enrol in MFA")
        return await ctx.tx.fetchrow(
            "select id, email, mfa_enabled, totp_secret, totp_last_counter from users where id = $1",
            ctx.principal.actor_id,
        )
