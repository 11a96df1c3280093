"""A day's appointments (core's ``GET /api/v1/appointments?day=``) with each one's reminder status.

The status sums up the touches planned for the appointment's current start (``GET
/api/v1/reminders/appointments/{id}/touches``): confirmed by the patient's reply, else delivered, sent,
failed, or none yet (with the next planned send).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, get
from litestar.response import Template

from core.portal.api import portal_api
from core.portal.display import local_time, long_date, parse_time, patient_names, person_name, read_each
from core.portal.rendering import render
from core.portal.session import PortalUser, current_user

DAY_LIMIT = 500
TOUCHES_PER_READ = 200
"""``GET /api/v1/reminders/touches`` takes up to this many appointment ids."""
SENT = frozenset({"sent", "sending"})
STATUS = {
    "confirmed": ("Confirmed", "ok"),
    "delivered": ("Delivered", "ok"),
    "sent": ("Sent", ""),
    "failed": ("Failed", "bad"),
    "none": ("None yet", ""),
}
COUNTED = {
    "confirmed": "confirmed",
    "delivered": "delivered",
    "sent": "sent",
    "failed": "failed",
    "none": "not reminded yet",
}


@dataclass(frozen=True)
class ReminderState:
    key: str
    detail: str
    touches: list[str]

    @property
    def name(self) -> str:
        return STATUS[self.key][0]

    @property
    def badge_class(self) -> str:
        return STATUS[self.key][1]


def reminder_state(appointment: dict[str, Any], touches: list[dict[str, Any]], zone: str) -> ReminderState:
    """Where the reminders of the appointment's current start stand."""
    start = parse_time(appointment["start"])
    current = [t for t in touches if t["kind"] == "appointment" and parse_time(t["subject_at"]) == start]
    described = [
        f"{t['touch_key']}: {t['status']}"
        + (f" by {t['channel']}" if t.get("channel") and t["status"] not in ("planned", "cancelled") else "")
        + (f" at {local_time(t['send_at'], zone)}" if t["status"] == "planned" and t.get("send_at") else "")
        for t in current
    ]
    statuses = {t["status"] for t in current}
    confirmed = [t["confirmed_at"] for t in current if t.get("confirmed_at")]
    if confirmed:
        return ReminderState("confirmed", f"by reply, {local_time(min(confirmed), zone)}", described)
    if "delivered" in statuses:
        return ReminderState("delivered", "no reply yet", described)
    if statuses & SENT:
        return ReminderState("sent", "delivery not reported yet", described)
    if "failed" in statuses:
        failed = next(t for t in current if t["status"] == "failed")
        return ReminderState("failed", failed.get("reason") or "no channel got through", described)
    planned = sorted(t["send_at"] for t in current if t["status"] == "planned" and t.get("send_at"))
    detail = f"next at {local_time(planned[0], zone)}" if planned else "no reminder planned"
    return ReminderState("none", detail, described)


def today_in(zone: str) -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(zone)).date()


class DayPages(Controller):
    path = "/"

    @get("/day", name="reminders-day")
    async def day_view(self, request: Request[Any, Any, Any], day: date | None = None) -> Template:
        api = portal_api(request)
        user = current_user(request)
        assert isinstance(user, PortalUser)
        day = day or today_in(user.time_zone)
        page = await api.get("/api/v1/appointments", {"day": day.isoformat(), "limit": DAY_LIMIT})
        appointments = page["items"]
        touches: dict[str, list[Any]] = {}
        ids = [a["id"] for a in appointments]
        for start in range(0, len(ids), TOUCHES_PER_READ):  # one read per 200 appointments, not one each
            chunk = ids[start : start + TOUCHES_PER_READ]
            found = await api.get("/api/v1/reminders/touches", {"appointment_ids": chunk})
            for touch in found:
                touches.setdefault(str(touch["subject_id"]), []).append(touch)
        patients = await patient_names(api, {a["patient_id"] for a in appointments})
        practitioners = await read_each(
            api,
            (f"/api/v1/directory/practitioners/{a['practitioner_id']}" for a in appointments if a["practitioner_id"]),
        )
        rows = []
        for appointment in appointments:
            state = reminder_state(
                appointment,
                touches.get(str(appointment["id"]), []),
                user.time_zone,
            )
            practitioner = practitioners.get(f"/api/v1/directory/practitioners/{appointment['practitioner_id']}")
            rows.append(
                {
                    "id": appointment["id"],
                    "time": local_time(appointment["start"], user.time_zone, with_day=False),
                    "end": local_time(appointment["end"], user.time_zone, with_day=False),
                    "patient_id": appointment["patient_id"],
                    "patient": patients.get(appointment["patient_id"], ""),
                    "practitioner": person_name(practitioner, "") if practitioner else "",
                    "location": appointment.get("location") or "",
                    "status": appointment["status"],
                    "reminder": state,
                }
            )
        counts = {key: sum(r["reminder"].key == key for r in rows) for key in STATUS}
        return await render(
            request,
            "reminders/day.html",
            page_title="Reminders by day",
            day=day.isoformat(),
            day_name=long_date(day),
            previous=(day - timedelta(days=1)).isoformat(),
            next=(day + timedelta(days=1)).isoformat(),
            is_today=day == today_in(user.time_zone),
            rows=rows,
            counts=[(COUNTED[key], counts[key]) for key in STATUS if counts[key]],
            truncated=page.get("next_cursor") is not None,
        )
