"""One referral: its facts, SLA clock and status history, with the moves the lifecycle allows from here.

The buttons offered come from the module's state machine (``states.allowed_targets``); the API decides
again and its refusals (409 for a move no longer allowed, 422 for a missing reason, appointment or
consult report) are shown on the page next to the field concerned.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from core.portal.api import ApiError, PortalApi, portal_api
from core.portal.display import form_errors, local_time, person_name, read_each
from core.portal.forms import drop_empty, form_fields
from core.portal.rendering import render
from core.portal.session import PortalUser, current_user
from plugins.referrals.portal.views import directory_choices, receiver, receiver_names, sla_view, status_name
from plugins.referrals.routes import WRITE
from plugins.referrals.states import REASON_REQUIRED, allowed_targets, can_reroute

REFERRALS = "/api/v1/referrals"
MOVE_LABELS = {
    "sent": "Send to the specialist",
    "received": "Specialist received it",
    "accepted": "Specialist accepted it",
    "rejected": "Specialist rejected it",
    "scheduled": "Appointment booked",
    "seen": "Patient was seen",
    "closed": "Close the loop (consult report in)",
    "on_hold": "Put on hold",
    "cancelled": "Cancel the referral",
}
NOTICES = {
    "created": "The referral was created.",
    "sent": "The referral was sent.",
    "rerouted": "A new referral to the new specialist was created as a draft; the earlier one is kept as replaced.",
}
REROUTE_FIELDS = {
    "reason": "reroute_reason",
    "target_practitioner_id": "reroute_practitioner_id",
    "target_organization_id": "reroute_organization_id",
    "specialty": "reroute_specialty",
    "data": "reroute_practitioner_id",
}


def _moves(referral: dict[str, Any]) -> list[tuple[str, str]]:
    current = referral["status"]
    targets = allowed_targets(current, referral.get("held_from"))
    ordered = [t for t in MOVE_LABELS if t in targets]
    labels = dict(MOVE_LABELS)
    if current == "on_hold":
        labels.update({t: f"Resume ({status_name(t).lower()})" for t in ordered if t != "cancelled"})
    if current == "scheduled":
        labels["accepted"] = "Appointment fell through (back to accepted)"
    return [(t, labels[t]) for t in ordered]


async def _user_names(api: PortalApi) -> dict[str, str]:
    try:
        users = await api.get("/api/v1/users")
    except ApiError:
        return {}  # a role that may not list users sees "a colleague"
    items = users.get("items", users) if isinstance(users, dict) else users
    return {str(u["id"]): str(u.get("full_name") or u["email"]) for u in items}


async def detail_context(request: Request[Any, Any, Any], referral_id: UUID) -> dict[str, Any]:
    api = portal_api(request)
    user = current_user(request)
    assert isinstance(user, PortalUser)
    referral = await api.get(f"{REFERRALS}/{referral_id}")
    history = await api.get(f"{REFERRALS}/{referral_id}/transitions")
    patient = (await read_each(api, [f"/api/v1/patients/{referral['patient_id']}"])).popitem()[1]
    names = await receiver_names(api, [referral])
    users = await _user_names(api)
    may_write = user.can(WRITE)
    moves = _moves(referral) if may_write else []
    appointments: list[tuple[str, str]] = []
    if any(to == "scheduled" for to, _ in moves):
        page = await api.get("/api/v1/appointments", {"patient_id": referral["patient_id"], "status": "booked"})
        appointments = [("", "(choose the booked appointment)")] + [
            (a["id"], f"{local_time(a['start'], user.time_zone)}{' · ' + a['location'] if a['location'] else ''}")
            for a in page["items"]
        ]
    reroute: dict[str, Any] = {}
    if may_write and can_reroute(referral["status"]):
        practitioners, organizations = await directory_choices(api)
        reroute = {"practitioners": practitioners, "organizations": organizations}

    def actor(entry: dict[str, Any]) -> str:
        if entry["actor_type"] != "user":
            return "carecoord (automatic)"
        if entry.get("actor_id") == str(user.user_id):
            return "you"
        return users.get(str(entry.get("actor_id")), "a colleague")

    return {
        "referral": referral,
        "status": status_name(referral["status"]),
        "patient": person_name(patient, "(removed patient)"),
        "receiver": receiver(referral, names),
        "sla": sla_view(referral.get("sla"), user.time_zone),
        "created": local_time(referral["created_at"], user.time_zone),
        "history": [
            {
                "when": local_time(h["occurred_at"], user.time_zone),
                "from": status_name(h["from_status"]) if h["from_status"] else "",
                "to": status_name(h["to_status"]),
                "reason": h.get("reason") or "",
                "actor": actor(h),
            }
            for h in history
        ],
        "moves": moves,
        "needs_reason": [label for to, label in moves if to in REASON_REQUIRED],
        "can_schedule": any(to == "scheduled" for to, _ in moves),
        "can_close": any(to == "closed" for to, _ in moves),
        "appointments": appointments,
        "reroute": reroute,
        "coordinator": users.get(str(referral.get("coordinator_id")), "")
        if referral.get("coordinator_id") != str(user.user_id)
        else "you",
        "values": {},
        "errors": {},
    }


class ReferralPages(Controller):
    path = "/"

    @get("/{referral_id:uuid}", name="referrals-detail")
    async def detail(self, request: Request[Any, Any, Any], referral_id: UUID, done: str | None = None) -> Template:
        context = await detail_context(request, referral_id)
        return await render(
            request, "referrals/detail.html", page_title="Referral", flash=NOTICES.get(done or ""), **context
        )

    @post("/{referral_id:uuid}/move", status_code=200, name="referrals-move")
    async def move(self, request: Request[Any, Any, Any], referral_id: UUID) -> Any:
        fields = await form_fields(request)
        to = fields.get("to", "")
        body = drop_empty(
            {
                "to": to,
                "reason": fields.get("reason", ""),
                "appointment_id": fields.get("appointment_id", "") if to == "scheduled" else "",
                "consult_report": fields.get("consult_report", "") if to == "closed" else "",
            }
        )
        try:
            await portal_api(request).post(f"{REFERRALS}/{referral_id}/transitions", body)
        except ApiError as exc:
            if exc.status not in (400, 409, 422):
                raise
            context = await detail_context(request, referral_id)
            context.update(values=fields, errors=form_errors(exc, {"to": "moves"}), error=exc.message)
            return await render(
                request,
                "referrals/detail.html",
                status_code=409 if exc.status == 409 else 422,
                page_title="Referral",
                **context,
            )
        return Redirect(f"/portal/referrals/{referral_id}", status_code=303)

    @post("/{referral_id:uuid}/reroute", status_code=200, name="referrals-reroute")
    async def reroute(self, request: Request[Any, Any, Any], referral_id: UUID) -> Any:
        fields = await form_fields(request)
        body = {
            "reason": fields.get("reroute_reason", ""),  # sent even when blank: the API names the empty field
            **drop_empty(
                {
                    "target_practitioner_id": fields.get("reroute_practitioner_id", ""),
                    "target_organization_id": fields.get("reroute_organization_id", ""),
                    "specialty": fields.get("reroute_specialty", ""),
                }
            ),
        }
        try:
            answer = await portal_api(request).post(f"{REFERRALS}/{referral_id}/reroute", body)
        except ApiError as exc:
            if exc.status not in (400, 409, 422):
                raise
            context = await detail_context(request, referral_id)
            context.update(values=fields, errors=form_errors(exc, REROUTE_FIELDS), reroute_error=exc.message)
            return await render(
                request,
                "referrals/detail.html",
                status_code=409 if exc.status == 409 else 422,
                page_title="Referral",
                **context,
            )
        return Redirect(f"/portal/referrals/{answer['referral']['id']}?done=rerouted", status_code=303)
