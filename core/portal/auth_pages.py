"""Logging in and out of the portal, and the first-login MFA enrolment (QR code)."""

from __future__ import annotations

import contextlib
import io
from typing import Any, cast

import segno
from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect

from core.auth import login as login_flow
from core.auth.schemas import TokenRequest
from core.http.context import request_origin
from core.portal.api import ApiError, portal_api
from core.portal.forms import form_fields
from core.portal.rendering import render
from core.portal.session import PortalUser, current_user, end_session, renew_tokens, session_user, start_session
from core.settings import Settings

PUBLIC = {"portal_public": True}
ENDED = {
    "idle": "You were logged off after a period of inactivity.",
    "expired": "Your session reached its time limit. Log in again.",
    "ended": "Your session has ended. Log in again.",
    "logged_out": "You have logged out.",
    "required": "Log in to continue.",
}
INVALID = "The organization, e-mail or password is not right (or the account is not active yet)."


@get("/login", opt=PUBLIC, name="portal-login")
async def login_page(request: Request[Any, Any, Any], ended: str | None = None, org: str | None = None) -> Any:
    if ended is None and session_user(request) is not None:
        return Redirect("/portal/", status_code=303)
    return await render(request, "core/login.html", notice=ENDED.get(ended or ""), values={"tenant": org or ""})


@post("/login", opt={**PUBLIC, "throttled": True}, status_code=200)
async def login_submit(request: Request[Any, Any, Any]) -> Any:
    fields = await form_fields(request)
    values = {"tenant": fields.get("tenant", ""), "email": fields.get("email", "")}
    settings = cast(Settings, request.app.state.settings)
    ip, request_id = request_origin(request)
    try:
        tokens = await login_flow.login(
            settings,
            TokenRequest(
                tenant=values["tenant"][:63],
                email=values["email"][:254],
                password=fields.get("password", "")[:256],
                totp=fields.get("code") or None,
            ),
            ip=ip,
            request_id=request_id,
        )
    except login_flow.LoginError as exc:
        error = "Enter the 6-digit code from your authenticator app." if exc.mfa_required else INVALID
        if exc.pending:  # the right password: saying so reveals nothing the caller does not know
            error = "Confirm your e-mail address first: open the link we sent you."
        return await render(
            request,
            "core/login.html",
            status_code=401,
            error=error,
            values=values,
            ask_code=exc.mfa_required,
            resend=exc.pending,
        )
    except login_flow.TenantInactiveLoginError:
        inactive = "The organization's account is not active."
        return await render(request, "core/login.html", status_code=403, error=inactive, values=values)
    user = await start_session(request, tokens)
    return Redirect(await landing_page(request, user), status_code=303)


async def landing_page(request: Request[Any, Any, Any], user: PortalUser) -> str:
    """Where a fresh login goes: MFA enrolment, the owner's guided setup, or the worklist."""
    if user.mfa_pending:
        return "/portal/mfa"
    if user.can("tenant:manage"):
        tenant = await portal_api(request).get("/api/v1/tenant")
        if tenant["setup_completed_at"] is None:
            return "/portal/setup"
    return "/portal/"


@post("/logout", opt={**PUBLIC, "mfa_enrolment": True}, status_code=303)
async def logout(request: Request[Any, Any, Any]) -> Response[Any]:
    """End the session here and in the API (its tokens stop working at once)."""
    fields = await form_fields(request)
    user = session_user(request)
    if user is not None:
        request.scope.setdefault("state", {})["portal_user"] = user
        with contextlib.suppress(ApiError):  # already ended: logging out again is fine
            await portal_api(request).post("/api/v1/auth/logout")
    end_session(request)
    reason = fields.get("reason") if fields.get("reason") in ENDED else "logged_out"
    return Redirect(f"/portal/login?ended={reason}", status_code=303)


def _qr_svg(uri: str) -> str:
    out = io.BytesIO()
    segno.make(uri, error="m").save(  # viewBox only: the style sheet sizes it
        out, kind="svg", scale=5, border=2, xmldecl=False, svgns=True, nl=False, omitsize=True,
                                    title="QR code for your authenticator app")
    return out.getvalue().decode()


@get("/mfa", opt={"mfa_enrolment": True})
async def mfa_page(request: Request[Any, Any, Any]) -> Any:
    return await render(request, "core/mfa.html", step="intro")


@post("/mfa/start", opt={"mfa_enrolment": True}, status_code=200)
async def mfa_start(request: Request[Any, Any, Any]) -> Any:
    """A new secret, shown as a QR code and as text; enrolment counts only once a code is confirmed."""
    enrolment = await portal_api(request).post("/api/v1/auth/mfa/enroll")
    return await render(
        request, "core/mfa.html", step="scan", qr_svg=_qr_svg(enrolment["otpauth_uri"]), secret=enrolment["secret"]
    )


@post("/mfa/verify", opt={"mfa_enrolment": True}, status_code=200)
async def mfa_verify(request: Request[Any, Any, Any]) -> Any:
    fields = await form_fields(request)
    try:
        await portal_api(request).post("/api/v1/auth/mfa/verify", {"code": fields.get("code", "")[:12]})
    except ApiError as exc:
        if exc.status != 422:
            raise
        return await render(
            request,
            "core/mfa.html",
            status_code=422,
            step="scan",
            error="That code does not match. Try the current one.",
            secret=fields.get("secret", ""),
            qr_svg=_qr_svg_for(fields.get("secret", ""), request),
        )
    user = await renew_tokens(request, cast(PortalUser, current_user(request)))
    return Redirect(await landing_page(request, user), status_code=303)


def _qr_svg_for(secret: str, request: Request[Any, Any, Any]) -> str:
    from core.auth.mfa import provisioning_uri

    user = cast(PortalUser, current_user(request))
    return _qr_svg(provisioning_uri(secret, user.email)) if secret.isalnum() else ""


@get("/{rest:path}", opt=PUBLIC, include_in_schema=False)
async def unknown_page(rest: str) -> None:
    """Any other address under /portal: the portal's own 404 page, not the API's problem body."""
    raise NotFoundException()


AUTH_PAGES = [login_page, login_submit, logout, mfa_page, mfa_start, mfa_verify, unknown_page]
