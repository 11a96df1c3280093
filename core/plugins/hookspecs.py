"""The hooks a carecoord plugin may implement.

Two kinds:

* **Registration hooks** are called once per process at start-up, synchronously, on every loaded
  plugin. They return records describing what the plugin contributes.
* **Event hooks** are called while core changes a tenant's data, inside that request's
  transaction, and only on plugins the tenant has enabled. They receive a
  :class:`~core.plugins.context.PluginContext` as ``ctx`` and may be ``async`` (the host awaits
  them). Each runs in a savepoint: if it raises, its own writes are undone, the failure is logged
  and counted for the tenant's admins, and core's operation goes on.

Implement a hook by decorating a module-level function with ``@hookimpl`` and naming it exactly
like the spec; parameters may be a subset of the spec's (pluggy passes only those you name).
A misspelled hook name stops the plugin from loading, with a message naming the hook.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

import pluggy

if TYPE_CHECKING:
    from datetime import datetime

    from core.care.timeline.schemas import TimelineItem
    from core.metrics.spec import MetricSpec
    from core.notifications.inbound_schemas import InboundMessage
    from core.patients.schemas import Consent, Patient
    from core.payers.adapter import PayerAdapterSpec
    from core.payers.summaries import AuthorizationSummary, CoverageSummary
    from core.plugins.context import PluginContext
    from core.plugins.records import (
        ChannelSpec,
        ModuleSpec,
        PeriodicJob,
        PermissionSpec,
        PortalPage,
        ReportSpec,
    )

PROJECT = "carecoord"
HOOK_API_VERSION = 1
"""Bumped when a hook changes incompatibly; a plugin declaring a newer version is not loaded."""

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

# ---------------------------------------------------------------------------------------------------
# Registration hooks: called once at start-up
# ---------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def register_module() -> ModuleSpec:
    """Describe the module this plugin provides. Required: a plugin without it is not loaded.

    :return: the module's name (also its URL prefix), title, description, per-tenant settings
        schema and the plans allowed to enable it.

    Since hook API 1.
    """
    raise NotImplementedError


@hookspec
def register_routes() -> Sequence[Any]:
    """Route handlers or controllers, mounted under ``/api/v1/{module}``.

    The host puts them behind authentication and a module check: for a tenant that has not
    enabled the module they answer 404, as if they did not exist. Handlers reach the tenant's data
    through a ``plugin: PluginContext`` parameter.

    :return: litestar route handlers, controllers or routers.

    Since hook API 1.
    """
    raise NotImplementedError


@hookspec
def register_public_routes() -> Sequence[Any]:
    """Route handlers served WITHOUT authentication, at the path they declare (from the root).

    For pages reached by a capability in the URL (a survey link) or signed webhooks. Each handler
    must set ``opt={"public": True}``; the host refuses others. There is no tenant from a token:
    the handler resolves the tenant from the capability itself (a narrow SECURITY DEFINER lookup of
    a hashed token) and must answer 404 for an organization that has not enabled the module.
    A handler that takes submissions should also set ``"throttled": True`` in ``opt`` to share the
    log-in rate limit per client address.

    :return: litestar route handlers.

    Since hook API 1.
    """
    raise NotImplementedError


@hookspec
def register_piccolo_apps() -> Sequence[str]:
    """Dotted paths of piccolo app modules (each with ``APP_CONFIG``) holding the plugin's tables and
    migrations. ``carecoord migrate`` runs them after core's; every table with a ``tenant_id`` must
    get row-level security in its migration (``core.plugins.sdk.tenant_table_security``).

    Since hook API 1.
    """
    raise NotImplementedError


@hookspec
def register_actors() -> Sequence[Any]:
    """Dramatiq actors the workers must know. Actors take ids, never objects, and every message they
    receive carries the tenant it belongs to.

    Since hook API 1.
    """
    raise NotImplementedError


@hookspec
def register_permissions() -> Sequence[PermissionSpec]:
    """Permissions the plugin's routes check, and the roles that hold them by default.

    Since hook API 1.
    """
    raise NotImplementedError


@hookspec
def register_notification_channels() -> Sequence[ChannelSpec]:
    """Notification channels (e.g. a messenger) the workers may deliver through.

    Since hook API 1.
    """
    raise NotImplementedError


@hookspec
def register_payer_adapters() -> Sequence[PayerAdapterSpec]:
    """Payer adapters (``core.payers.adapter.PayerAdapterSpec``): eligibility and prior authorization
    with one kind of payer or clearinghouse. The insurance module lets admins pick one per payer.

    Since hook API 1.
    """
    raise NotImplementedError


@hookspec
def register_metrics() -> Sequence[MetricSpec]:
    """Metrics computed per tenant for dashboards and reports.

    Since hook API 1.
    """
    raise NotImplementedError


@hookspec
def register_portal_pages() -> Sequence[PortalPage]:
    """Pages (and their menu entries) the web portal shows to tenants that enabled the module.

    Since hook API 1.
    """
    raise NotImplementedError


@hookspec
def register_periodic_jobs() -> Sequence[PeriodicJob]:
    """Jobs the scheduler runs on a cron expression for each tenant that enabled the module.

    Since hook API 1.
    """
    raise NotImplementedError


@hookspec
def register_reports() -> Sequence[ReportSpec]:
    """Reports tenants that enabled the module can run (``/api/v1/reports``), built by the workers
    into CSV, XLSX or PDF. Each is listed as ``{module}.{name}``; its ``query`` runs in the tenant's
    transaction and returns a :class:`~core.reports.data.ReportData`.

    Since hook API 1.
    """
    raise NotImplementedError


@hookspec
def register_cli_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add sub-commands to ``carecoord``: call ``subparsers.add_parser(...)`` and set ``func``.

    :param subparsers: the top-level sub-command registry of the ``carecoord`` parser.

    Since hook API 1.
    """


