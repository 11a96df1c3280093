"""Reports: start a run (the catalogue's parameters as a form), follow its progress, download the file.

The progress page asks every second (a passive request: watching a report build keeps no session alive)
until the run is built, failed or expired. The download goes through the portal, which fetches the file
from the API as the user (permission checked, download audited) and hands it on with the API's content
type and ``Content-Disposition``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from core.portal.api import ApiError, portal_api
from core.portal.display import form_errors, local_time, person_name
from core.portal.forms import drop_empty, form_fields
from core.portal.rendering import render, render_without_menu
from core.portal.session import PortalUser, current_user

REPORTS = "/api/v1/reports"
RUNS = f"{REPORTS}/runs"
STATUS = {
    "queued": ("Queued", ""),
    "running": ("Building", "warn"),
    "done": ("Built", "ok"),
    "failed": ("Failed", "bad"),
    "expired": ("Expired", ""),
}
FINISHED = frozenset({"done", "failed", "expired"})
LABELS = {"start": "From", "end": "To (included)", "time_zone": "Time zone", "practitioner_id": "Practitioner"}
PARAM_ORDER = ("start", "end", "time_zone", "practitioner_id", "status", "priority")
FORMATS = {"csv": "CSV (spreadsheet text)", "xlsx": "Excel workbook (with chart)", "pdf": "PDF (with chart)"}
@dataclass(frozen=True)
class ParamField:
    name: str
    label: str
    kind: str
    """``date``, ``text``, ``number`` or ``select``."""
    options: list[tuple[str, str]]
    hint: str = ""


def param_fields(schema: dict[str, Any], practitioners: list[tuple[str, str]]) -> list[ParamField]:
    """Form inputs for a report's parameters, from the JSON Schema the catalogue gives."""
    if "$ref" in schema:
        schema = schema.get("$defs", {}).get(str(schema["$ref"]).rsplit("/", 1)[-1], {})
    fields = []
    for name, prop in (schema.get("properties") or {}).items():
        variants = [v for v in prop.get("anyOf", [prop]) if v.get("type") != "null"]
        first = variants[0] if variants else {}
        label = LABELS.get(name, name.replace("_", " ").capitalize())
        if "enum" in first:
            options = [("", "(all)")] + [(str(v), str(v).replace("-", " ")) for v in first["enum"]]
            fields.append(ParamField(name, label, "select", options))
        elif name == "practitioner_id":
            fields.append(ParamField(name, label, "select", [("", "(all)"), *practitioners]))
        elif first.get("format") == "date":
            fields.append(ParamField(name, label, "date", [], "Leave blank for the report's default period."))
        elif first.get("type") == "integer":
            fields.append(ParamField(name, label, "number", []))
        else:
            hint = "Default: the organization's." if name == "time_zone" else ""
            fields.append(ParamField(name, label, "text", [], hint))
    return fields


def _param_order(item: tuple[str, Any]) -> tuple[int, str]:
    """Parameters in the order people read them: the period first."""
    return (PARAM_ORDER.index(item[0]) if item[0] in PARAM_ORDER else len(PARAM_ORDER), item[0])


def run_view(run: dict[str, Any], zone: str) -> dict[str, Any]:
    status, status_class = STATUS.get(run["status"], (run["status"], ""))
    return {
        **run,
        "status_name": status,
        "status_class": status_class,
        "finished": run["status"] in FINISHED,
        "requested": local_time(run.get("created_at"), zone),
        "expires": local_time(run.get("expires_at"), zone),
        "params_text": "; ".join(
            f"{LABELS.get(key, key.replace('_', ' ').capitalize())}: {value}"
            for key, value in sorted((run.get("params") or {}).items(), key=_param_order)
            if value not in (None, "")
        ),
    }


def _zone(request: Request[Any, Any, Any]) -> str:
    user = current_user(request)
    assert isinstance(user, PortalUser)
    return user.time_zone


class ReportPages(Controller):
    path = "/"

    @get("/reports", name="metrics-reports")
    async def reports(self, request: Request[Any, Any, Any]) -> Template:
        api = portal_api(request)
        catalogue = await api.get(REPORTS)
        runs = await api.get(RUNS, {"mine": "true", "limit": 10})
        titles = {r["name"]: r["title"] for r in catalogue}
        return await render(
            request,
            "metrics/reports.html",
            page_title="Reports",
            reports=catalogue,
            runs=[run_view(run, _zone(request)) for run in runs["items"]],
            titles=titles,
        )

    async def _form(
        self, request: Request[Any, Any, Any], name: str, status_code: int = 200, **context: Any
    ) -> Template:
        api = portal_api(request)
        report = next((r for r in await api.get(REPORTS) if r["name"] == name), None)
        if report is None:
            raise ApiError(404, {"title": "No such report"})
        practitioners: list[tuple[str, str]] = []
        if "practitioner_id" in str(report["parameters"]):
            listed = await api.get("/api/v1/directory/practitioners", {"limit": 200})
            practitioners = [(p["id"], f"{person_name(p)} ({p['specialty']})") for p in listed["items"]]
        context.setdefault("values", {"format": report["formats"][0]})
        context.setdefault("errors", {})
        return await render(
            request,
            "metrics/report_form.html",
            status_code=status_code,
            page_title=report["title"],
            report=report,
            formats=[(f, FORMATS.get(f, f)) for f in report["formats"]],
            fields=param_fields(report["parameters"], practitioners),
            **context,
        )

    @get("/reports/{name:str}", name="metrics-report-form")
    async def report_form(self, request: Request[Any, Any, Any], name: str) -> Template:
        return await self._form(request, name)

    @post("/reports/{name:str}", status_code=200, name="metrics-report-start")
    async def start_run(self, request: Request[Any, Any, Any], name: str) -> Any:
        fields = await form_fields(request)
        params = drop_empty({k: v for k, v in fields.items() if k != "format"})
        try:
            run = await portal_api(request).post(
                f"{REPORTS}/{name}/runs", {"format": fields.get("format", "csv"), "params": params}
            )
        except ApiError as exc:
            if exc.status not in (400, 422):
                raise
            return await self._form(request, name, 422, values=fields, errors=form_errors(exc), error=exc.message)
        return Redirect(f"/portal/metrics/reports/runs/{run['id']}", status_code=303)

    @get("/reports/runs/{run_id:uuid}", name="metrics-report-run")
    async def run_page(self, request: Request[Any, Any, Any], run_id: UUID) -> Template:
        api = portal_api(request)
        run = run_view(await api.get(f"{RUNS}/{run_id}"), _zone(request))
        titles = {r["name"]: r["title"] for r in await api.get(REPORTS)}
        return await render(
            request, "metrics/run.html", page_title="Report run", run=run, title=titles.get(run["report"], "Report")
        )

    @get("/reports/runs/{run_id:uuid}/progress", opt={"passive": True}, name="metrics-report-progress")
    async def run_progress(self, request: Request[Any, Any, Any], run_id: UUID) -> Template:
        """The progress block alone, asked every second until the run is finished."""
        run = run_view(await portal_api(request).get(f"{RUNS}/{run_id}"), _zone(request))
        return render_without_menu(request, "metrics/_run_progress.html", run=run)

    @get("/reports/runs/{run_id:uuid}/file", name="metrics-report-file")
    async def download(self, request: Request[Any, Any, Any], run_id: UUID) -> Response[bytes]:
        return await portal_api(request).download(f"{RUNS}/{run_id}/file")
