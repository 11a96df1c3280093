"""HTTP routes of insurance appeals (mounted below /api/v1/insurance): records, lifecycle, levels, history."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK

from core.plugins.sdk import PluginContext, problem, requires_permission
from plugins.insurance.appeals import service
from plugins.insurance.appeals.escalation import escalate
from plugins.insurance.appeals.schemas import Appeal, AppealCreate, AppealTransition, AppealTransitionIn, EscalateIn
from plugins.insurance.appeals.states import Status
from plugins.insurance.claims.errors import SERVICE_ERRORS, as_problem
from plugins.insurance.document_routes import document_routes
from plugins.insurance.permissions import READ, WRITE

NOT_FOUND = "No such appeal"


@post("/appeals", guards=[requires_permission(WRITE)], summary="Open an appeal of a claim or prior authorization")
async def create_appeal(plugin: PluginContext, data: AppealCreate) -> Appeal:
    """A draft, with its filing deadline; 409 when the record's decision cannot be appealed or an appeal is open."""
    try:
        return await service.create_appeal(plugin, data)
    except SERVICE_ERRORS as exc:
        raise as_problem(exc) from None


@get("/appeals", guards=[requires_permission(READ)], summary="Appeals, newest first, with filters")
async def list_appeals(
    plugin: PluginContext,
    status: list[Status] | None = None,
    patient_id: UUID | None = None,
    claim_id: UUID | None = None,
    authorization_id: UUID | None = None,
    overdue: bool = False,
    limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
) -> list[Appeal]:
    """``overdue=true``: drafts past their filing deadline and filed appeals past their decision due date."""
    return await service.list_appeals(
        plugin,
        status=list(status) if status else None,
        patient_id=patient_id,
        claim_id=claim_id,
        authorization_id=authorization_id,
        overdue=overdue,
        limit=limit,
    )


@get("/appeals/{appeal_id:uuid}", guards=[requires_permission(READ)], summary="One appeal")
async def read_appeal(plugin: PluginContext, appeal_id: UUID) -> Appeal:
    appeal = await service.get_appeal(plugin, appeal_id)
    if appeal is None:
        raise problem(404, NOT_FOUND)
    return appeal


@post(
    "/appeals/{appeal_id:uuid}/transitions",
    guards=[requires_permission(WRITE)],
    status_code=HTTP_200_OK,
    summary="Move an appeal: submit, in review, decided (with outcome), withdrawn",
)
async def move_appeal(plugin: PluginContext, appeal_id: UUID, data: AppealTransitionIn) -> Appeal:
    """409 naming both statuses for a move the lifecycle does not allow; 422 naming each field that breaks a rule."""
    try:
        appeal = await service.transition(plugin, appeal_id, data)
    except SERVICE_ERRORS as exc:
        raise as_problem(exc) from None
    if appeal is None:
        raise problem(404, NOT_FOUND)
    return appeal


@post(
    "/appeals/{appeal_id:uuid}/escalate",
    guards=[requires_permission(WRITE)],
    summary="Take an upheld appeal to the next level (a new draft appeal)",
)
async def escalate_appeal(plugin: PluginContext, appeal_id: UUID, data: EscalateIn | None = None) -> Appeal:
    """The new appeal is one level up (at most 4) and links back to this one; the body is optional."""
    try:
        appeal = await escalate(plugin, appeal_id, data or EscalateIn())
    except SERVICE_ERRORS as exc:
        raise as_problem(exc) from None
    if appeal is None:
        raise problem(404, NOT_FOUND)
    return appeal


@get("/appeals/{appeal_id:uuid}/transitions", guards=[requires_permission(READ)], summary="The appeal's history")
async def appeal_history(plugin: PluginContext, appeal_id: UUID) -> list[AppealTransition]:
    transitions = await service.list_transitions(plugin, appeal_id)
    if transitions is None:
        raise problem(404, NOT_FOUND)
    return transitions


ROUTES: list[Any] = [
    create_appeal,
    list_appeals,
    read_appeal,
    move_appeal,
    escalate_appeal,
    appeal_history,
    *document_routes("appeal", "/appeals", service.document_owner, "appeal"),
]
