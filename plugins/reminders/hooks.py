"""The reminders module's hooks: the entry point ``carecoord.plugins: reminders``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from core.plugins.sdk import (
    ActorSpec,
    InboundMessage,
    MetricSpec,
    ModuleSpec,
    PeriodicJob,
    PermissionSpec,
    PluginContext,
    PortalPage,
    hookimpl,
)
from plugins.reminders.applying import apply_message
from plugins.reminders.jobs import ACTORS, PERIODIC_JOBS
from plugins.reminders.kinds import referral_changed
from plugins.reminders.metrics import METRICS
from plugins.reminders.planning import cancel_unsent, plan_appointment
from plugins.reminders.portal import PORTAL_PAGES
from plugins.reminders.routes import READ, ROUTES, WRITE
from plugins.reminders.sending import follow_notification
from plugins.reminders.settings import ReminderSettings

HOOK_API_VERSION = 1
ENDED = frozenset({"cancelled", "noshow", "entered-in-error", "fulfilled"})


@hookimpl
def register_module() -> ModuleSpec:
    return ModuleSpec(
        name="reminders",
        title="Reminders",
        description="Appointment reminders: 72/24/2 h touches in the patient's time zone, channel fallback, escalation",
        settings=ReminderSettings,
    )


@hookimpl
def register_routes() -> Sequence[Any]:
    return ROUTES


@hookimpl
def register_piccolo_apps() -> Sequence[str]:
    return ["plugins.reminders.piccolo_app"]


@hookimpl
def register_permissions() -> Sequence[PermissionSpec]:
    care = frozenset({"owner", "admin", "coordinator"})
    return [
        PermissionSpec(
            READ,
            "Read reminder rules, touches and deliveries",
            roles=care | {"clinician", "viewer"},
            api_key_scope=True,
        ),
        PermissionSpec(WRITE, "Resend reminders, record screenings", roles=care, api_key_scope=True),
    ]


@hookimpl
def register_metrics() -> Sequence[MetricSpec]:
    """Reminder delivery and appointment confirmation rates (docs/reminders.md)."""
    return METRICS


@hookimpl
def register_actors() -> Sequence[ActorSpec]:
    return ACTORS


@hookimpl
def register_periodic_jobs() -> Sequence[PeriodicJob]:
    return PERIODIC_JOBS


@hookimpl
async def appointment_booked(ctx: PluginContext, appointment: Any) -> None:
    """Plan the touches (72 h, 24 h, 2 h by default) in the patient's zone and quiet hours."""
    await plan_appointment(ctx, appointment.id)


@hookimpl
async def appointment_rescheduled(
    ctx: PluginContext, appointment: Any, previous_start: datetime, previous_end: datetime
) -> None:
    """Cancel the unsent touches of the old time and plan the new one (marked rescheduled if the patient heard)."""
    await plan_appointment(ctx, appointment.id)


@hookimpl
async def appointment_cancelled(ctx: PluginContext, appointment: Any) -> None:
    await cancel_unsent(ctx, appointment.id, "the appointment is cancelled")


@hookimpl
async def appointment_status_changed(ctx: PluginContext, appointment: Any, previous_status: str) -> None:
    """No-show, entered in error (and cancelled, also told by its own hook): nothing more goes out."""
    if appointment.status in ENDED:
        await cancel_unsent(ctx, appointment.id, f"the appointment is {appointment.status}")


@hookimpl
async def notification_status_changed(
    ctx: PluginContext, notification_id: UUID, status: str, requested_by_module: str | None
) -> None:
    """A reminder went out (mark it), or a channel failed (the next channel, or a coordinator's task)."""
    await follow_notification(ctx, notification_id, status, requested_by_module)


@hookimpl
async def message_received(ctx: PluginContext, message: InboundMessage) -> None:
    """A patient's reply: confirm, cancel, reschedule (task), STOP (opt-out, acknowledged), START, HELP, else a task."""
    await apply_message(ctx, message)


@hookimpl
async def referral_status_changed(ctx: PluginContext, referral: Any, previous_status: str | None) -> None:
    """Sent or accepted: a follow-up touch N days later unless scheduled by then; other statuses cancel it."""
    await referral_changed(ctx, referral)


@hookimpl
def seed_demo_data(ctx: PluginContext) -> None:
    """Nothing to add: implementing the hook turns the module on for the demo tenant (the sweep plans its
    booked appointments of the next days)."""


@hookimpl
def register_portal_pages() -> Sequence[PortalPage]:
    """A day's appointments with the state of their reminders."""
    return PORTAL_PAGES
