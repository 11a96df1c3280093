"""Task routes: ``/api/v1/tasks``, ``/api/v1/worklist`` and a patient's resource requests.

Another tenant's task, a task of a deleted patient and a random id all answer the same 404.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.plugins.problem_details import ProblemDetailsException

from core.auth.guards import requires_permission
from core.auth.permissions import Permission
from core.care.tasks import service
from core.care.tasks.schemas import (
    Priority,
    ResourceRequestCreate,
    Task,
    TaskCreate,
    TaskHistoryEntry,
    TaskTransition,
    TaskUpdate,
    Worklist,
)
from core.care.tasks.service import Sort, TaskInputError, WorklistQuery
from core.care.tasks.states import IllegalTransitionError, TaskStatus
from core.http.context import RequestContext, provide_context
from core.http.problems import problem
from core.patients.require import require_patient

READ = [requires_permission(Permission.PATIENTS_READ)]
WRITE = [requires_permission(Permission.PATIENTS_WRITE)]
NOT_FOUND = "No such task"


def invalid(error: TaskInputError) -> ProblemDetailsException:
    return problem(422, f"{error.field}: {error.message}", errors=[{"key": error.field, "message": error.message}])


class TaskController(Controller):
    path = "/api/v1/tasks"
    tags = ["tasks"]
    dependencies = {"ctx": Provide(provide_context)}

    @post("/", guards=WRITE, summary="Create a task")
    async def create(self, ctx: RequestContext, data: TaskCreate) -> Task:
        """Create a task owned by a user and/or a role pool; unknown patient, owner or resource is 422."""
        try:
            return await service.create_from_body(ctx, data)
        except TaskInputError as error:
            raise invalid(error) from None

    @get("/{task_id:uuid}", guards=READ, summary="Read a task")
    async def read(self, ctx: RequestContext, task_id: UUID) -> Task:
        task = await service.read_task(ctx, task_id)
        if task is None:
            raise problem(404, NOT_FOUND)
        return task

    @patch("/{task_id:uuid}", guards=WRITE, summary="Change some fields of a task")
    async def update(self, ctx: RequestContext, task_id: UUID, data: TaskUpdate) -> Task:
        """Owner, priority, due dates, texts; the status changes only through ``/transition``."""
        try:
            task = await service.update_task(ctx, task_id, data)
        except TaskInputError as error:
            raise invalid(error) from None
        if task is None:
            raise problem(404, NOT_FOUND)
        return task

    @post("/{task_id:uuid}/transition", guards=WRITE, status_code=200, summary="Change a task's status")
    async def transition(self, ctx: RequestContext, task_id: UUID, data: TaskTransition) -> Task:
        """Follow the FHIR Task state machine (core.care.tasks.states); an illegal move is 409."""
        try:
            task = await service.transition_task(ctx, task_id, data)
        except IllegalTransitionError as error:
            raise problem(409, str(error), current_status=error.current, requested_status=error.requested) from None
        if task is None:
            raise problem(404, NOT_FOUND)
        return task

    @get("/{task_id:uuid}/history", guards=READ, summary="A task's status history")
    async def history(self, ctx: RequestContext, task_id: UUID) -> list[TaskHistoryEntry]:
        """Every status the task took, who set it and when, oldest first (creation included)."""
        entries = await service.task_history(ctx, task_id)
        if entries is None:
            raise problem(404, NOT_FOUND)
        return entries


class WorklistController(Controller):
    path = "/api/v1/worklist"
    tags = ["tasks"]
    dependencies = {"ctx": Provide(provide_context)}

    @get("/", guards=READ, summary="The caller's worklist")
    async def worklist(
        self,
        ctx: RequestContext,
        mine: Annotated[bool, Parameter(description="only tasks the caller owns")] = False,
        team: Annotated[
            bool,
            Parameter(
                description="tasks owned by the caller, by users sharing an active care team with the caller, "
                "or unclaimed in the pool of the caller's role"
            ),
        ] = False,
        overdue: Annotated[bool, Parameter(description="open and past due_at")] = False,
        due_today: Annotated[bool, Parameter(description="due_at falls on today in time_zone")] = False,
        priority: Annotated[list[Priority] | None, Parameter(max_items=4)] = None,
        status: Annotated[
            list[TaskStatus] | None, Parameter(max_items=12, description="default: the open statuses")
        ] = None,
        patient_id: UUID | None = None,
        sort: Annotated[Sort, Parameter(description="due (default), priority (stat first) or created")] = "due",
        time_zone: Annotated[
            str | None, Parameter(max_length=64, description="IANA zone for due today; default the organization's")
        ] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> Worklist:
        """Open tasks by default; every filter narrows the list. Each item flags ``overdue`` and ``sla_overdue``."""
        query = WorklistQuery(
            mine=mine,
            team=team,
            overdue=overdue,
            due_today=due_today,
            priority=tuple(priority or ()),
            status=tuple(status or ()),
            patient_id=patient_id,
            sort=sort,
            time_zone=time_zone,
            limit=limit,
        )
        if time_zone is not None:
            try:
                service.zone_named(time_zone)
            except ValueError as error:
                raise problem(400, str(error), errors=[{"key": "time_zone", "message": str(error)}]) from None
        return await service.worklist(ctx, query)


class ResourceRequestController(Controller):
    path = "/api/v1/patients/{patient_id:uuid}/resource-requests"
    tags = ["community resources"]
    dependencies = {"ctx": Provide(provide_context)}

    @post("/", guards=WRITE, summary="Request a community resource for a patient")
    async def create(self, ctx: RequestContext, patient_id: UUID, data: ResourceRequestCreate) -> Task:
        """Tracked as a task (focus_type ``resource_request``, focus_id the resource); unknown resource is 422."""
        await require_patient(ctx, patient_id)
        try:
            return await service.request_resource(ctx, patient_id, data)
        except TaskInputError as error:
            raise invalid(error) from None

    @get("/", guards=READ, summary="A patient's resource requests")
    async def list_requests(self, ctx: RequestContext, patient_id: UUID) -> list[Task]:
        await require_patient(ctx, patient_id)
        return await service.list_resource_requests(ctx, patient_id)
