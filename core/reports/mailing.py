"""E-mailing a built report to the users named on its run (``report_runs.email_to``).

Called by ``reports.build`` in the job's transaction, right after the run is marked ``done``: the
notifications (one per recipient, through ``core.notifications``, the file attached) and ``done``
commit together or not at all. Each notification's idempotency key is ``report:{run}:{user}``, so a
redelivered build message (already ``done``: nothing to do) or a retry never sends a second e-mail.

Recipients are checked again now: a user disabled since the request, or whose role no longer may
read the report, is skipped (audited ``report.email_skipped``). A file larger than an attachment
may be (:data:`~core.notifications.attachments.MAX_ATTACHMENT_BYTES`) is not attached; the e-mail
says where to download it instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from core.jobs.context import JobContext
from core.notifications.attachments import MAX_ATTACHMENT_BYTES
from core.notifications.channels.base import Attachment
from core.notifications.service import NotificationRequestError, request_user_notification
from core.plugins.records import ReportSpec
from core.reports.recipients import may_read

log = logging.getLogger("carecoord.reports")

TEMPLATE = "report_ready"


def idempotency_key(run_id: UUID, user_id: UUID) -> str:
    return f"report:{run_id}:{user_id}"


def file_name(spec: ReportSpec, finished: datetime, extension: str) -> str:
    return f"{spec.full_name.replace('.', '-')}-{finished:%Y%m%d-%H%M}.{extension}"


def period_of(params: dict[str, Any]) -> str:
    """A short description of the period a run covers, from its ``start``/``end`` parameters (if any)."""
    start, end = params.get("start"), params.get("end")
    if start and end:
        return f"{start} to {end}"
    if start:
        return f"the period starting {start}"
    return ""


async def email_run(
    ctx: JobContext,
    spec: ReportSpec,
    run_id: UUID,
    recipients: Sequence[UUID],
    *,
    params: dict[str, Any],
    file_format: str,
    content_type: str,
    extension: str,
    content: bytes,
    rows: int,
    finished: datetime,
    expires_at: datetime,
) -> int:
    """Queue the e-mail of the built file to each recipient still allowed to read it; returns how many."""
    if not recipients:
        return 0
    users = {
        row["id"]: row
        for row in await ctx.tx.fetch("select id, role, status from users where id = any($1::uuid[])", list(recipients))
    }
    attached = len(content) <= MAX_ATTACHMENT_BYTES
    files = [Attachment(file_name(spec, finished, extension), content_type, content)] if attached else []
    variables = {
        "report": {
            "title": spec.title,
            "name": spec.full_name,
            "period": period_of(params),
            "rows": rows,
            "format": file_format,
            "run_id": str(run_id),
            "attached": attached,
            "expires_at": f"{expires_at:%Y-%m-%d %H:%M} UTC",
        }
    }
    request = ctx.request_context()
    queued = 0
    for user_id in recipients:
        user = users.get(user_id)
        if user is None or user["status"] != "active" or not may_read(user["role"], spec):
            reason = "no longer a user" if user is None else "disabled" if user["status"] != "active" else "role"
            await ctx.audit("report.email_skipped", "report_run", run_id, {"user_id": str(user_id), "reason": reason})
            continue
        try:
            await request_user_notification(
                request,
                user_id=user_id,
                template=TEMPLATE,
                context=variables,
                idempotency_key=idempotency_key(run_id, user_id),
                attachments=files,
            )
        except NotificationRequestError as exc:  # e.g. no e-mail channel installed: the run stays built
            log.warning("report run %s: cannot e-mail user %s: %s", run_id, user_id, exc)
            await ctx.audit(
                "report.email_skipped", "report_run", run_id, {"user_id": str(user_id), "reason": str(exc)[:300]}
            )
            continue
        queued += 1
    await ctx.audit("report.emailed", "report_run", run_id, {"report": spec.full_name, "recipients": queued})
    return queued
