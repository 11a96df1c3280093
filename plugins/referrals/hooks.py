"""The referrals module's hooks: the entry point ``carecoord.plugins: referrals``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from core.care.timeline.schemas import TimelineItem
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
from plugins.referrals.metrics import METRICS
from plugins.referrals.packet_sending import SEND_PACKET, follow_notification
from plugins.referrals.portal import PORTAL_PAGES
from plugins.referrals.reports import REFERRAL_REPORTS
from plugins.referrals.routes import READ, ROUTES, WRITE
from plugins.referrals.settings import ReferralSettings
from plugins.referrals.timeline import referral_timeline
from plugins.referrals.watch import CHECK_SLA

HOOK_API_VERSION = 1


@hookimpl
def register_module() -> ModuleSpec:
    return ModuleSpec(
        name="referrals",
        title="Referrals",
        description="Referral lifecycle to specialists, SLA clocks in business hours, loop closure",
        settings=ReferralSettings,
    )


@hookimpl
def register_routes() -> Sequence[Any]:
    return ROUTES


@hookimpl
def register_piccolo_apps() -> Sequence[str]:
    return ["plugins.referrals.piccolo_app"]


@hookimpl
def register_reports() -> Sequence[ReportSpec]:
    return REFERRAL_REPORTS


@hookimpl
def register_permissions() -> Sequence[PermissionSpec]:
    care = frozenset({"owner", "admin", "coordinator"})
    return [
        PermissionSpec(READ, "Read referrals", roles=care | {"clinician", "viewer"}, api_key_scope=True),
        PermissionSpec(WRITE, "Create and move referrals", roles=care | {"clinician"}, api_key_scope=True),
    ]


@hookimpl
def register_actors() -> Sequence[ActorSpec]:
    return [CHECK_SLA, SEND_PACKET]


@hookimpl
def register_periodic_jobs() -> Sequence[PeriodicJob]:
    return [PeriodicJob("check_sla", "*/5 * * * *", "referrals.check_sla")]


@hookimpl
def register_metrics() -> Sequence[MetricSpec]:
    return METRICS


@hookimpl
async def timeline_items(
    ctx: PluginContext, patient_id: UUID, since: datetime, until: datetime
) -> Sequence[TimelineItem]:
    """Each referral move on the patient's timeline; closing adds the consult report (loop closure)."""
    return await referral_timeline(ctx, patient_id, since, until)


@hookimpl
async def notification_status_changed(
    ctx: PluginContext, notification_id: UUID, status: str, requested_by_module: str | None
) -> None:
    """A packet e-mail went out (or failed): follow it on the referral."""
    await follow_notification(ctx, notification_id, status, requested_by_module)


@hookimpl
def seed_demo_data(ctx: PluginContext) -> None:
    """Nothing to add: implementing the hook turns the module on for the demo tenant."""


@hookimpl
def register_portal_pages() -> Sequence[PortalPage]:
    """The referral board (and each referral's page) and "Send a referral" on the patient's chart."""
    return PORTAL_PAGES