# ---------------------------------------------------------------------------------------------------
# Module lifecycle: called only on the plugin concerned
# ---------------------------------------------------------------------------------------------------


@hookspec
def module_enabled(ctx: PluginContext) -> Awaitable[None] | None:
    """A tenant admin enabled this plugin's module (also when re-enabling: data kept while
    disabled is still there).

    :param ctx: the tenant's context, with the settings just saved.

    Since hook API 1.
    """


@hookspec
def module_disabled(ctx: PluginContext) -> Awaitable[None] | None:
    """A tenant admin disabled this plugin's module. Keep the tenant's data: it comes back on
    re-enabling.

    Since hook API 1.
    """


@hookspec
def seed_demo_data(ctx: PluginContext) -> Awaitable[None] | None:
    """Add sample records to the demo tenant (``carecoord demo``, run by ``make dev``).

    A module implementing this hook is enabled (default settings) for the demo tenant when that
    tenant is created, then called once in the seeding transaction. Never called for real tenants.

    Since hook API 1.
    """


# ---------------------------------------------------------------------------------------------------
# Domain events from core: called on every plugin the tenant enabled
# ---------------------------------------------------------------------------------------------------


@hookspec
def patient_created(ctx: PluginContext, patient: Patient) -> Awaitable[None] | None:
    """A patient was registered.

    :param ctx: the tenant context of the request that created it.
    :param patient: the patient as the API returns it.

    Since hook API 1.
    """


@hookspec
def patient_updated(ctx: PluginContext, patient: Patient, changed: Sequence[str]) -> Awaitable[None] | None:
    """Fields of a patient changed.

    :param patient: the patient after the change.
    :param changed: names of the fields the request set.

    Since hook API 1.
    """


@hookspec
def patient_deleted(ctx: PluginContext, patient_id: UUID) -> Awaitable[None] | None:
    """A patient was (soft-)deleted; the id no longer resolves through the API.

    Since hook API 1.
    """


@hookspec
def consent_changed(ctx: PluginContext, patient_id: UUID, consent: Consent) -> Awaitable[None] | None:
    """A consent was granted or revoked. Check ``consent.status`` and ``consent.active``.

    Since hook API 1.
    """


@hookspec
def appointment_booked(ctx: PluginContext, appointment: Any) -> Awaitable[None] | None:
    """An appointment reached status ``booked``.

    :param appointment: the appointment as the API returns it.

    Since hook API 1 (fired once core's appointments exist).
    """


@hookspec
def appointment_cancelled(ctx: PluginContext, appointment: Any) -> Awaitable[None] | None:
    """An appointment was cancelled.

    Since hook API 1 (fired once core's appointments exist).
    """


@hookspec
def appointment_status_changed(ctx: PluginContext, appointment: Any, previous_status: str) -> Awaitable[None] | None:
    """An appointment moved from ``previous_status`` to ``appointment.status`` (any transition,
    including booked and cancelled, which also fire their own hooks).

    Since hook API 1 (fired once core's appointments exist).
    """


