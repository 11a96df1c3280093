"""Eligibility checks: ask the payer (on the workers), read the answers and the raw exchange."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_202_ACCEPTED

from core.plugins.sdk import PluginContext, problem, requires_permission
from plugins.insurance.eligibility import service
from plugins.insurance.eligibility.schemas import CheckRequest, EligibilityCheck, RawExchange
from plugins.insurance.permissions import READ, WRITE


@post(
    "/coverages/{coverage_id:uuid}/eligibility-checks",
    guards=[requires_permission(WRITE)],
    status_code=HTTP_202_ACCEPTED,
    summary="Ask the payer whether the coverage is active (answered by the workers)",
)
async def ask_eligibility(
    plugin: PluginContext, coverage_id: UUID, data: CheckRequest | None = None
) -> EligibilityCheck:
    """Returns the queued check; poll ``GET /eligibility-checks/{id}`` for the answer."""
    try:
        check = await service.ask(plugin, coverage_id, data.as_of if data else None)
    except service.CoverageRetiredError:
        raise problem(409, "The coverage is retired; check the patient's current coverage") from None
    if check is None:
        raise problem(404, "No such coverage")
    return check


@get(
    "/coverages/{coverage_id:uuid}/eligibility-checks",
    guards=[requires_permission(READ)],
    summary="A coverage's eligibility checks, newest first",
)
async def list_checks(
    plugin: PluginContext, coverage_id: UUID, limit: Annotated[int, Parameter(ge=1, le=200)] = 20
) -> list[EligibilityCheck]:
    found = await service.list_checks(plugin, coverage_id, limit)
    if found is None:
        raise problem(404, "No such coverage")
    return found


@get("/eligibility-checks/{check_id:uuid}", guards=[requires_permission(READ)], summary="One eligibility check")
async def read_check(plugin: PluginContext, check_id: UUID) -> EligibilityCheck:
    check = await service.get_check(plugin, check_id)
    if check is None:
        raise problem(404, "No such eligibility check")
    return check


@get(
    "/eligibility-checks/{check_id:uuid}/raw",
    guards=[requires_permission(READ)],
    summary="The request sent and the response received, verbatim",
)
async def read_raw(plugin: PluginContext, check_id: UUID) -> RawExchange:
    raw = await service.raw_exchange(plugin, check_id)
    if raw is None:
        raise problem(404, "No such eligibility check")
    return raw


ROUTES = [ask_eligibility, list_checks, read_check, read_raw]
