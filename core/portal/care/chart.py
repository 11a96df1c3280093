"""The patient chart (``/portal/patients/{id}``): demographics, contacts, consents, coverage, care team,
care plans, timeline, and the actions enabled modules offer on a patient.

Every section comes from the API as the logged-in user, so each read is permission-checked, tenant-scoped
and audited there; another organization's patient is the same 404 page as an id that does not exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast, get_args
from uuid import UUID

from litestar import Request, get
from litestar.response import Template

from core.patients.schemas import Relationship, Shareable
from core.plugins.manager import PluginHost
from core.portal.api import ApiError, PortalApi, portal_api
from core.portal.care.common import local_date, local_time
from core.portal.rendering import enabled_modules, is_chart_action, render
from core.portal.session import PortalUser, current_user

TIMELINE_LIMIT = 50
PLAN_SUMMARIES = 5
"""The newest plans summarized on the chart (goals met, activities done); older ones are only listed."""
_PATIENT_ID = re.compile(r"\{patient_id(:uuid)?\}")
CHANNEL_NAMES = {"sms": "Text messages", "email": "E-mail", "voice": "Phone calls", "letter": "Letters"}
ELIGIBILITY_BADGE = {"active": "ok", "inactive": "bad", "failed": "bad", "unknown": "warn", "queued": "warn"}
PLAN_BADGE = {"active": "ok", "on-hold": "warn", "revoked": "bad", "entered-in-error": "bad"}
RELATIONSHIPS: tuple[str, ...] = get_args(Relationship)
SHAREABLE = {
    "appointment_reminders": "Appointment reminders",
    "care_updates": "Care updates",
    "billing": "Billing",
    "clinical_results": "Clinical results",
}
assert set(SHAREABLE) == set(get_args(Shareable)), "a label for each thing a contact may receive"


def form_choices() -> dict[str, Any]:
    """The choices the chart's forms offer (the API's own lists)."""
    return {"relationships": RELATIONSHIPS, "shareable": SHAREABLE, "channel_names": CHANNEL_NAMES}


@dataclass(frozen=True)
class ChartAction:
    title: str
    href: str


def chart_actions_of(host: PluginHost, enabled: frozenset[str], patient_id: UUID) -> list[ChartAction]:
    """The enabled modules' ``menu_section="Patient"`` pages whose path holds ``{patient_id}``, for this patient."""
    found = []
    for module, pages in sorted(host.contributions.portal_pages.items()):
        if module not in enabled:
            continue
        for page in pages:
            if is_chart_action(page):
                path = _PATIENT_ID.sub(str(patient_id), page.path.strip("/"))
                found.append(ChartAction(page.title, f"/portal/{module}/{path}"))
    return found


async def chart_actions(request: Request[Any, Any, Any], user: PortalUser, patient_id: UUID) -> list[ChartAction]:
    host = cast(PluginHost, request.app.state.plugin_host)
    return chart_actions_of(host, await enabled_modules(request, user), patient_id)


def consent_rows(consents: list[dict[str, Any]], contacts: list[dict[str, Any]], zone: str) -> list[dict[str, Any]]:
    """Consents newest first, each with what it allows in words and its state."""
    names = {c["id"]: c["name"] for c in contacts}
    rows = []
    for consent in reversed(consents):
        if consent["kind"] == "channel":
            what = f"Contact by {CHANNEL_NAMES.get(consent['channel'], consent['channel']).lower()}"
        else:
            what = f"Share information with {names.get(consent['contact_id'], 'a former contact')}"
        if consent["active"]:
            state, badge = "active", "ok"
        elif consent["status"] == "revoked":
            state, badge = "revoked", "bad"
        else:
            state, badge = "expired", "warn"
        rows.append(
            {
                **consent,
                "what": what,
                "state": state,
                "badge": badge,
                "granted": local_time(consent["granted_at"], zone),
                "expires": local_time(consent["expires_at"], zone),
                "revoked": local_time(consent["revoked_at"], zone),
            }
        )
    return rows


