"""The owner's guided setup after the first login: time zone, business hours, modules, invitations, finish.

Only users who may manage the organization (``tenant:manage``: owners and admins) see it; the login
sends an owner here until the setup is finished (``tenants.setup_completed_at``). Each step saves
through the JSON API and can be skipped; finishing records when, with an audit event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

from litestar import Request, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect, Template

from core.portal.api import ApiError, portal_api
from core.portal.forms import drop_empty, form_fields, form_lists
from core.portal.rendering import render
from core.portal.session import PortalUser, current_user, renew_tokens
from tenants.portal.onboarding import UNKNOWN_ZONE
from tenants.portal.time_zones import zone_choices

SETUP_PERMISSION = "tenant:manage"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ROLES = (
    ("coordinator", "Coordinator: patients, referrals, appointments and the worklist"),
    ("clinician", "Clinician: patients and their care"),
    ("viewer", "Viewer: reads patient records only"),
    ("admin", "Administrator: everything, including users, modules and settings"),
)
OWNER_ROLE = ("owner", "Owner: everything; owners can also invite owners")
NO_DAYS = "Choose at least one working day."
CLOSES_BEFORE_OPENING = "The closing time must be after the opening time."
CHECK_FIELDS = "Some of the values need your attention."
_CLOCK = re.compile(r"^\d{2}:\d{2}")


@dataclass(frozen=True)
class Step:
    slug: str
    title: str

    @property
    def href(self) -> str:
        return f"/portal/setup/{self.slug}"


STEPS = (
    Step("timezone", "Time zone"),
    Step("hours", "Business hours"),
    Step("modules", "Modules"),
    Step("invite", "Invite your team"),
)


async def requires_setup_access(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: only users who may manage the organization (others get the 403 page)."""
    user = current_user(cast(Request[Any, Any, Any], connection))
    if user is None or not user.can(SETUP_PERMISSION):
        raise PermissionDeniedException("Only the organization's owners and administrators can set it up")


GUARDS = [requires_setup_access]


def _user(request: Request[Any, Any, Any]) -> PortalUser:
    return cast(PortalUser, current_user(request))


async def _step(
    request: Request[Any, Any, Any], slug: str, template: str, *, status_code: int = 200, **context: Any
) -> Template:
    """A step's page with the progress indicator's context (``step``, ``steps``, ``number``, ``next_href``)."""
    number = next(i for i, step in enumerate(STEPS, start=1) if step.slug == slug)
    next_href = STEPS[number].href if number < len(STEPS) else None
    return await render(
        request,
        template,
        status_code=status_code,
        steps=STEPS,
        step=STEPS[number - 1],
        number=number,
        next_href=next_href,
        errors=context.pop("errors", {}),
        **context,
    )


# --- (a) time zone ------------------------------------------------------------------------------------------------


async def _time_zone_page(
    request: Request[Any, Any, Any],
    value: str,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    welcome: str | None = None,
) -> Template:
    return await _step(
        request,
        "timezone",
        "tenants/setup/timezone.html",
        status_code=status_code,
        zones=zone_choices(value),
        value=value,
        errors=errors or {},
        welcome=welcome,
    )


@get("/setup", guards=GUARDS)
async def setup_start(request: Request[Any, Any, Any]) -> Template:
    """Where the login lands: the first step, with a word of welcome."""
    tenant = await portal_api(request).get("/api/v1/tenant")
    return await _time_zone_page(request, tenant["time_zone"], welcome=tenant["name"])


@get("/setup/timezone", guards=GUARDS)
async def setup_time_zone(request: Request[Any, Any, Any]) -> Template:
    tenant = await portal_api(request).get("/api/v1/tenant")
    return await _time_zone_page(request, tenant["time_zone"])


@post("/setup/timezone", guards=GUARDS, status_code=200)
async def setup_time_zone_save(request: Request[Any, Any, Any]) -> Any:
    value = (await form_fields(request)).get("time_zone", "")[:64]
    try:
        await portal_api(request).patch("/api/v1/tenant", {"time_zone": value})
    except ApiError as exc:
        if exc.status not in (400, 422):
            raise
        errors = {"time_zone": UNKNOWN_ZONE}
        return await _time_zone_page(request, value, errors=errors, status_code=422)
    await renew_tokens(request, _user(request))  # the session shows times in the organization's zone
    return Redirect(STEPS[1].href, status_code=303)


# --- (b) business hours -------------------------------------------------------------------------------------------


