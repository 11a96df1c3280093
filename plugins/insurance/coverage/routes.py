"""``/api/v1/insurance/coverages``: a patient's insurance, its change history and card images."""

from __future__ import annotations

from uuid import UUID

from litestar import delete, get, patch, post
from litestar.status_codes import HTTP_200_OK

from core.plugins.sdk import PluginContext, problem, requires_permission
from plugins.insurance.coverage import service
from plugins.insurance.coverage.schemas import Coverage, CoverageChange, CoverageCreate, CoverageUpdate
from plugins.insurance.document_routes import document_routes
from plugins.insurance.permissions import READ, WRITE

NOT_FOUND = "No such coverage"


def _unknown(exc: service.UnknownReferenceError) -> Exception:
    message = f"{exc.field} is not a {exc.what} of this organization"
    return problem(422, message, errors=[{"key": exc.field, "message": f"unknown {exc.what}"}])


def _overlap(exc: service.OverlapError) -> Exception:
    return problem(
        409,
        f"The patient already has a {exc.order} coverage for part of this period; end or retire it first",
        conflicting_coverage_id=str(exc.other_id),
    )


def _invalid(exc: service.InvalidCoverageError) -> Exception:
    return problem(422, exc.message, errors=[{"key": exc.field, "message": exc.message}])


@post("/coverages", guards=[requires_permission(WRITE)], summary="Record a patient's coverage (checks eligibility)")
async def create_coverage(plugin: PluginContext, data: CoverageCreate) -> Coverage:
    """An eligibility check is queued at once; its answer shows in ``eligibility``."""
    try:
        return await service.create_coverage(plugin, data)
    except service.UnknownReferenceError as exc:
        raise _unknown(exc) from None
    except service.OverlapError as exc:
        raise _overlap(exc) from None


@get("/coverages", guards=[requires_permission(READ)], summary="A patient's coverages, primary first")
async def list_coverages(plugin: PluginContext, patient_id: UUID, include_retired: bool = False) -> list[Coverage]:
    found = await service.list_coverages(plugin, patient_id, include_retired=include_retired)
    if found is None:
        raise problem(404, "No such patient")
    return found


@get("/coverages/{coverage_id:uuid}", guards=[requires_permission(READ)], summary="One coverage")
async def read_coverage(plugin: PluginContext, coverage_id: UUID) -> Coverage:
    coverage = await service.get_coverage(plugin, coverage_id)
    if coverage is None:
        raise problem(404, NOT_FOUND)
    return coverage


@patch("/coverages/{coverage_id:uuid}", guards=[requires_permission(WRITE)], summary="Change a coverage")
async def update_coverage(plugin: PluginContext, coverage_id: UUID, data: CoverageUpdate) -> Coverage:
    """A change of payer, member, group or subscriber queues a new eligibility check."""
    try:
        coverage = await service.update_coverage(plugin, coverage_id, data)
    except service.UnknownReferenceError as exc:
        raise _unknown(exc) from None
    except service.OverlapError as exc:
        raise _overlap(exc) from None
    except service.InvalidCoverageError as exc:
        raise _invalid(exc) from None
    if coverage is None:
        raise problem(404, NOT_FOUND)
    return coverage


@delete(
    "/coverages/{coverage_id:uuid}",
    guards=[requires_permission(WRITE)],
    status_code=HTTP_200_OK,
    summary="Retire a coverage (kept with its history)",
)
async def retire_coverage(plugin: PluginContext, coverage_id: UUID) -> Coverage:
    coverage = await service.retire_coverage(plugin, coverage_id)
    if coverage is None:
        raise problem(404, NOT_FOUND)
    return coverage


@get(
    "/coverages/{coverage_id:uuid}/history",
    guards=[requires_permission(READ)],
    summary="Every change of a coverage: who, when, before and after",
)
async def coverage_history(plugin: PluginContext, coverage_id: UUID) -> list[CoverageChange]:
    history = await service.coverage_history(plugin, coverage_id)
    if history is None:
        raise problem(404, NOT_FOUND)
    return history


ROUTES = [
    create_coverage,
    list_coverages,
    read_coverage,
    update_coverage,
    retire_coverage,
    coverage_history,
    *document_routes("coverage", "/coverages", service.coverage_patient, "coverage"),
]