async def contacts_and_consents(api: PortalApi, patient_id: UUID, zone: str) -> dict[str, Any]:
    contacts = await api.get(f"/api/v1/patients/{patient_id}/contacts")
    consents = await api.get(f"/api/v1/patients/{patient_id}/consents")
    return {"contacts": contacts, "consents": consent_rows(consents, contacts, zone)}


async def coverage_section(
    request: Request[Any, Any, Any], api: PortalApi, user: PortalUser, patient_id: UUID
) -> dict[str, Any] | None:
    """Coverage lives in the insurance module: None (no section) unless the organization enabled it."""
    if "insurance" not in await enabled_modules(request, user):
        return None
    try:
        items = await api.get("/api/v1/insurance/coverages", {"patient_id": str(patient_id)})
    except ApiError as exc:
        message = "You may not see coverage." if exc.status == 403 else "Coverage could not be read just now."
        return {"rows": [], "message": message}
    for item in items:
        item["badge"] = ELIGIBILITY_BADGE.get(item["eligibility"]["status"], "")
        item["checked"] = local_time(item["eligibility"].get("checked_at"), user.time_zone)
    return {"rows": items, "message": ""}


def plan_summary(detail: dict[str, Any]) -> str:
    goals, activities = detail["goals"], detail["activities"]
    met = sum(1 for g in goals if (g.get("progress") or {}).get("target_met") or g.get("achievement") == "achieved")
    done = sum(1 for a in activities if a["status"] == "completed")
    return f"{len(goals)} goal{'s' * (len(goals) != 1)} ({met} met), {len(activities)} activit" + (
        f"{'ies' if len(activities) != 1 else 'y'} ({done} done)"
    )


async def chart_context(request: Request[Any, Any, Any], patient_id: UUID) -> dict[str, Any]:
    """Everything the chart shows; the patient is read first, so an unknown id stops at the 404 page."""
    user = cast(PortalUser, current_user(request))
    api = portal_api(request)
    patient = await api.get(f"/api/v1/patients/{patient_id}")
    context: dict[str, Any] = {"patient": patient, "birth_date_text": local_date(patient["birth_date"])}
    context.update(await contacts_and_consents(api, patient_id, user.time_zone))
    team = await api.get(f"/api/v1/patients/{patient_id}/care-team")
    plans = await api.get(f"/api/v1/patients/{patient_id}/care-plans")
    timeline = await api.get(f"/api/v1/patients/{patient_id}/timeline", {"limit": TIMELINE_LIMIT})
    for item in timeline["items"]:
        item["when"] = local_time(item["occurred_at"], user.time_zone)
    for plan in plans:
        plan["badge"] = PLAN_BADGE.get(plan["status"], "")
    for plan in plans[:PLAN_SUMMARIES]:
        plan["summary"] = plan_summary(await api.get(f"/api/v1/care-plans/{plan['id']}"))
    context.update(
        page_title=f"{patient['family_name']}, {patient['given_name']}",
        team=[m for m in team if m["active"]],
        plans=plans,
        timeline=timeline["items"],
        timeline_limit=TIMELINE_LIMIT,
        coverage=await coverage_section(request, api, user, patient_id),
        actions=await chart_actions(request, user, patient_id),
        time_zone=user.time_zone,
    )
    return context


@get("/patients/{patient_id:uuid}")
async def chart(request: Request[Any, Any, Any], patient_id: UUID) -> Template:
    return await render(request, "core/care/chart.html", **form_choices(), **await chart_context(request, patient_id))


@get("/care-plans/{plan_id:uuid}")
async def care_plan(request: Request[Any, Any, Any], plan_id: UUID) -> Template:
    """One care plan: its goals with their progress, and its activities."""
    api = portal_api(request)
    plan = await api.get(f"/api/v1/care-plans/{plan_id}")
    patient = await api.get(f"/api/v1/patients/{plan['patient_id']}")
    for goal in plan["goals"]:
        progress = goal.get("progress")
        goal["percent"] = round(progress["percent"]) if progress else None
    return await render(
        request,
        "core/care/care_plan.html",
        page_title=plan["title"],
        plan=plan,
        patient=patient,
        badge=PLAN_BADGE.get(plan["status"], ""),
    )


CHART_PAGES = [chart, care_plan]
