"""``reports.build``: build one report run into a stored file.

Steps, and where each is written:

1. read the run in the job's transaction; a run already ``done``/``expired``/``failed`` is left
   alone (a redelivered message does nothing, besides ``job_effects`` refusing a duplicate);
2. mark it ``running`` in its own committed transaction (``core.reports.progress``) so readers see it;
3. run the report's query in the job's transaction (one consistent snapshot, row-level security),
   writing progress after each chunk of rows, again in short transactions of their own;
4. render in a thread, store the file (rewritten under the same key if a retry gets here again);
5. mark it ``done`` with size, key and expiry, and audit, in the job's transaction, which commits
   together with the effect key;
6. if the run names recipients (``email_to``), queue one e-mail per recipient with the file attached
   (``core.reports.mailing``), in that same transaction: ``done`` and the e-mails commit together.

Failures: unknown report, disabled module, invalid parameters or a malformed answer can never
succeed: the run is marked ``failed`` and ``PermanentError`` dead-letters the message. Anything
else is retried (``MAX_RETRIES``) with the error shown on the run; the last attempt marks it failed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from uuid import UUID

import msgspec

from core.jobs.context import JobContext
from core.jobs.errors import PermanentError, payload_uuid
from core.plugins.context import PluginContext
from core.plugins.manager import get_host
from core.plugins.records import ReportSpec
from core.plugins.sdk import actor
from core.plugins.tenant_modules import tenant_modules
from core.reports import progress
from core.reports.build import EXTENSIONS, BadReportError, TooManyRowsError, check_chart, gather_rows, render
from core.reports.data import ReportData
from core.reports.mailing import email_run
from core.reports.params import ParamsError, parse_params
from core.reports.registry import all_reports
from core.reports.render import CONTENT_TYPES, Format, Table
from core.reports.storage import file_key, report_storage
from core.settings import get_settings

log = logging.getLogger("carecoord.reports")

MAX_RETRIES = 3
ACTOR_NAME = "reports.build"
QUEUE = "reports"


async def _report_for(ctx: JobContext, name: str) -> tuple[ReportSpec, Any]:
    """The report and the module settings its query sees; PermanentError when it cannot run here."""
    host = ctx.plugins or get_host()
    spec = all_reports(host).get(name)
    if spec is None:
        raise PermanentError(f"no report named {name!r} is installed")
    settings = None
    if spec.module not in ("", "core"):
        modules = await tenant_modules(host, ctx.tx, ctx.tenant_id)
        if spec.module not in modules.enabled:
            raise PermanentError(f"the module {spec.module!r} of report {name!r} is not enabled")
        settings = modules.settings.get(spec.module)
    return spec, settings


async def build_report(ctx: JobContext, run_id: str) -> None:
    run = payload_uuid(run_id, actor="reports.build", field="run_id")
    row = await ctx.tx.fetchrow("select report, format, params, status, email_to from report_runs where id = $1", run)
    if row is None:
        raise PermanentError(f"report run {run} does not exist in this tenant")
    if row["status"] not in ("queued", "running"):
        log.info("report run %s is already %s; nothing to do", run, row["status"])
        return
    try:
        await _build(ctx, run, row)
    except PermanentError as exc:
        await progress.mark_failed(ctx.tenant_id, run, str(exc))
        raise
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        if ctx.attempt >= MAX_RETRIES:
            await progress.mark_failed(ctx.tenant_id, run, message)
        else:
            await progress.note_retry(ctx.tenant_id, run, message)
        raise


async def _build(ctx: JobContext, run: UUID, row: Any) -> None:
    spec, module_settings = await _report_for(ctx, row["report"])
    try:
        raw = row["params"]
        params = parse_params(spec, msgspec.json.decode(raw) if isinstance(raw, str) else raw)
    except ParamsError as exc:
        raise PermanentError(f"invalid parameters ({exc.key}): {exc}") from None
    file_format = cast(Format, row["format"])
    settings = get_settings()
    await progress.mark_running(ctx.tenant_id, run)

    query_ctx = PluginContext(
        module=spec.module or "core",
        tx=ctx.tx,
        principal=ctx.principal,
        settings=module_settings,
        request_id=ctx.request_id,
        plugins=ctx.plugins,
    )
    try:
        data = await spec.query(query_ctx, params)
    except ValueError as exc:  # the query refused its parameters (e.g. a period too long)
        raise PermanentError(f"the report refused its parameters: {exc}") from None
    if not isinstance(data, ReportData):
        raise PermanentError(f"report {spec.full_name!r} returned {type(data).__name__}, not ReportData")
    meter = progress.ProgressMeter(ctx.tenant_id, run, data.total_rows)
    try:
        rows = await gather_rows(data, meter, settings.report_max_rows)
        table = Table(
            title=spec.title,
            columns=data.columns,
            rows=rows,
            generated_at=datetime.now(UTC),
            chart=spec.chart,
            params=msgspec.to_builtins(params) if params is not None else {},
        )
        check_chart(table)
    except (TooManyRowsError, BadReportError) as exc:
        raise PermanentError(str(exc)) from None
    await meter.at(85)
    content = await render(table, file_format)
    await meter.at(95)
    key = file_key(ctx.tenant_id, run, EXTENSIONS[file_format])
    await report_storage(settings).put(key, content, CONTENT_TYPES[file_format])

    finished = datetime.now(UTC)
    expires_at = finished + timedelta(hours=settings.report_ttl_hours)
    await ctx.tx.execute(
        """update report_runs set status = 'done', progress = 100, rows = $2, file_size = $3, file_key = $4,
               content_type = $5, finished_at = $6, expires_at = $7, error = null,
               started_at = coalesce(started_at, $6)
           where id = $1 and status in ('queued', 'running')""",
        run,
        len(rows),
        len(content),
        key,
        CONTENT_TYPES[file_format],
        finished,
        expires_at,
    )
    await ctx.audit(
        "report.built",
        "report_run",
        run,
        {"report": spec.full_name, "format": file_format, "rows": len(rows), "bytes": len(content)},
    )
    await email_run(
        ctx,
        spec,
        run,
        list(row["email_to"] or []),
        params=table.params,
        file_format=file_format,
        content_type=CONTENT_TYPES[file_format],
        extension=EXTENSIONS[file_format],
        content=content,
        rows=len(rows),
        finished=finished,
        expires_at=expires_at,
    )


BUILD_REPORT = actor(
    name="build",
    queue=QUEUE,
    max_retries=MAX_RETRIES,
    min_backoff=2_000,
    max_backoff=60_000,
    time_limit=30 * 60_000,
    throws=(PermanentError,),
)(build_report)
"""Dramatiq name ``reports.build`` on queue ``reports``: 3 retries with backoff from 2 s to 60 s, 30-minute limit."""
