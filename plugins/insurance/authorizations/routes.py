"""``/api/v1/insurance/prior-authorizations``: requests, submission, decisions, history, raw exchanges, documents."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import get, patch, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK

from core.plugins.sdk import PluginContext, problem, requires_permission
from plugins.insurance.authorizations import service
from plugins.insurance.authorizations.schemas import (
    Authorization,
    AuthorizationCreate,
    AuthorizationUpdate,
    CancelIn,
    DecisionIn,
    Exchange,
    Transition,
)
from plugins.insurance.authorizations.states import Status
from plugins.insurance.document_routes import document_routes
from plugins.insurance.permissions import READ, WRITE

BASE = "/prior-authorizations"
ONE = BASE + "/{authorization_id:uuid}"
NOT_FOUND = "No such prior authorization"


def _illegal(exc: service.IllegalMoveError) -> Exception:
    return problem(
        409,
        f"The prior authorization is {exc.current} and cannot become {exc.requested}",
        current_status=exc.current,
        requested_status=exc.requested,
    )


def _invalid(exc: service.InvalidAuthorizationError) -> Exception:
    return problem(422, str(exc), errors=exc.errors)


def _missing(value: Authorization | None) -> Authorization:
    if value is None:
        raise problem(404, NOT_FOUND)
    return value


@post(BASE, guards=[requires_permission(WRITE)], summary="Request a prior authorization (as a draft)")
async def create_authorization(plugin: PluginContext, data: AuthorizationCreate) -> Authorization:
    """422 naming each field when a code, unit count or referenced record is not acceptable."""
    try:
        return await service.create_authorization(plugin, data)
    except service.InvalidAuthorizationError as exc:
        raise _invalid(exc) from None


@get(BASE, guards=[requires_permission(READ)], summary="Prior authorizations, newest first, with filters")
async def list_authorizations(
    plugin: PluginContext,
    status: list[Status] | None = None,
    patient_id: UUID | None = None,
    referral_id: UUID | None = None,
    appointment_id: UUID | None = None,
    coverage_id: UUID | None = None,
    overdue: bool = False,
    limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
) -> list[Authorization]:
    """``overdue=true`` keeps submitted or pended requests whose payer decision is past due."""
    return await service.list_authorizations(
        plugin,
        status=list(status) if status else None,
        patient_id=patient_id,
        referral_id=referral_id,
        appointment_id=appointment_id,
        coverage_id=coverage_id,
        overdue=overdue,
        limit=limit,
    )


@get(ONE, guards=[requires_permission(READ)], summary="A prior authorization with its service lines")
async def read_authorization(plugin: PluginContext, authorization_id: UUID) -> Authorization:
    return _missing(await service.get_authorization(plugin, authorization_id))


@patch(ONE, guards=[requires_permission(WRITE)], summary="Change a draft prior authorization")
async def update_authorization(
    plugin: PluginContext, authorization_id: UUID, data: AuthorizationUpdate
) -> Authorization:
    """Only drafts change (409 otherwise); ``lines`` replaces all the lines."""
    try:
        return _missing(await service.update_authorization(plugin, authorization_id, data))
    except service.NotEditableError as exc:
        raise problem(
            409, f"The prior authorization is {exc.status}; only a draft can be changed", current_status=exc.status
        ) from None
    except service.InvalidAuthorizationError as exc:
        raise _invalid(exc) from None


@post(ONE + "/submit", guards=[requires_permission(WRITE)], status_code=HTTP_200_OK, summary="Submit to the payer")
async def submit_authorization(plugin: PluginContext, authorization_id: UUID) -> Authorization:
    """Starts the payer's decision clock (72 h expedited, 7 calendar days standard) and queues the 278 request."""
    try:
        return _missing(await service.submit(plugin, authorization_id))
    except service.IllegalMoveError as exc:
        raise _illegal(exc) from None
    except service.InvalidAuthorizationError as exc:
        raise _invalid(exc) from None


@post(
    ONE + "/decision",
    guards=[requires_permission(WRITE)],
    status_code=HTTP_200_OK,
    summary="Record a decision received by phone, portal or fax",
)
async def record_decision(plugin: PluginContext, authorization_id: UUID, data: DecisionIn) -> Authorization:
    """Per-line decisions; the authorization becomes decided, stays pended, or is cancelled by the payer."""
    try:
        return _missing(await service.record_decision(plugin, authorization_id, data))
    except service.IllegalMoveError as exc:
        raise _illegal(exc) from None
    except service.InvalidAuthorizationError as exc:
        raise _invalid(exc) from None


@post(ONE + "/cancel", guards=[requires_permission(WRITE)], status_code=HTTP_200_OK, summary="Withdraw the request")
async def cancel_authorization(plugin: PluginContext, authorization_id: UUID, data: CancelIn) -> Authorization:
    try:
        return _missing(await service.cancel(plugin, authorization_id, data.reason))
    except service.IllegalMoveError as exc:
        raise _illegal(exc) from None


@get(ONE + "/transitions", guards=[requires_permission(READ)], summary="The prior authorization's status history")
async def authorization_history(plugin: PluginContext, authorization_id: UUID) -> list[Transition]:
    transitions = await service.list_transitions(plugin, authorization_id)
    if transitions is None:
        raise problem(404, NOT_FOUND)
    return transitions


@get(ONE + "/exchanges", guards=[requires_permission(READ)], summary="The raw 278 requests and answers")
async def authorization_exchanges(plugin: PluginContext, authorization_id: UUID) -> list[Exchange]:
    exchanges = await service.list_exchanges(plugin, authorization_id)
    if exchanges is None:
        raise problem(404, NOT_FOUND)
    return exchanges


ROUTES: list[Any] = [
    create_authorization,
    list_authorizations,
    read_authorization,
    update_authorization,
    submit_authorization,
    record_decision,
    cancel_authorization,
    authorization_history,
    authorization_exchanges,
    *document_routes("authorization", BASE, service.authorization_patient, "prior authorization"),
]
