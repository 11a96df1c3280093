"""Public onboarding pages: sign-up (plan, then organization and owner), e-mail confirmation, invitations.

Every page here is public (no session) and calls the public JSON API in process: the API validates,
rate-limits (the sign-up and link routes share the login limit, per address) and audits. E-mailed links
open a page with a button: the link's token is used only by the POST, so a mail scanner that fetches
the link does not consume it.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template

from core.portal.api import ApiError, portal_api
from core.portal.forms import form_fields
from core.portal.rendering import render
from tenants.portal.time_zones import zone_choices

PUBLIC = {"portal_public": True}
TOKEN_MAX = 300
SIGNUP_FIELDS = ("organization_name", "slug", "time_zone", "owner_name", "owner_email")
PASSWORDS_DIFFER = "The two passwords are not the same."
UNKNOWN_ZONE = "Choose a time zone from the list."
SLUG_TAKEN = "This short name is already taken. Choose another one."
LINK_MESSAGES = {
    404: "This link is not valid. Check that you opened the whole link from the e-mail.",
    409: "This link was already used.",
    410: "This link has expired, or a newer one was sent since.",
    403: "The organization's account is not active.",
}


async def _plans(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
    return list(await portal_api(request, public=True).get("/api/v1/plans"))


def _link_status(exc: ApiError) -> int:
    """The status of a refused link page: a malformed token (400) reads as an unknown one (404)."""
    return 404 if exc.status == 400 else exc.status


async def _refused(request: Request[Any, Any, Any], status: int, purpose: str) -> Template:
    """The page for a link that cannot be used, with the refusal's status (404, 409, 410 or 403)."""
    return await render(
        request,
        "tenants/onboarding/link_refused.html",
        status_code=status,
        status=status,
        message=LINK_MESSAGES[status],
        purpose=purpose,
    )


# --- sign-up ----------------------------------------------------------------------------------------------------


@get("/signup", opt=PUBLIC, name="portal-signup")
async def signup_plans(request: Request[Any, Any, Any], plan: str | None = None) -> Template:
    """Step 1: choose a plan."""
    plans = await _plans(request)
    chosen = plan if any(p["id"] == plan for p in plans) else plans[0]["id"]
    return await render(request, "tenants/onboarding/plans.html", plans=plans, chosen=chosen)