async def _hours_page(
    request: Request[Any, Any, Any],
    hours: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Template:
    return await _step(
        request,
        "hours",
        "tenants/setup/hours.html",
        status_code=status_code,
        weekdays=list(enumerate(WEEKDAYS, start=1)),
        hours=hours,
        errors=errors or {},
        error=error,
    )


@get("/setup/hours", guards=GUARDS)
async def setup_hours(request: Request[Any, Any, Any]) -> Template:
    tenant = await portal_api(request).get("/api/v1/tenant")
    return await _hours_page(request, tenant["business_hours"])


def _clock(value: str) -> str:
    """``HH:MM`` from a time input (some browsers add seconds)."""
    found = _CLOCK.match(value)
    return found.group(0) if found else value[:5]


@post("/setup/hours", guards=GUARDS, status_code=200)
async def setup_hours_save(request: Request[Any, Any, Any]) -> Any:
    fields = await form_fields(request)
    days = [int(day) for day in await form_lists(request, "days") if day.isdigit() and len(day) == 1]
    hours = {"days": days, "start": _clock(fields.get("start", "")), "end": _clock(fields.get("end", ""))}
    try:
        await portal_api(request).patch("/api/v1/tenant", {"business_hours": hours})
    except ApiError as exc:
        if exc.status not in (400, 422):
            raise
        errors = exc.field_errors()
        if "days" in errors:
            errors["days"] = NO_DAYS if not days else errors["days"]
        if "business_hours" in errors:  # the rule across fields: opening before closing
            errors.pop("business_hours")
            errors["end"] = CLOSES_BEFORE_OPENING
        error = CHECK_FIELDS if errors.keys() & {"days", "start", "end"} else exc.message
        return await _hours_page(request, hours, errors=errors, error=error, status_code=422)
    return Redirect(STEPS[2].href, status_code=303)


# --- (c) modules --------------------------------------------------------------------------------------------------


@get("/setup/modules", guards=GUARDS)
async def setup_modules(request: Request[Any, Any, Any]) -> Template:
    modules = await portal_api(request).get("/api/v1/admin/modules")
    return await _step(request, "modules", "tenants/setup/modules.html", modules=modules)


@post("/setup/modules", guards=GUARDS, status_code=200)
async def setup_modules_save(request: Request[Any, Any, Any]) -> Any:
    """Enables the checked modules and disables the unchecked ones (the form shows the current state)."""
    wanted = set(await form_lists(request, "modules"))
    api = portal_api(request)
    errors: dict[str, str] = {}
    for module in await api.get("/api/v1/admin/modules"):
        enable = module["name"] in wanted
        if enable == module["enabled"] or (enable and not module["available"]):
            continue
        try:
            await api.put(f"/api/v1/admin/modules/{module['name']}", {"enabled": enable})
        except ApiError as exc:
            if exc.status not in (400, 403, 409, 422):
                raise
            errors[module["name"]] = exc.message
    if errors:
        modules = await api.get("/api/v1/admin/modules")
        return await _step(
            request,
            "modules",
            "tenants/setup/modules.html",
            status_code=422,
            modules=modules,
            errors=errors,
            error="Some modules could not be changed.",
        )
    return Redirect(STEPS[3].href, status_code=303)


# --- (d) invitations ----------------------------------------------------------------------------------------------


async def _invite_page(
    request: Request[Any, Any, Any],
    values: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    sent: bool = False,
    status_code: int = 200,
) -> Template:
    api = portal_api(request)
    users = await api.get("/api/v1/users")
    teams = await api.get("/api/v1/teams")
    roles = [*ROLES, OWNER_ROLE] if _user(request).role == "owner" else list(ROLES)
    return await _step(
        request,
        "invite",
        "tenants/setup/invite.html",
        status_code=status_code,
        invited=[u for u in users if u["status"] == "pending"],
        teams=[(team["id"], team["name"]) for team in teams],
        roles=roles,
        values=values,
        errors=errors or {},
        error=error,
        sent=sent,
    )


@get("/setup/invite", guards=GUARDS)
async def setup_invite(request: Request[Any, Any, Any], sent: bool = False) -> Template:
    return await _invite_page(request, {"role": "coordinator"}, sent=sent)


@post("/setup/invite", guards=GUARDS, status_code=200)
async def setup_invite_send(request: Request[Any, Any, Any]) -> Any:
    fields = await form_fields(request)
    values = {name: fields.get(name, "") for name in ("email", "full_name", "role", "team_id")}
    try:
        await portal_api(request).post("/api/v1/users/invitations", drop_empty(values))
    except ApiError as exc:
        if exc.status not in (400, 403, 409, 422):
            raise
        errors = exc.field_errors()
        if exc.status == 409 and "email" in errors:
            errors["email"] = "This address already belongs to a user of your organization."
        shown = errors.keys() & {"email", "full_name", "role", "team_id"}
        return await _invite_page(
            request, values, errors=errors, error=CHECK_FIELDS if shown else exc.message, status_code=422
        )
    return Redirect("/portal/setup/invite?sent=true", status_code=303)


# --- finish -------------------------------------------------------------------------------------------------------


@post("/setup/finish", guards=GUARDS, status_code=303)
async def setup_finish(request: Request[Any, Any, Any]) -> Redirect:
    """Records that the organization is set up (once, audited); the next logins go to the worklist."""
    await portal_api(request).post("/api/v1/tenant/setup-complete")
    return Redirect("/portal/", status_code=303)


SETUP_PAGES = [
    setup_start,
    setup_time_zone,
    setup_time_zone_save,
    setup_hours,
    setup_hours_save,
    setup_modules,
    setup_modules_save,
    setup_invite,
    setup_invite_send,
    setup_finish,
]
