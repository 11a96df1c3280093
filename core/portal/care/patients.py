"""Finding and registering patients: the search is always POSTed (names, MRNs and birth dates never sit in a URL)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from core.portal.api import ApiError, portal_api
from core.portal.care.common import form_problem, local_date
from core.portal.forms import drop_empty, form_fields, form_lists
from core.portal.rendering import render

PAGE_SIZE = 25
SEXES = (("", "Not recorded"), ("female", "Female"), ("male", "Male"), ("other", "Other"), ("unknown", "Unknown"))
CHANNELS = (("sms", "Text message"), ("email", "E-mail"), ("voice", "Phone call"), ("letter", "Letter"))
NEW_FIELDS = (
    "mrn", "given_name", "family_name", "birth_date", "sex", "phone", "email",
    "line", "city", "state", "postal_code", "country", "language", "interpreter_needed", "channels",
)  # fmt: skip


def _result_rows(patients: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**p, "birth_date_text": local_date(p["birth_date"])} for p in patients]


@get("/patients")
async def patients_page(request: Request[Any, Any, Any]) -> Template:
    """The search box, and the patients whose care team the caller is on."""
    caseload = await portal_api(request).get("/api/v1/me/caseload")
    return await render(request, "core/care/patients.html", page_title="Patients", caseload=caseload, query="")


@post("/patients/search", status_code=200)
async def search(request: Request[Any, Any, Any]) -> Template:
    """Results of the posted query: a fragment for htmx, the whole page otherwise."""
    fields = await form_fields(request)
    query = fields.get("q", "")[:100]
    cursor = fields.get("cursor", "")[:600]
    page: dict[str, Any] = {"items": [], "next_cursor": None}
    error = ""
    if query:
        try:
            page = await portal_api(request).get("/api/v1/patients", {"q": query, "limit": PAGE_SIZE, "cursor": cursor})
        except ApiError as exc:
            if exc.status != 400:
                raise
            error = "That search could not be continued; search again."
    context = {"query": query, "results": _result_rows(page["items"]), "next_cursor": page["next_cursor"]}
    context.update(searched=bool(query), error=error, paged=bool(cursor))
    if request.headers.get("hx-request") == "true":
        return await render(request, "core/care/patient_results.html", **context)
    return await render(request, "core/care/patients.html", page_title="Patients", caseload=None, **context)


def _new_patient_body(fields: dict[str, str], channels: list[str]) -> dict[str, Any]:
    """The form as ``POST /api/v1/patients`` wants it (blank optional fields left out)."""
    body = drop_empty({k: fields.get(k, "") for k in ("mrn", "given_name", "family_name", "birth_date")})
    body.update(drop_empty({k: fields.get(k, "") for k in ("sex", "phone", "email")}))
    address = drop_empty({k: fields.get(k, "") for k in ("city", "state", "postal_code", "country")})
    if fields.get("line"):
        address["line"] = [fields["line"]]
    if address:
        body["address"] = address
    communication = drop_empty({"language": fields.get("language", "")})
    communication["interpreter_needed"] = fields.get("interpreter_needed") == "true"
    communication["channels"] = [c for c in dict(CHANNELS) if c in channels]
    body["communication"] = communication
    return body


async def _new_form(
    request: Request[Any, Any, Any],
    values: dict[str, Any],
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    error: str = "",
) -> Template:
    return await render(
        request,
        "core/care/patient_new.html",
        status_code=status_code,
        page_title="New patient",
        values=values,
        errors=errors or {},
        error=error,
        sexes=SEXES,
        channels=CHANNELS,
    )


@get("/patients/new")
async def new_patient_page(request: Request[Any, Any, Any]) -> Template:
    return await _new_form(request, {"channels": []})


@post("/patients/new", status_code=200)
async def new_patient(request: Request[Any, Any, Any]) -> Response[Any]:
    """Register through the API; its refusals come back next to the fields (422), success opens the chart."""
    fields = await form_fields(request)
    channels = await form_lists(request, "channels")
    try:
        created = await portal_api(request).post("/api/v1/patients", _new_patient_body(fields, channels))
    except ApiError as exc:
        if exc.status == 409:
            errors = {"mrn": "is already used by another patient of this organization"}
            return await _new_form(request, {**fields, "channels": channels}, status_code=422, errors=errors,
                                   error="A patient with this MRN exists already.")  # fmt: skip
        if exc.status not in (400, 422):
            raise
        errors, message = form_problem(exc, NEW_FIELDS)
        return await _new_form(request, {**fields, "channels": channels}, status_code=422, errors=errors, error=message)
    return Redirect(f"/portal/patients/{created['id']}", status_code=303)


PATIENT_PAGES = [patients_page, search, new_patient_page, new_patient]
