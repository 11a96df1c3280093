"""The insurance module's hooks: the entry point ``carecoord.plugins: insurance``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from core.payers.adapter import PayerAdapterSpec
from core.payers.summaries import AuthorizationSummary, CoverageSummary
from core.plugins.sdk import (
    ActorSpec,
    MetricSpec,
    ModuleSpec,
    PeriodicJob,
    PermissionSpec,
    PluginContext,
    PortalPage,
    hookimpl,
)
from plugins.insurance.appeals import jobs as appeal_jobs
from plugins.insurance.authorizations import jobs as authorization_jobs
from plugins.insurance.authorizations.summaries import authorization_summaries
from plugins.insurance.claims import jobs as claim_jobs
from plugins.insurance.coverage.summary import coverage_summary_of
from plugins.insurance.demo_data import seed
from plugins.insurance.eligibility.checks import CHECK_ELIGIBILITY
from plugins.insurance.metrics import METRICS
from plugins.insurance.payers.demo import DEMO
from plugins.insurance.payers.x12_http import X12_HTTP
from plugins.insurance.permissions import ADMIN, READ, WRITE
from plugins.insurance.portal import PORTAL_PAGES
from plugins.insurance.readiness import REVERIFY_UPCOMING, check_appointment, flag_referral
from plugins.insurance.routes import ROUTES
from plugins.insurance.settings import InsuranceSettings

HOOK_API_VERSION = 1


@hookimpl
def register_module() -> ModuleSpec:
    return ModuleSpec(
        name="insurance",
        title="Insurance",
        description="Coverage, eligibility checks, prior authorizations with payer deadlines, claims and appeals",
        settings=InsuranceSettings,
    )


@hookimpl
def register_routes() -> Sequence[Any]:
    return ROUTES


@hookimpl
def register_piccolo_apps() -> Sequence[str]:
    return ["plugins.insurance.piccolo_app"]


@hookimpl
def register_permissions() -> Sequence[PermissionSpec]:
    care = frozenset({"owner", "admin", "coordinator"})
    return [
        PermissionSpec(
            READ,
            "Read coverage, authorizations, claims and appeals",
            roles=care | {"clinician", "viewer"},
            api_key_scope=True,
        ),
        PermissionSpec(
            WRITE,
            "Record coverage, check eligibility, request authorizations, track claims and appeals",
            roles=care,
            api_key_scope=True,
        ),
        PermissionSpec(ADMIN, "Keep the payer directory", roles=frozenset({"owner", "admin"}), api_key_scope=True),
    ]


@hookimpl
def register_actors() -> Sequence[ActorSpec]:
    return [CHECK_ELIGIBILITY, REVERIFY_UPCOMING, *authorization_jobs.ACTORS, *claim_jobs.ACTORS, *appeal_jobs.ACTORS]


@hookimpl
def register_periodic_jobs() -> Sequence[PeriodicJob]:
    return [
        PeriodicJob("reverify_upcoming", "0 6 * * *", "insurance.reverify_upcoming"),
        *authorization_jobs.PERIODIC_JOBS,
        *claim_jobs.PERIODIC_JOBS,
        *appeal_jobs.PERIODIC_JOBS,
    ]


@hookimpl
def register_metrics() -> Sequence[MetricSpec]:
    """Prior-authorization turnaround and deadlines, claim denials, appeal overturns (docs/insurance.md)."""
    return METRICS


@hookimpl
def register_portal_pages() -> Sequence[PortalPage]:
    """The prior-authorization queue (and each authorization's page)."""
    return PORTAL_PAGES


@hookimpl
def register_payer_adapters() -> Sequence[PayerAdapterSpec]:
    return [X12_HTTP, DEMO]


@hookimpl
async def appointment_booked(ctx: PluginContext, appointment: Any) -> None:
    """Coverage verified and authorization in hand? Otherwise a worklist task (and a fresh eligibility check)."""
    await check_appointment(ctx, appointment)


@hookimpl
async def appointment_rescheduled(ctx: PluginContext, appointment: Any, previous_start: Any, previous_end: Any) -> None:
    """A new day may need a new eligibility answer or another authorization."""
    await check_appointment(ctx, appointment)


@hookimpl
async def referral_status_changed(ctx: PluginContext, referral: Any, previous_status: str | None) -> None:
    await flag_referral(ctx, referral, previous_status)


@hookimpl
async def coverage_summary(ctx: PluginContext, patient_id: UUID) -> CoverageSummary | None:
    return await coverage_summary_of(ctx, patient_id)


@hookimpl
async def authorization_status(
    ctx: PluginContext, subject_type: str, subject_ids: Sequence[UUID]
) -> Mapping[UUID, AuthorizationSummary]:
    return await authorization_summaries(ctx, subject_type, subject_ids)


@hookimpl
async def seed_demo_data(ctx: PluginContext) -> None:
    """The demo tenant gets a demo payer and a coverage for each demo patient."""
    await seed(ctx)