@hookspec
def appointment_rescheduled(
    ctx: PluginContext, appointment: Any, previous_start: datetime, previous_end: datetime
) -> Awaitable[None] | None:
    """An appointment moved in time (``PATCH``/reschedule): ``appointment`` holds the new times.

    Fired in the transaction of the change, so reminders can re-plan and insurance re-check.

    Since hook API 1.
    """


# ---------------------------------------------------------------------------------------------------
# Questions core asks: called on every plugin the tenant enabled; each answer is collected
# ---------------------------------------------------------------------------------------------------


@hookspec
def timeline_items(
    ctx: PluginContext, patient_id: UUID, since: datetime, until: datetime
) -> Awaitable[Sequence[TimelineItem]] | Sequence[TimelineItem]:
    """Items the plugin adds to a patient's timeline (``GET /api/v1/patients/{id}/timeline``).

    :param ctx: the tenant context of the request reading the timeline.
    :param patient_id: the patient whose timeline is being built.
    :param since: inclusive lower bound (aware datetime); items outside ``[since, until)`` are dropped.
    :param until: exclusive upper bound.
    :return: :class:`~core.care.timeline.schemas.TimelineItem` records; the host sets ``module``.

    Since hook API 1.
    """
    raise NotImplementedError


@hookspec
def referral_status_changed(ctx: PluginContext, referral: Any, previous_status: str | None) -> Awaitable[None] | None:
    """A referral moved from ``previous_status`` (None: just created) to ``referral.status``.

    Fired by the referrals module (``plugins/referrals``) in the transaction of the change, so
    other modules (reminders, metrics, insurance) can react without importing it.
    :param referral: the referral as ``GET /api/v1/referrals/{id}`` returns it.

    Since hook API 1 (fired once the referrals module is enabled).
    """


@hookspec
def notification_status_changed(
    ctx: PluginContext, notification_id: UUID, status: str, requested_by_module: str | None
) -> Awaitable[None] | None:
    """The notifications worker settled a notification: ``sent``/``delivered``, ``failed``, ``skipped``...

    Fired in the worker's transaction (``failed`` in the one that records the failure), so the
    module that requested the message (``requested_by_module``; None for core and the API) can
    follow it, e.g. the referrals module marks a specialist packet as sent or failed.

    Since hook API 1.
    """


@hookspec
def message_received(ctx: PluginContext, message: InboundMessage) -> Awaitable[None] | None:
    """Someone sent the organization a message: an SMS to its number or an e-mail to its inbound address.

    Fired once per provider message (a provider's retry fires nothing), in the transaction that
    stores it, for every module the tenant enabled. ``message`` (``core.notifications.inbound_schemas.
    InboundMessage``) carries the text, the matched ``patient_id``/``contact_id`` (None: unknown
    sender; see ``match``) and ``in_reply_to_notification_id``. Core does not interpret the text: a
    module decides what it means, e.g. calls ``core.plugins.sdk.opt_out`` on "STOP".

    Since hook API 1.
    """


@hookspec
def coverage_summary(ctx: PluginContext, patient_id: UUID) -> Awaitable[CoverageSummary | None] | None:
    """The patient's primary coverage and its last eligibility answer, or None (query hook).

    Answered by the insurance module; the referrals packet prints it. Call it through
    ``ctx.collect("coverage_summary", patient_id=...)``: a module that does not know returns None.

    Since hook API 1.
    """
    raise NotImplementedError


@hookspec
def authorization_status(
    ctx: PluginContext, subject_type: str, subject_ids: Sequence[UUID]
) -> Awaitable[Mapping[UUID, AuthorizationSummary]] | None:
    """The latest prior authorization of each referral or appointment in ``subject_ids`` (query hook).

    :param subject_type: ``referral`` or ``appointment``.
    :returns: subject id -> summary, for the subjects that have an authorization at all.

    Since hook API 1.
    """
    raise NotImplementedError


QUERY_HOOKS = frozenset({"timeline_items", "coverage_summary", "authorization_status"})
EVENT_HOOKS = frozenset(
    {
        "patient_created",
        "patient_updated",
        "patient_deleted",
        "consent_changed",
        "appointment_booked",
        "appointment_cancelled",
        "appointment_status_changed",
        "appointment_rescheduled",
        "referral_status_changed",
        "notification_status_changed",
        "message_received",
    }
)
LIFECYCLE_HOOKS = frozenset({"module_enabled", "module_disabled", "seed_demo_data"})
