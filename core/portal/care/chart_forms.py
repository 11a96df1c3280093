"""Adding contacts and recording or revoking consents on the chart, without reloading it (htmx swaps the section).

Without htmx the forms still work: success goes back to the chart, refusals show the whole chart with the
form's messages (422).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, cast
from uuid import UUID

from litestar import Request, Response, post
from litestar.response import Redirect

from core.portal.api import ApiError, portal_api
from core.portal.care.chart import SHAREABLE, chart_context, contacts_and_consents, form_choices
from core.portal.care.common import form_problem, zone
from core.portal.forms import drop_empty, form_fields, form_lists
from core.portal.rendering import render
from core.portal.session import PortalUser, current_user

CONTACT_FIELDS = ("name", "relationship", "phone", "email", "may_receive", "is_emergency_contact")
CONSENT_FIELDS = ("consent_for", "expires_on", "note")


async def _answer(
    request: Request[Any, Any, Any],
    patient_id: UUID,
    section: str,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response[Any]:
    """The changed section (htmx), or the chart: redirected after a success, rendered with the form's errors."""
    htmx = request.headers.get("hx-request") == "true"
    if not htmx and status_code < 400:
        return Redirect(f"/portal/patients/{patient_id}#{section}", status_code=303)
    user = cast(PortalUser, current_user(request))
    if htmx:
        context = await contacts_and_consents(portal_api(request), patient_id, user.time_zone)
        context["patient"] = {"id": str(patient_id)}
        template = f"core/care/chart_{section}_changed.html"
    else:
        context = await chart_context(request, patient_id)
        template = "core/care/chart.html"
    return await render(request, template, status_code=status_code, **form_choices(), **context, **extra)


@post("/patients/{patient_id:uuid}/contacts", status_code=200)
async def add_contact(request: Request[Any, Any, Any], patient_id: UUID) -> Response[Any]:
    fields = await form_fields(request)
    may_receive = await form_lists(request, "may_receive")
    body: dict[str, Any] = drop_empty({k: fields.get(k, "") for k in ("name", "relationship", "phone", "email")})
    body["may_receive"] = [key for key in SHAREABLE if key in may_receive]
    body["is_emergency_contact"] = fields.get("is_emergency_contact") == "true"
    try:
        await portal_api(request).post(f"/api/v1/patients/{patient_id}/contacts", body)
    except ApiError as exc:
        if exc.status not in (400, 422):
            raise
        errors, message = form_problem(exc, CONTACT_FIELDS)
        values = {**fields, "may_receive": may_receive}
        return await _answer(
            request, patient_id, "contacts", status_code=422, contact_values=values, contact_errors=errors,
            contact_error=message,
        )  # fmt: skip
    return await _answer(request, patient_id, "contacts", contact_note=f"Contact {body.get('name', '')} added.")


def _consent_body(fields: dict[str, str], zone_name: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The consent form as the API wants it; ``expires_on`` is the last local day it holds."""
    errors: dict[str, str] = {}
    kind, _, target = fields.get("consent_for", "").partition(":")
    body: dict[str, Any] = {}
    if kind == "channel":
        body = {"kind": "channel", "channel": target}
    elif kind == "contact":
        body = {"kind": "sharing", "contact_id": target}
    else:
        errors["consent_for"] = "choose what the patient agrees to"
    if fields.get("expires_on"):
        try:
            last_day = date.fromisoformat(fields["expires_on"])
        except ValueError:
            errors["expires_on"] = "is not a date"
        else:
            end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone(zone_name))
            body["expires_at"] = end.isoformat()
    if fields.get("note"):
        body["note"] = fields["note"]
    return body, errors


@post("/patients/{patient_id:uuid}/consents", status_code=200)
async def record_consent(request: Request[Any, Any, Any], patient_id: UUID) -> Response[Any]:
    fields = await form_fields(request)
    user = cast(PortalUser, current_user(request))
    body, errors = _consent_body(fields, user.time_zone)
    message = "Some values need correcting: see the messages next to the fields."
    if not errors:
        try:
            await portal_api(request).post(f"/api/v1/patients/{patient_id}/consents", body)
        except ApiError as exc:
            if exc.status not in (400, 422):
                raise
            errors, message = form_problem(exc, (*CONSENT_FIELDS, "channel", "contact_id", "expires_at"))
            for api_name in ("channel", "contact_id"):
                if api_name in errors:
                    errors["consent_for"] = errors.pop(api_name)
            if "expires_at" in errors:
                errors["expires_on"] = errors.pop("expires_at")
    if errors:
        return await _answer(
            request, patient_id, "consents", status_code=422, consent_values=fields, consent_errors=errors,
            consent_error=message,
        )  # fmt: skip
    return await _answer(request, patient_id, "consents", consent_note="Consent recorded.")


@post("/patients/{patient_id:uuid}/consents/{consent_id:uuid}/revoke", status_code=200)
async def revoke_consent(request: Request[Any, Any, Any], patient_id: UUID, consent_id: UUID) -> Response[Any]:
    await portal_api(request).post(f"/api/v1/patients/{patient_id}/consents/{consent_id}/revoke")
    return await _answer(request, patient_id, "consents", consent_note="Consent revoked.")


CHART_FORM_PAGES = [add_contact, record_consent, revoke_consent]
