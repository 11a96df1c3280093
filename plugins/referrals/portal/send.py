"""Sending a patient to a specialist: the form creates the referral (a draft) and sends it at once.

Listed as an action on the patient's chart (a ``Patient`` page with ``{patient_id}`` in its path). A
referral the API created but could not send stays a draft: the page then opens it with the reason.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from core.portal.api import ApiError, portal_api
from core.portal.display import form_errors, person_name
from core.portal.forms import drop_empty, form_fields
from core.portal.rendering import render
from plugins.referrals.portal.views import directory_choices

PRIORITIES = [
    ("routine", "Routine"),
    ("urgent", "Urgent"),
    ("asap", "As soon as possible"),
    ("stat", "Stat (immediately)"),
]
RENAMED = {"data": "target_practitioner_id"}
"""The API's whole-body rule (name a practitioner or an organization) shows next to the practitioner."""


def referral_body(patient_id: UUID, fields: dict[str, str]) -> dict[str, Any]:
    codes = [c for c in re.split(r"[\s,;]+", fields.get("diagnosis_codes", "")) if c]
    return {
        "patient_id": str(patient_id),
        **drop_empty(
            {
                "priority": fields.get("priority", ""),
                "target_practitioner_id": fields.get("target_practitioner_id", ""),
                "target_organization_id": fields.get("target_organization_id", ""),
                "clinical_notes": fields.get("clinical_notes", ""),
            }
        ),
        "specialty": fields.get("specialty", ""),  # sent even when blank: the API names the empty field
        "reason": fields.get("reason", ""),
        "diagnosis_codes": codes,
        "prior_auth_required": fields.get("prior_auth_required") == "true",
    }


class SendReferralPages(Controller):
    path = "/"

    async def _form(
        self, request: Request[Any, Any, Any], patient_id: UUID, status_code: int = 200, **context: Any
    ) -> Template:
        api = portal_api(request)
        patient = await api.get(f"/api/v1/patients/{patient_id}")
        practitioners, organizations = await directory_choices(api)
        context.setdefault("values", {"priority": "routine"})
        context.setdefault("errors", {})
        return await render(
            request,
            "referrals/new.html",
            status_code=status_code,
            page_title="Send a referral",
            patient=patient,
            patient_name=person_name(patient),
            practitioners=practitioners,
            organizations=organizations,
            priorities=PRIORITIES,
            **context,
        )

    @get("/new/{patient_id:uuid}", name="referrals-new")
    async def new_referral(self, request: Request[Any, Any, Any], patient_id: UUID) -> Template:
        return await self._form(request, patient_id)

    @post("/new/{patient_id:uuid}", status_code=200, name="referrals-create")
    async def create_referral(self, request: Request[Any, Any, Any], patient_id: UUID) -> Any:
        fields = await form_fields(request)
        api = portal_api(request)
        try:
            created = await api.post("/api/v1/referrals", referral_body(patient_id, fields))
        except ApiError as exc:
            if exc.status not in (400, 422):
                raise
            return await self._form(
                request, patient_id, 422, values=fields, errors=form_errors(exc, RENAMED), error=exc.message
            )
        try:
            await api.post(f"/api/v1/referrals/{created['id']}/transitions", {"to": "sent"})
        except ApiError as exc:
            if exc.status not in (400, 409, 422):
                raise
            return Redirect(f"/portal/referrals/{created['id']}?done=created", status_code=303)
        return Redirect(f"/portal/referrals/{created['id']}?done=sent", status_code=303)
