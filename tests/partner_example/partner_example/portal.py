"""The plugin's portal page: a patient's notes, as an action on the chart (``/portal/partner_example/...``).

The page is a client of the plugin's own API (``portal_api``): permissions, RLS and validation are the
API's, and a foreign or unknown patient is the portal's 404 page.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from core.plugins.sdk import ApiError, form_fields, portal_api, render

NOTES = "/api/v1/partner_example/notes"


async def _page(request: Request[Any, Any, Any], patient_id: UUID, **extra: Any) -> Template:
    api = portal_api(request)
    patient = await api.get(f"/api/v1/patients/{patient_id}")
    listing = await api.get(NOTES, {"patient_id": str(patient_id)})
    return await render(request, "partner_example/notes.html", patient=patient, listing=listing, **extra)


class NotesPage(Controller):
    """One page (one chart action) answering GET (show) and POST (add); a Controller keeps them together."""

    path = "/patients/{patient_id:uuid}/notes"

    @get()
    async def show(self, request: Request[Any, Any, Any], patient_id: UUID) -> Template:
        return await _page(request, patient_id, errors={})

    @post(status_code=200)
    async def add(self, request: Request[Any, Any, Any], patient_id: UUID) -> Template | Redirect:
        body = (await form_fields(request)).get("body", "")
        try:
            await portal_api(request).post(NOTES, {"patient_id": str(patient_id), "body": body})
        except ApiError as exc:
            if exc.status not in (400, 422):
                raise
            errors = exc.field_errors() or {"body": exc.message}
            return await _page(request, patient_id, errors=errors, body=body, status_code=422)
        return Redirect(f"/portal/partner_example/patients/{patient_id}/notes", status_code=303)