async def _details(
    request: Request[Any, Any, Any],
    plan: dict[str, Any],
    values: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Template:
    return await render(
        request,
        "tenants/onboarding/details.html",
        status_code=status_code,
        plan=plan,
        values=values,
        zones=zone_choices(values.get("time_zone", "")),
        errors=errors or {},
        error=error,
    )


@get("/signup/details", opt=PUBLIC)
async def signup_details(request: Request[Any, Any, Any], plan: str | None = None) -> Any:
    """Step 2: the organization and its owner."""
    chosen = next((p for p in await _plans(request) if p["id"] == plan), None)
    if chosen is None:
        return Redirect("/portal/signup", status_code=303)
    return await _details(request, chosen, {"time_zone": "America/New_York"})


@post("/signup/details", opt=PUBLIC, status_code=200)
async def signup_submit(request: Request[Any, Any, Any]) -> Any:
    fields = await form_fields(request)
    plans = await _plans(request)
    plan = next((p for p in plans if p["id"] == fields.get("plan")), plans[0])
    values = {name: fields.get(name, "") for name in SIGNUP_FIELDS}
    values["slug"] = values["slug"].lower()
    password = fields.get("owner_password", "")
    if password != fields.get("password_confirm", ""):
        errors = {"password_confirm": PASSWORDS_DIFFER}
        return await _details(request, plan, values, errors=errors, status_code=422)
    body = {**values, "owner_password": password, "plan": plan["id"], "verify_email": True}
    try:
        await portal_api(request, public=True).post("/api/v1/signup", body)
    except ApiError as exc:
        if exc.status == 409:
            return await _details(request, plan, values, errors={"slug": SLUG_TAKEN}, status_code=422)
        if exc.status not in (400, 422):
            raise
        errors = exc.field_errors()
        whole = errors.pop("data", None)  # a rule checked on the whole body: today only the time zone's
        if "time_zone" in errors or (whole or "").startswith("time_zone"):
            errors["time_zone"] = UNKNOWN_ZONE
            whole = None
        error = "Some of the values need your attention." if errors else (whole or exc.message)
        return await _details(request, plan, values, errors=errors, error=error, status_code=422)
    return Redirect(f"/portal/signup/sent?org={values['slug']}", status_code=303)


@get("/signup/sent", opt=PUBLIC)
async def signup_sent(request: Request[Any, Any, Any], org: str | None = None) -> Template:
    """The "check your e-mail" page, with a form asking for the link again."""
    return await render(request, "tenants/onboarding/sent.html", values={"tenant": (org or "")[:63]}, errors={})


@post("/signup/resend", opt=PUBLIC, status_code=200)
async def signup_resend(request: Request[Any, Any, Any]) -> Template:
    fields = await form_fields(request)
    values = {"tenant": fields.get("tenant", "")[:63], "email": fields.get("email", "")[:254]}
    try:
        await portal_api(request, public=True).post("/api/v1/signup/resend-verification", values)
    except ApiError as exc:
        if exc.status not in (400, 422):
            raise
        errors = exc.field_errors() or {"email": exc.message}
        return await render(
            request, "tenants/onboarding/sent.html", status_code=422, values=values, errors=errors, resent=False
        )
    return await render(request, "tenants/onboarding/sent.html", values=values, errors={}, resent=True)


# --- e-mail confirmation ------------------------------------------------------------------------------------------


@get("/verify-email/{token:str}", opt=PUBLIC)
async def verify_email_page(request: Request[Any, Any, Any], token: str) -> Template:
    """A button, not an action: the token is used by the POST only."""
    return await render(request, "tenants/onboarding/verify.html", token=token[:TOKEN_MAX])


@post("/verify-email/{token:str}", opt=PUBLIC, status_code=200)
async def verify_email_submit(request: Request[Any, Any, Any], token: str) -> Template:
    try:
        done = await portal_api(request, public=True).post("/api/v1/signup/verify-email", {"token": token[:TOKEN_MAX]})
    except ApiError as exc:
        if _link_status(exc) not in LINK_MESSAGES:
            raise
        return await _refused(request, _link_status(exc), "verify")
    return await render(request, "tenants/onboarding/verified.html", slug=done["tenant_slug"])


# --- invitations --------------------------------------------------------------------------------------------------


async def _invitation_or_refusal(request: Request[Any, Any, Any], token: str) -> dict[str, Any] | Template:
    try:
        offer = await portal_api(request, public=True).post("/api/v1/invitations/inspect", {"token": token})
    except ApiError as exc:
        if _link_status(exc) not in LINK_MESSAGES:
            raise
        return await _refused(request, _link_status(exc), "invitation")
    return dict(offer)


@get("/invitations/{token:str}", opt=PUBLIC)
async def invitation_page(request: Request[Any, Any, Any], token: str) -> Template:
    """What the invitation offers, and the form to accept it."""
    offer = await _invitation_or_refusal(request, token[:TOKEN_MAX])
    if isinstance(offer, Template):
        return offer
    values = {"full_name": offer["full_name"]}
    return await render(
        request, "tenants/onboarding/invitation.html", offer=offer, token=token, values=values, errors={}
    )


@post("/invitations/{token:str}", opt=PUBLIC, status_code=200)
async def invitation_submit(request: Request[Any, Any, Any], token: str) -> Template:
    token = token[:TOKEN_MAX]
    fields = await form_fields(request)
    values = {"full_name": fields.get("full_name", "")[:200]}
    password = fields.get("password", "")
    errors = {"password_confirm": PASSWORDS_DIFFER} if password != fields.get("password_confirm", "") else {}
    if not errors:
        body = {"token": token, "password": password, "full_name": values["full_name"] or None}
        try:
            done = await portal_api(request, public=True).post("/api/v1/invitations/accept", body)
        except ApiError as exc:
            if exc.status in LINK_MESSAGES:
                return await _refused(request, exc.status, "invitation")
            if exc.status not in (400, 422):
                raise
            errors = exc.field_errors() or {"password": exc.message}
        else:
            return await render(request, "tenants/onboarding/invitation_accepted.html", slug=done["tenant_slug"])
    offer = await _invitation_or_refusal(request, token)
    if isinstance(offer, Template):
        return offer
    return await render(
        request,
        "tenants/onboarding/invitation.html",
        status_code=422,
        offer=offer,
        token=token,
        values=values,
        errors=errors,
        error="Some of the values need your attention.",
    )


ONBOARDING_PAGES = [
    signup_plans,
    signup_details,
    signup_submit,
    signup_sent,
    signup_resend,
    verify_email_page,
    verify_email_submit,
    invitation_page,
    invitation_submit,
]
