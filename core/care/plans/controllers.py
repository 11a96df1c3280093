"""Care plan routes: ``/api/v1/patients/{id}/care-plans`` and ``/api/v1/care-plans/...``.

Another tenant's plan, goal, activity or version, one of another plan, a plan of a
deleted patient and a random id all answer the same 404. Illegal status changes
answer 409 naming the current and the requested status.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated
from uuid import UUID

from litestar import Controller, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter

from core.auth.guards import requires_permission
from core.auth.permissions import Permission
from core.care.plans import service
from core.care.plans.schemas import (
    Activity,
    ActivityCreate,
    ActivityUpdate,
    CarePlan,
    CarePlanCreate,
    CarePlanDetail,
    CarePlanUpdate,
    Goal,
    GoalCreate,
    GoalUpdate,
    Measurement,
    MeasurementCreate,
    Transition,
    Version,
    VersionSummary,
)
from core.care.plans.states import IllegalTransitionError, PlanStatus
from core.http.context import RequestContext, provide_context
from core.http.problems import problem
from core.patients.require import require_patient

READ = [requires_permission(Permission.PATIENTS_READ)]
WRITE = [requires_permission(Permission.PATIENTS_WRITE)]
PLAN = "/care-plans/{plan_id:uuid}"


@contextmanager
def problems() -> Iterator[None]:
    """Turn the service's domain errors into RFC 9457 problems."""
    try:
        yield
    except service.NotFoundError as exc:
        raise problem(404, str(exc)) from None
    except IllegalTransitionError as exc:
        raise problem(409, str(exc), current_status=exc.current, requested_status=exc.requested) from None
    except service.PlanClosedError as exc:
        raise problem(409, str(exc), current_status=exc.status) from None
    except service.InvalidFieldError as exc:
        raise problem(422, exc.message, errors=[{"key": exc.field, "message": exc.message}]) from None


class CarePlanController(Controller):
    """Care plans (FHIR CarePlan) with goals, measured progress, activities and versioned history."""

    path = "/api/v1"
    tags = ["care-plans"]
    dependencies = {"ctx": Provide(provide_context)}

    @get("/patients/{patient_id:uuid}/care-plans", guards=READ, summary="A patient's care plans")
    async def list_plans(
        self, ctx: RequestContext, patient_id: UUID, status: PlanStatus | None = None
    ) -> list[CarePlan]:
        """The patient's plans, newest first, optionally of one ``status`` (goals and activities not included)."""
        await require_patient(ctx, patient_id)
        return await service.list_plans(ctx, patient_id, status)

    @post("/patients/{patient_id:uuid}/care-plans", guards=WRITE, summary="Start a care plan")
    async def create_plan(self, ctx: RequestContext, patient_id: UUID, data: CarePlanCreate) -> CarePlanDetail:
        """Create a ``draft`` plan, optionally with its first goals and activities; this is version 1."""
        await require_patient(ctx, patient_id)
        with problems():
            return await service.create_plan(ctx, patient_id, data)

    @get(PLAN, guards=READ, summary="Read a care plan with its goals and activities")
    async def read_plan(self, ctx: RequestContext, plan_id: UUID) -> CarePlanDetail:
        with problems():
            return await service.read_plan(ctx, plan_id)

    @patch(PLAN, guards=WRITE, summary="Change a care plan's title, description or period")
    async def update_plan(self, ctx: RequestContext, plan_id: UUID, data: CarePlanUpdate) -> CarePlanDetail:
        """Partial update; a closed plan (completed, revoked, entered-in-error) is 409."""
        with problems():
            return await service.update_plan(ctx, plan_id, data)

    @post(f"{PLAN}/transition", guards=WRITE, status_code=200, summary="Change a care plan's status")
    async def transition(self, ctx: RequestContext, plan_id: UUID, data: Transition) -> CarePlanDetail:
        """Legal moves: draft -> active | revoked; active -> on-hold | completed | revoked;
        on-hold -> active | revoked; any but entered-in-error -> entered-in-error. Others are 409."""
        with problems():
            return await service.transition_plan(ctx, plan_id, data)

    # -- goals ------------------------------------------------------------------------------------------

    @post(f"{PLAN}/goals", guards=WRITE, summary="Add a goal to a care plan")
    async def add_goal(self, ctx: RequestContext, plan_id: UUID, data: GoalCreate) -> Goal:
        with problems():
            return await service.add_goal(ctx, plan_id, data)

    @patch(f"{PLAN}/goals/{{goal_id:uuid}}", guards=WRITE, summary="Change a goal")
    async def update_goal(self, ctx: RequestContext, plan_id: UUID, goal_id: UUID, data: GoalUpdate) -> Goal:
        """Partial update; a ``status`` change must follow the FHIR Goal lifecycle (else 409)."""
        with problems():
            return await service.update_goal(ctx, plan_id, goal_id, data)

    @get(f"{PLAN}/goals/{{goal_id:uuid}}/measurements", guards=READ, summary="A goal's measurements")
    async def list_measurements(self, ctx: RequestContext, plan_id: UUID, goal_id: UUID) -> list[Measurement]:
        """Every measurement of the goal, oldest first."""
        with problems():
            return await service.list_measurements(ctx, plan_id, goal_id)

    @post(f"{PLAN}/goals/{{goal_id:uuid}}/measurements", guards=WRITE, summary="Record a goal measurement")
    async def add_measurement(self, ctx: RequestContext, plan_id: UUID, goal_id: UUID, data: MeasurementCreate) -> Goal:
        """Record a measured value; answers the goal with its latest measurement and progress."""
        with problems():
            return await service.add_measurement(ctx, plan_id, goal_id, data)

    # -- activities -------------------------------------------------------------------------------------

    @post(f"{PLAN}/activities", guards=WRITE, summary="Add an activity to a care plan")
    async def add_activity(self, ctx: RequestContext, plan_id: UUID, data: ActivityCreate) -> Activity:
        """A linked appointment, referral or task must be this patient's, in this organization (else 422)."""
        with problems():
            return await service.add_activity(ctx, plan_id, data)

    @patch(f"{PLAN}/activities/{{activity_id:uuid}}", guards=WRITE, summary="Change an activity")
    async def update_activity(
        self, ctx: RequestContext, plan_id: UUID, activity_id: UUID, data: ActivityUpdate
    ) -> Activity:
        """Partial update; a ``status`` change must be a legal activity move (else 409)."""
        with problems():
            return await service.update_activity(ctx, plan_id, activity_id, data)

    # -- versions ---------------------------------------------------------------------------------------

    @get(f"{PLAN}/versions", guards=READ, summary="A care plan's version history")
    async def list_versions(
        self,
        ctx: RequestContext,
        plan_id: UUID,
        after: Annotated[int, Parameter(ge=0, le=2**31 - 1, description="versions after this one")] = 0,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> list[VersionSummary]:
        """Who changed the plan, when and what, oldest first; page on with ``after`` = the last version."""
        with problems():
            return await service.list_versions(ctx, plan_id, after, limit)

    @get(f"{PLAN}/versions/{{version:int}}", guards=READ, summary="A care plan as it stood at one version")
    async def read_version(
        self, ctx: RequestContext, plan_id: UUID, version: Annotated[int, Parameter(ge=1, le=2**31 - 1)]
    ) -> Version:
        with problems():
            return await service.read_version(ctx, plan_id, version)
