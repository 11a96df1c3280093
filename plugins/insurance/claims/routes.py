"""HTTP routes of insurance claims (mounted below /api/v1/insurance): records, lifecycle, history, figures."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any
from uuid import UUID

from litestar import get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK

from core.plugins.sdk import PluginContext, problem, requires_permission
from plugins.insurance.claims import service
from plugins.insurance.claims.errors import SERVICE_ERRORS, as_problem
from plugins.insurance.claims.schemas import Claim, ClaimCreate, ClaimSummary, ClaimTransition, ClaimTransitionIn
from plugins.insurance.claims.states import Status
from plugins.insurance.claims.summary import claim_summary
from plugins.insurance.claims.tenant_time import tenant_today
from plugins.insurance.document_routes import document_routes
from plugins.insurance.permissions import READ, WRITE

NOT_FOUND = "No such claim"
MAX_PERIOD_DAYS = 366


@post("/claims", guards=[requires_permission(WRITE)], summary="Record a claim sent to the payer (as submitted)")
async def create_claim(plugin: PluginContext, data: ClaimCreate) -> Claim:
    try:
        return await service.create_claim(plugin, data)
    except SERVICE_ERRORS as exc:
        raise as_problem(exc) from None


@get("/claims", guards=[requires_permission(READ)], summary="Claims, newest submission first, with filters")
async def list_claims(
    plugin: PluginContext,
    status: list[Status] | None = None,
    patient_id: UUID | None = None,
    coverage_id: UUID | None = None,
    authorization_id: UUID | None = None,
    limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
) -> list[Claim]:
    return await service.list_claims(
        plugin,
        status=list(status) if status else None,
        patient_id=patient_id,
        coverage_id=coverage_id,
        authorization_id=authorization_id,
        limit=limit,
    )


@get(
    "/claims/summary",
    guards=[requires_permission(READ)],
    summary="Claims by status, denial rate and appeal overturn rate of a period",
)
async def summarize_claims(
    plugin: PluginContext,
    from_date: Annotated[date | None, Parameter(query="from")] = None,
    to_date: Annotated[date | None, Parameter(query="to")] = None,
) -> ClaimSummary:
    """``from``/``to``: dates in the organization's time zone, both included; default the last 30 days."""
    last = to_date or await tenant_today(plugin)
    first = from_date or last - timedelta(days=29)
    if first > last:
        raise problem(422, "from must not be after to", errors=[{"key": "from", "message": "after to"}])
    if (last - first).days >= MAX_PERIOD_DAYS:
        message = f"a period spans at most {MAX_PERIOD_DAYS} days"
        raise problem(422, message, errors=[{"key": "from", "message": message}])
    return await claim_summary(plugin, first, last)


@get("/claims/{claim_id:uuid}", guards=[requires_permission(READ)], summary="One claim")
async def read_claim(plugin: PluginContext, claim_id: UUID) -> Claim:
    claim = await service.get_claim(plugin, claim_id)
    if claim is None:
        raise problem(404, NOT_FOUND)
    return claim


@post(
    "/claims/{claim_id:uuid}/transitions",
    guards=[requires_permission(WRITE)],
    status_code=HTTP_200_OK,
    summary="Record the claim's next status (acceptance, rejection, payment, denial...)",
)
async def move_claim(plugin: PluginContext, claim_id: UUID, data: ClaimTransitionIn) -> Claim:
    """409 naming both statuses for a move the lifecycle does not allow; 422 naming each field that breaks a rule."""
    try:
        claim = await service.transition(plugin, claim_id, data)
    except SERVICE_ERRORS as exc:
        raise as_problem(exc) from None
    if claim is None:
        raise problem(404, NOT_FOUND)
    return claim


@get(
    "/claims/{claim_id:uuid}/transitions",
    guards=[requires_permission(READ)],
    summary="The claim's status history, with amounts and codes at each move",
)
async def claim_history(plugin: PluginContext, claim_id: UUID) -> list[ClaimTransition]:
    transitions = await service.list_transitions(plugin, claim_id)
    if transitions is None:
        raise problem(404, NOT_FOUND)
    return transitions


ROUTES: list[Any] = [
    create_claim,
    list_claims,
    summarize_claims,
    read_claim,
    move_claim,
    claim_history,
    *document_routes("claim", "/claims", service.document_owner, "claim"),
]
