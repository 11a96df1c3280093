"""``/api/v1/metrics/report-subscriptions``: who gets the scheduled reports e-mailed, in which format.

Permission ``reports:run``. A user subscribes themselves; owners and admins may subscribe (and see,
and remove) anyone of the organization. The subscriber must be allowed to read the report (its file
holds the organization's figures): an active user whose role holds ``reports:read`` and ``metrics:read``.
Another organization's subscription, or someone else's for a non-admin, answers 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec
from litestar import delete, get, post
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from core.plugins.manager import get_host
from core.plugins.records import ReportSpec
from core.plugins.sdk import PluginContext, problem, requires_permission
from core.reports.recipients import recipient_problems
from core.reports.registry import all_reports
from plugins.metrics.reports.queries import MONTHLY, WEEKLY

RUN = "reports:run"
MODULE = "metrics"
SUBSCRIBABLE = (f"{MODULE}.{WEEKLY}", f"{MODULE}.{MONTHLY}")
ReportName = Literal["metrics.weekly_referral_report", "metrics.monthly_kpi_pack"]
FileFormat = Literal["pdf", "xlsx", "csv"]
MANAGERS = frozenset({"owner", "admin"})
COLUMNS = "id, user_id, report, format, created_by, created_at"


class SubscriptionIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    report: ReportName
    """``metrics.weekly_referral_report`` (Mondays 07:00) or ``metrics.monthly_kpi_pack`` (the 1st, 07:00)."""
    format: FileFormat = "pdf"
    user_id: UUID | None = None
    """Who receives it; default the caller. Only owners and admins may name someone else."""


class Subscription(msgspec.Struct, kw_only=True):
    id: UUID
    user_id: UUID
    report: str
    format: str
    created_by: UUID | None
    created_at: datetime


class SubscriptionList(msgspec.Struct, kw_only=True):
    items: list[Subscription]


def _manager(plugin: PluginContext) -> bool:
    return plugin.principal.role in MANAGERS


def _self(plugin: PluginContext) -> UUID | None:
    return plugin.principal.actor_id if plugin.principal.kind == "user" else None


def report_spec(plugin: PluginContext, name: str) -> ReportSpec:
    spec = all_reports(plugin.plugins or get_host()).get(name)
    if spec is None:  # the module's reports are not registered in this process: a deployment error
        raise problem(404, f"No report named {name!r} is available to this organization")
    return spec


def _subscription(row: Any) -> Subscription:
    return Subscription(**{name: row[name] for name in Subscription.__struct_fields__})


@get("/report-subscriptions", guards=[requires_permission(RUN)], summary="Subscriptions to scheduled reports")
async def list_subscriptions(plugin: PluginContext) -> SubscriptionList:
    """The caller's own subscriptions; an owner's or admin's answer lists everyone's."""
    rows = await plugin.tx.fetch(
        f"select {COLUMNS} from metric_report_subscriptions where ($1::uuid is null or user_id = $1) "
        "order by created_at, id",
        None if _manager(plugin) else _self(plugin) or UUID(int=0),
    )
    return SubscriptionList(items=[_subscription(row) for row in rows])


@post(
    "/report-subscriptions",
    guards=[requires_permission(RUN)],
    status_code=HTTP_201_CREATED,
    summary="Subscribe a user to a scheduled report",
)
async def subscribe(plugin: PluginContext, data: SubscriptionIn) -> Subscription:
    """201 with the subscription; 409 if that user already subscribes to that report (delete it first)."""
    me = _self(plugin)
    user_id = data.user_id or me
    if user_id is None:
        raise problem(400, "An API key must name the user_id to subscribe", errors=[{"key": "user_id"}])
    if user_id != me and not _manager(plugin):
        raise problem(403, "Only owners and admins may subscribe someone else", errors=[{"key": "user_id"}])
    spec = report_spec(plugin, data.report)
    problems = await recipient_problems(plugin.tx, spec, [user_id])
    if problems:
        reason = problems[0]["message"]
        raise problem(
            400, f"This user cannot receive the report: {reason}", errors=[{"key": "user_id", "message": reason}]
        )
    row = await plugin.tx.fetchrow(
        f"insert into metric_report_subscriptions (tenant_id, user_id, report, format, created_by) "
        f"values ($1, $2, $3, $4, $5) on conflict (tenant_id, user_id, report) do nothing returning {COLUMNS}",
        plugin.tenant_id,
        user_id,
        data.report,
        data.format,
        me,
    )
    if row is None:
        existing = await plugin.tx.fetchval(
            "select id from metric_report_subscriptions where user_id = $1 and report = $2", user_id, data.report
        )
        raise problem(
            409,
            "This user already subscribes to this report; delete that subscription to change it",
            subscription_id=str(existing),
        )
    await plugin.audit(
        "metrics.report_subscription.create",
        "metric_report_subscription",
        row["id"],
        {"user_id": str(user_id), "report": data.report, "format": data.format},
    )
    return _subscription(row)


@delete(
    "/report-subscriptions/{subscription_id:uuid}",
    guards=[requires_permission(RUN)],
    status_code=HTTP_204_NO_CONTENT,
    summary="Unsubscribe",
)
async def unsubscribe(plugin: PluginContext, subscription_id: UUID) -> None:
    """The caller's own subscription (an owner or admin: anyone's); 404 for any other id."""
    row = await plugin.tx.fetchrow(
        "delete from metric_report_subscriptions where id = $1 and ($2::uuid is null or user_id = $2) "
        "returning user_id, report",
        subscription_id,
        None if _manager(plugin) else _self(plugin) or UUID(int=0),
    )
    if row is None:
        raise problem(404, "No such report subscription")
    await plugin.audit(
        "metrics.report_subscription.delete",
        "metric_report_subscription",
        subscription_id,
        {"user_id": str(row["user_id"]), "report": row["report"]},
    )


REPORT_ROUTES = [list_subscriptions, subscribe, unsubscribe]
