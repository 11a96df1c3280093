"""The appointment day view (``/portal/appointments?day=YYYY-MM-DD``), in the organization's time zone."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any, cast

from litestar import Request, get
from litestar.response import Template

from core.portal.api import ApiError, PortalApi, portal_api
from core.portal.care.common import local_time, patient_name, patients_by_id, zone
from core.portal.rendering import render
from core.portal.session import PortalUser, current_user

DAY_LIMIT = 200
STATUS_BADGE = {
    "booked": "",
    "arrived": "warn",
    "checked-in": "warn",
    "fulfilled": "ok",
    "cancelled": "bad",
    "noshow": "bad",
    "entered-in-error": "bad",
}


async def _practitioner_names(api: PortalApi, ids: set[str]) -> dict[str, str]:
    """Directory names of the day's practitioners (not patient data)."""

    async def one(practitioner_id: str) -> tuple[str, str]:
        try:
            found = await api.get(f"/api/v1/directory/practitioners/{practitioner_id}")
        except ApiError:
            return practitioner_id, "unknown practitioner"
        return practitioner_id, f"{found['given_name']} {found['family_name']}"

    return dict(await asyncio.gather(*(one(i) for i in sorted(ids))))


@get("/appointments")
async def day_view(request: Request[Any, Any, Any], day: date | None = None) -> Template:
    """The day's appointments by start time; ``day`` defaults to today where the organization is."""
    user = cast(PortalUser, current_user(request))
    shown = day or datetime.now(zone(user.time_zone)).date()
    api = portal_api(request)
    page = await api.get(
        "/api/v1/appointments", {"day": shown.isoformat(), "time_zone": user.time_zone, "limit": DAY_LIMIT}
    )
    items = page["items"]
    patients = await patients_by_id(api, (a["patient_id"] for a in items))
    practitioners = await _practitioner_names(api, {a["practitioner_id"] for a in items if a["practitioner_id"]})
    rows = [
        {
            **a,
            "starts": local_time(a["start"], user.time_zone, with_day=False),
            "ends": local_time(a["end"], user.time_zone, with_day=False),
            "patient": patient_name(patients[a["patient_id"]]) if a["patient_id"] in patients else "Open chart",
            "practitioner": practitioners.get(a["practitioner_id"] or "", ""),
            "badge": STATUS_BADGE.get(a["status"], ""),
        }
        for a in items
    ]
    return await render(
        request,
        "core/care/appointments.html",
        page_title=f"Appointments {shown.isoformat()}",
        day=shown,
        day_text=shown.strftime("%A %d %B %Y"),
        previous=(shown - timedelta(days=1)).isoformat(),
        next=(shown + timedelta(days=1)).isoformat(),
        today=datetime.now(zone(user.time_zone)).date(),
        rows=rows,
        more=page["next_cursor"] is not None,
        time_zone=user.time_zone,
    )


APPOINTMENT_PAGES = [day_view]
