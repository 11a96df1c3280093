"""Organization: its name, time zone, whether MFA is required, and its business hours."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template

from core.portal.api import ApiError, portal_api
from core.portal.forms import form_fields, form_lists
from core.portal.rendering import render
from core.portal.session import renew_tokens
from tenants.portal.admin.common import CHECK_FIELDS, field_messages, flash, portal_user, refusal, requires
from tenants.portal.time_zones import zone_choices

GUARDS = [requires("tenant:manage")]
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DONE = {"saved": "The organization's settings are saved."}
FIELDS = ("name", "time_zone", "mfa_required", "days", "start", "end")
_CLOCK = re.compile(r"^\d{2}:\d{2}")


async def _page(
    request: Request[Any, Any, Any],
    tenant: dict[str, Any],
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Template:
    return await render(
        request,
        "tenants/admin/organization.html",
        status_code=status_code,
        tenant=tenant,
        values=values,
        zones=zone_choices(str(values.get("time_zone", ""))),
        weekdays=list(enumerate(WEEKDAYS, start=1)),
        errors=errors or {},
        error=error,
        flash=notice,
    )


def _values(tenant: dict[str, Any]) -> dict[str, Any]:
    hours = tenant["business_hours"]
    return {
        "name": tenant["name"],
        "time_zone": tenant["time_zone"],
        "mfa_required": tenant["mfa_required"],
        "days": list(hours["days"]),
        "start": hours["start"],
        "end": hours["end"],
    }


@get("/admin/organization", guards=GUARDS)
async def organization_page(request: Request[Any, Any, Any], done: str | None = None) -> Template:
    tenant = await portal_api(request).get("/api/v1/tenant")
    return await _page(request, tenant, _values(tenant), notice=flash(done, DONE))


def _clock(value: str) -> str:
    """``HH:MM`` from a time input (some browsers add seconds)."""
    found = _CLOCK.match(value)
    return found.group(0) if found else value[:5]


@post("/admin/organization", guards=GUARDS, status_code=200)
async def organization_save(request: Request[Any, Any, Any]) -> Any:
    fields = await form_fields(request)
    days = sorted({int(day) for day in await form_lists(request, "days") if day in "1234567" and len(day) == 1})
    values: dict[str, Any] = {
        "name": fields.get("name", "")[:300],
        "time_zone": fields.get("time_zone", "")[:64],
        "mfa_required": fields.get("mfa_required") == "true",
        "days": days,
        "start": _clock(fields.get("start", "")),
        "end": _clock(fields.get("end", "")),
    }
    change = {
        "name": values["name"],
        "time_zone": values["time_zone"],
        "mfa_required": values["mfa_required"],
        "business_hours": {"days": days, "start": values["start"], "end": values["end"]},
    }
    api = portal_api(request)
    try:
        await api.patch("/api/v1/tenant", change)
    except ApiError as exc:
        refused = refusal(exc, (400, 422))
        errors = _placed(field_messages(refused), days)
        tenant = await api.get("/api/v1/tenant")
        error = CHECK_FIELDS if errors else refused.message
        return await _page(request, tenant, values, errors=errors, error=error, status_code=422)
    await renew_tokens(request, portal_user(request))  # the session shows the new name and time zone
    return Redirect("/portal/admin/organization?done=saved", status_code=303)


def _placed(errors: dict[str, str], days: list[int]) -> dict[str, str]:
    """The API's errors on the form's fields; checks of a whole (time zone, business hours) placed by their words."""
    placed = {name: text for name, text in errors.items() if name in FIELDS}
    whole = " ".join(text for name, text in errors.items() if name not in FIELDS)
    if not days:
        placed["days"] = "Choose at least one working day."
    if "time_zone" in whole:
        placed["time_zone"] = "Choose a time zone from the list."
    if "must be before" in whole:
        placed["end"] = "Closing time must be after the opening time."
    if "weekday twice" in whole:
        placed["days"] = "Choose each day once."
    return placed


ORGANIZATION_PAGES = [organization_page, organization_save]
