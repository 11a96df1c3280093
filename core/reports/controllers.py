"""Report routes: ``/api/v1/reports``.

The catalogue lists what this tenant may run (core's reports and those of its enabled modules).
Starting a run answers 202 with the run; the worker builds the file and the run shows its
progress. A foreign or unknown run id answers 404; a file not built yet 409; an expired one 410.
Every run request and every download is audited: reports may hold patient data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.exceptions import PermissionDeniedException
from litestar.params import Parameter
from litestar.response import Stream
from litestar.status_codes import HTTP_202_ACCEPTED

from core.auth.guards import requires_permission
from core.auth.permissions import Permission
from core.db.cursors import BadCursorError
from core.http.context import RequestContext, provide_context
from core.http.files import download_headers
from core.http.problems import problem
from core.plugins.manager import PluginHost, get_host
from core.plugins.records import ReportSpec
from core.reports import service
from core.reports.params import ParamsError, params_json, params_schema, parse_params
from core.reports.recipients import recipient_problems
from core.reports.registry import all_reports, tenant_reports
from core.reports.schemas import ChartInfo, ReportInfo, ReportRun, ReportRunPage, RunCreate
from core.reports.storage import report_storage

READ = [requires_permission(Permission.REPORTS_READ)]
RUN = [requires_permission(Permission.REPORTS_RUN)]
NO_RUN = "No such report run"


def _host(request: Request[Any, Any, Any]) -> PluginHost:
    host = request.app.state.get("plugin_host")
    return host if isinstance(host, PluginHost) else get_host()


def _may_use(ctx: RequestContext, spec: ReportSpec | None) -> bool:
    return spec is None or spec.permission is None or ctx.principal.can(spec.permission)


def _info(spec: ReportSpec) -> ReportInfo:
    chart = spec.chart
    return ReportInfo(
        name=spec.full_name,
        title=spec.title,
        description=spec.description,
        module=spec.module or "core",
        formats=["csv", "xlsx", "pdf"],
        parameters=params_schema(spec),
        chart=None if chart is None else ChartInfo(kind=chart.kind, x=chart.x, y=list(chart.y), title=chart.title),
    )


class ReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]
    dependencies = {"ctx": Provide(provide_context)}

    @get("/", guards=READ, summary="The reports this organization can run")
    async def catalogue(self, ctx: RequestContext, request: Request[Any, Any, Any]) -> list[ReportInfo]:
        reports = await tenant_reports(_host(request), ctx.tx, ctx.tenant_id)
        return [_info(spec) for spec in reports.values() if _may_use(ctx, spec)]

    @post("/{name:str}/runs", guards=RUN, status_code=HTTP_202_ACCEPTED, summary="Start building a report")
    async def start(
        self, ctx: RequestContext, request: Request[Any, Any, Any], name: str, data: RunCreate
    ) -> ReportRun:
        """Queues the build (``reports.build``) with the run, in one transaction; poll the run for progress."""
        spec = (await tenant_reports(_host(request), ctx.tx, ctx.tenant_id)).get(name)
        if spec is None:
            raise problem(404, f"No report named {name!r} is available to this organization")
        if not _may_use(ctx, spec):
            raise PermissionDeniedException(f"Requires permission {spec.permission}")
        try:
            params = parse_params(spec, data.params)
        except ParamsError as exc:
            raise problem(
                400, f"Invalid report parameters: {exc}", errors=[{"key": exc.key, "message": str(exc)}]
            ) from None
        email_to = await _recipients(ctx, spec, data.email_to)
        return await service.start_run(ctx, spec, data.format, params_json(params), email_to)

    @get("/runs", guards=READ, summary="Report runs, newest first")
    async def runs(
        self,
        ctx: RequestContext,
        report: Annotated[str | None, Parameter(max_length=120)] = None,
        mine: bool = False,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> ReportRunPage:
        try:
            return await service.list_runs(ctx, report=report, limit=limit, cursor=cursor, mine=mine)
        except BadCursorError:
            raise problem(400, "The cursor is not valid; start again without it") from None

    @get("/runs/{run_id:uuid}", guards=READ, summary="A report run: status and progress")
    async def run(self, ctx: RequestContext, run_id: UUID) -> ReportRun:
        row = await service.read_run_row(ctx, run_id)
        if row is None:
            raise problem(404, NO_RUN)
        return service.to_run(row)

    @get("/runs/{run_id:uuid}/file", guards=READ, summary="Download a built report")
    async def file(self, ctx: RequestContext, request: Request[Any, Any, Any], run_id: UUID) -> Stream:
        """The file with its content type; 409 while not built, 410 once expired (files are purged)."""
        row = await service.read_run_row(ctx, run_id)
        if row is None:
            raise problem(404, NO_RUN)
        if not _may_use(ctx, all_reports(_host(request)).get(row["report"])):
            raise PermissionDeniedException("This report needs a permission you do not hold")
        status = service.effective_status(row)
        if status == "expired":
            raise problem(410, "The report file has expired; run the report again", status_of_run="expired")
        if status != "done" or row["file_key"] is None:
            raise problem(409, f"The report is {status}, not built yet", status_of_run=status)
        storage = report_storage()
        if not await storage.exists(row["file_key"]):
            raise problem(410, "The report file is no longer available; run the report again")
        await service.audit_download(ctx, run_id, row["report"], row["format"])
        stamp = (row["finished_at"] or datetime.now(UTC)).strftime("%Y%m%d-%H%M")
        filename = f"{row['report'].replace('.', '-')}-{stamp}.{row['format']}"
        return Stream(
            _chunks(storage.read(row["file_key"])),
            media_type=row["content_type"].split(";")[0],  # litestar adds "; charset=utf-8" to text types
            headers={**download_headers(filename), "Content-Length": str(row["file_size"])},
        )


async def _recipients(ctx: RequestContext, spec: ReportSpec, email_to: list[UUID] | str | None) -> list[UUID]:
    """The users to e-mail the built file to; 400 naming ``email_to[i]`` for one who cannot receive it."""
    if email_to is None:
        return []
    if email_to == "me":
        if ctx.principal.kind != "user":
            raise problem(
                400, 'email_to "me" needs a user\'s login', errors=[{"key": "email_to", "message": "not a user"}]
            )
        email_to = [ctx.principal.actor_id]
    assert isinstance(email_to, list)
    problems = await recipient_problems(ctx.tx, spec, email_to)
    if problems:
        raise problem(400, "Some recipients cannot receive this report", errors=problems)
    return list(dict.fromkeys(email_to))


async def _chunks(source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    async for chunk in source:
        yield chunk
