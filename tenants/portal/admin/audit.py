"""The audit log viewer: filters (ids and action names only: no patient data in the address), pages of
events, and the CSV export, downloaded through the portal from the API (which audits the export itself)."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar import Request, Response, get
from litestar.params import Parameter
from litestar.response import Template

from core.portal.api import ApiError, portal_api
from core.portal.rendering import render
from tenants.portal.admin.common import portal_user, requires

GUARDS = [requires("audit:read")]
PAGE_SIZE = 50
FILTERS = ("action", "resource_type", "actor_id", "from", "to")


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def api_filters(request: Request[Any, Any, Any], given: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The API's query (``since``/``until`` as the organization's local midnights) and the filters' errors."""
    zone = ZoneInfo(portal_user(request).time_zone)
    query: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name in ("action", "resource_type"):
        if given.get(name):
            query[name] = given[name][:64]
    if given.get("actor_id"):
        try:
            query["actor_id"] = str(UUID(given["actor_id"]))
        except ValueError:
            errors["actor_id"] = "Enter a user's id (a UUID), as shown in the table."
    days: dict[str, date] = {}
    for name, key, shift in (("from", "since", 0), ("to", "until", 1)):
        if given.get(name):
            day = _day(given[name])
            if day is None:
                errors[name] = "Enter a date (YYYY-MM-DD)."
            else:
                days[name] = day
                query[key] = datetime.combine(day + timedelta(days=shift), time(), zone).isoformat()
    if "from" in days and "to" in days and days["to"] < days["from"]:
        errors["to"] = "The last day must not be before the first."
    return query, errors


def _given(values: dict[str, str | None]) -> dict[str, str]:
    return {name: (value or "").strip()[:100] for name, value in values.items()}


@get("/admin/audit", guards=GUARDS)
async def audit_page(
    request: Request[Any, Any, Any],
    action: str | None = None,
    resource_type: str | None = None,
    actor_id: str | None = None,
    from_: Annotated[str | None, Parameter(query="from")] = None,
    to: str | None = None,
    before_seq: int | None = None,
) -> Template:
    given = _given({"action": action, "resource_type": resource_type, "actor_id": actor_id, "from": from_, "to": to})
    query, errors = api_filters(request, given)
    page: dict[str, Any] = {"items": [], "next_cursor": None}
    if not errors:
        params: dict[str, Any] = {**query, "limit": PAGE_SIZE}
        if before_seq is not None and before_seq > 0:
            params["before_seq"] = before_seq
        page = await portal_api(request).get("/api/v1/audit-events", params)
    zone = ZoneInfo(portal_user(request).time_zone)
    for event in page["items"]:
        event["when"] = datetime.fromisoformat(event["occurred_at"]).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
        event["details_text"] = json.dumps(event.get("details") or {}, sort_keys=True, ensure_ascii=False)
    kept = {name: value for name, value in given.items() if value}
    return await render(
        request,
        "tenants/admin/audit.html",
        status_code=422 if errors else 200,
        events=page["items"],
        values=given,
        errors=errors,
        filtered=bool(kept),
        older=f"?{urlencode({**kept, 'before_seq': page['next_cursor']})}" if page["next_cursor"] else None,
        newest=f"?{urlencode(kept)}" if before_seq else None,
        export=f"/portal/admin/audit/export?{urlencode(kept)}",
        time_zone=portal_user(request).time_zone,
    )


@get("/admin/audit/export", guards=GUARDS)
async def audit_export(
    request: Request[Any, Any, Any],
    action: str | None = None,
    resource_type: str | None = None,
    actor_id: str | None = None,
    from_: Annotated[str | None, Parameter(query="from")] = None,
    to: str | None = None,
) -> Response[bytes]:
    """The API's CSV file, passed on with its type and file name (the API records the export)."""
    given = _given({"action": action, "resource_type": resource_type, "actor_id": actor_id, "from": from_, "to": to})
    query, errors = api_filters(request, given)
    if errors:
        raise ApiError(400, {"title": "Bad Request", "detail": " ".join(errors.values())})
    return await portal_api(request).download("/api/v1/audit-events/export", query)


AUDIT_PAGES = [audit_page, audit_export]
