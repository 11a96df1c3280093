"""``/api/v1/referrals``: create, list, read, move along the lifecycle, re-route, history."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK

from core.plugins.sdk import PluginContext, problem, requires_permission
from plugins.referrals import service
from plugins.referrals.attachment_routes import ATTACHMENT_ROUTES
from plugins.referrals.clock import with_sla, with_sla_many
from plugins.referrals.packet_routes import referral_packet
from plugins.referrals.schemas import (
    Priority,
    Referral,
    ReferralCreate,
    RerouteIn,
    RerouteOut,
    Transition,
    TransitionIn,
)
from plugins.referrals.states import Status

READ = "referrals:read"
WRITE = "referrals:write"
NOT_FOUND = "No such referral"


def _illegal(exc: service.IllegalTransitionError) -> Exception:
    return problem(
        409,
        f"The referral is {exc.current} and cannot become {exc.requested}",
        current_status=exc.current,
        requested_status=exc.requested,
    )


def _unknown(exc: service.UnknownReferenceError) -> Exception:
    return problem(
        422,
        f"{exc.field} is not a {exc.what} of this organization",
        errors=[{"key": exc.field, "message": f"unknown {exc.what}"}],
    )


def _missing(exc: service.MissingFieldError) -> Exception:
    return problem(422, exc.message, errors=[{"key": exc.field, "message": exc.message}])


@post("/", guards=[requires_permission(WRITE)], summary="Create a referral (as a draft)")
async def create_referral(plugin: PluginContext, data: ReferralCreate) -> Referral:
    try:
        referral = await service.create_referral(plugin, data)
    except service.UnknownReferenceError as exc:
        raise _unknown(exc) from None
    return await with_sla(plugin, referral)


@get("/", guards=[requires_permission(READ)], summary="Referrals, newest first, with filters")
async def list_referrals(
    plugin: PluginContext,
    status: list[Status] | None = None,
    priority: Priority | None = None,
    patient_id: UUID | None = None,
    practitioner_id: UUID | None = None,
    organization_id: UUID | None = None,
    coordinator_id: UUID | None = None,
    specialty: Annotated[str | None, Parameter(max_length=100)] = None,
    overdue: bool = False,
    limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
) -> list[Referral]:
    """``overdue=true`` keeps referrals whose SLA clock is breached."""
    referrals = await service.list_referrals(
        plugin,
        status=list(status) if status else None,
        priority=priority,
        patient_id=patient_id,
        practitioner_id=practitioner_id,
        organization_id=organization_id,
        coordinator_id=coordinator_id,
        specialty=specialty,
        limit=limit,
    )
    shown = await with_sla_many(plugin, referrals)
    if overdue:
        shown = [r for r in shown if r.sla is not None and r.sla.state in {"breached", "missed"}]
    return shown


@get("/{referral_id:uuid}", guards=[requires_permission(READ)], summary="A referral, with its SLA clock")
async def read_referral(plugin: PluginContext, referral_id: UUID) -> Referral:
    referral = await service.get_referral(plugin, referral_id)
    if referral is None:
        raise problem(404, NOT_FOUND)
    return await with_sla(plugin, referral)


@post(
    "/{referral_id:uuid}/transitions",
    guards=[requires_permission(WRITE)],
    status_code=HTTP_200_OK,
    summary="Move a referral to its next status",
)
async def move_referral(plugin: PluginContext, referral_id: UUID, data: TransitionIn) -> Referral:
    """409 (naming the current and requested status) for a move the lifecycle does not allow."""
    try:
        referral = await service.transition(plugin, referral_id, data)
    except service.IllegalTransitionError as exc:
        raise _illegal(exc) from None
    except service.MissingFieldError as exc:
        raise _missing(exc) from None
    except service.UnknownReferenceError as exc:
        raise _unknown(exc) from None
    if referral is None:
        raise problem(404, NOT_FOUND)
    return await with_sla(plugin, referral)


@post(
    "/{referral_id:uuid}/reroute",
    guards=[requires_permission(WRITE)],
    status_code=HTTP_200_OK,
    summary="Send the referral to another specialist instead",
)
async def reroute_referral(plugin: PluginContext, referral_id: UUID, data: RerouteIn) -> RerouteOut:
    """The referral becomes ``replaced`` (kept, with its history); a new draft goes to the new target."""
    try:
        result = await service.reroute(plugin, referral_id, data)
    except service.IllegalTransitionError as exc:
        raise _illegal(exc) from None
    except service.UnknownReferenceError as exc:
        raise _unknown(exc) from None
    if result is None:
        raise problem(404, NOT_FOUND)
    old, new = result
    return RerouteOut(replaced=await with_sla(plugin, old), referral=await with_sla(plugin, new))


@get("/{referral_id:uuid}/transitions", guards=[requires_permission(READ)], summary="The referral's status history")
async def referral_history(plugin: PluginContext, referral_id: UUID) -> list[Transition]:
    transitions = await service.list_transitions(plugin, referral_id)
    if transitions is None:
        raise problem(404, NOT_FOUND)
    return transitions


ROUTES = [
    *ATTACHMENT_ROUTES,
    create_referral,
    list_referrals,
    read_referral,
    move_referral,
    reroute_referral,
    referral_history,
    referral_packet,
]
