"""The metrics module's hooks: the entry point ``carecoord.plugins: metrics``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from core.plugins.sdk import (
    ActorSpec,
    MetricSpec,
    ModuleSpec,
    PeriodicJob,
    PermissionSpec,
    PluginContext,
    PortalPage,
    ReportSpec,
    hookimpl,
)
from plugins.metrics.core_metrics import CORE_METRICS
from plugins.metrics.dashboard import DASHBOARD_ACTORS, DASHBOARD_JOBS
from plugins.metrics.portal import PORTAL_PAGES
from plugins.metrics.reports import METRICS_REPORTS, REPORT_ACTORS, REPORT_PERIODIC_JOBS, REPORT_ROUTES
from plugins.metrics.routes import READ, ROUTES
from plugins.metrics.settings import MetricsSettings
from plugins.metrics.surveys import (
    PUBLIC_SURVEY_ROUTES,
    SURVEY_METRICS,
    SURVEY_ROUTES,
    on_appointment_status_changed,
    on_notification_status_changed,
    on_referral_status_changed,
)

HOOK_API_VERSION = 1


@hookimpl
def register_module() -> ModuleSpec:
    return ModuleSpec(
        name="metrics",
        title="Metrics",
        description="KPIs per coordinator, team and provider, the dashboard, patient surveys, scheduled KPI reports",
        settings=MetricsSettings,
    )


@hookimpl
def register_routes() -> Sequence[Any]:
    return [*SURVEY_ROUTES, *REPORT_ROUTES, *ROUTES]


@hookimpl
def register_public_routes() -> Sequence[Any]:
    return PUBLIC_SURVEY_ROUTES


@hookimpl
def register_piccolo_apps() -> Sequence[str]:
    return ["plugins.metrics.piccolo_app"]


@hookimpl
def register_permissions() -> Sequence[PermissionSpec]:
    return [
        PermissionSpec(
            READ,
            "Read KPIs, the dashboard and survey results",
            roles=frozenset({"owner", "admin", "coordinator", "viewer"}),
            api_key_scope=True,
        )
    ]


@hookimpl
def register_reports() -> Sequence[ReportSpec]:
    return METRICS_REPORTS


@hookimpl
def register_actors() -> Sequence[ActorSpec]:
    return [*REPORT_ACTORS, *DASHBOARD_ACTORS]


@hookimpl
def register_periodic_jobs() -> Sequence[PeriodicJob]:
    return [*REPORT_PERIODIC_JOBS, *DASHBOARD_JOBS]


@hookimpl
def register_metrics() -> Sequence[MetricSpec]:
    return [*CORE_METRICS, *SURVEY_METRICS]


@hookimpl
async def appointment_status_changed(ctx: PluginContext, appointment: Any, previous_status: str) -> None:
    """A fulfilled appointment asks the patient how it went (after the configured delay)."""
    await on_appointment_status_changed(ctx, appointment, previous_status)


@hookimpl
async def referral_status_changed(ctx: PluginContext, referral: Any, previous_status: str | None) -> None:
    """A closed referral asks the patient how the referral went."""
    await on_referral_status_changed(ctx, referral, previous_status)


@hookimpl
async def notification_status_changed(
    ctx: PluginContext, notification_id: UUID, status: str, requested_by_module: str | None
) -> None:
    """Marks a survey sent, or moves it to the next channel with a new link when a channel failed."""
    await on_notification_status_changed(ctx, notification_id, status, requested_by_module)


@hookimpl
def seed_demo_data(ctx: PluginContext) -> None:
    """Nothing to add: implementing the hook turns the module on for the demo tenant."""


@hookimpl
def register_portal_pages() -> Sequence[PortalPage]:
    """The KPI dashboard and the reports page (start a run, follow it, download the file)."""
    return PORTAL_PAGES
