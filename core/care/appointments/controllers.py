"""Appointment routes: ``/api/v1/appointments``.

Another tenant's id, an appointment of a deleted patient and a random id all answer
the same 404. An illegal status change is 409 naming the current and requested status;
a booking that overlaps another is 409 naming the appointment it collides with.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK

from core.auth.guards import requires_permission
from core.auth.permissions import Permission
from core.care.appointments import service
from core.care.appointments.schemas import (
    Appointment,
    AppointmentCreate,
    AppointmentPage,
    Reschedule,
    StatusChange,
    Transition,
)
from core.care.appointments.states import IllegalTransitionError, Status
from core.db.cursors import BadCursorError
from core.http.context import RequestContext, provide_context
from core.http.problems import problem
from core.tenancy.schemas import check_time_zone

READ = [requires_permission(Permission.PATIENTS_READ)]
WRITE = [requires_permission(Permission.PATIENTS_WRITE)]
NOT_FOUND = "No such appointment"


def _conflict(exc: service.ConflictError) -> Exception:
    return problem(
        409,
        f"The time overlaps appointment {exc.conflicting_id} of the same {exc.shared}",
        conflicting_appointment_id=str(exc.conflicting_id),
    )


def _illegal(exc: IllegalTransitionError) -> Exception:
    return problem(
        409,
        f"The appointment is {exc.current} and cannot become {exc.requested}",
        current_status=exc.current,
        requested_status=exc.requested,
    )


def _unknown(field: str, what: str) -> Exception:
    return problem(
        422, f"{field} is not a {what} of this organization", errors=[{"key": field, "message": f"unknown {what}"}]
    )


class AppointmentController(Controller):
    path = "/api/v1/appointments"
    tags = ["appointments"]
    dependencies = {"ctx": Provide(provide_context)}

    @get("/", guards=READ, summary="List appointments per patient, practitioner or day")
    async def list_appointments(
        self,
        ctx: RequestContext,
        patient_id: UUID | None = None,
        practitioner_id: UUID | None = None,
        day: Annotated[date | None, Parameter(description="calendar day (YYYY-MM-DD) in time_zone")] = None,
        time_zone: Annotated[
            str | None,
            Parameter(max_length=64, description="IANA zone for day; default the organization's zone"),
        ] = None,
        status: Status | None = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> AppointmentPage:
        """Appointments ordered by start; ``day`` selects those starting on that local day."""
        try:
            check_time_zone(time_zone)
        except ValueError as exc:
            raise problem(400, str(exc), errors=[{"key": "time_zone", "message": str(exc)}]) from None
        try:
            return await service.list_appointments(
                ctx,
                patient_id=patient_id,
                practitioner_id=practitioner_id,
                day=day,
                time_zone=time_zone,
                status=status,
                limit=limit,
                cursor=cursor,
            )
        except BadCursorError:
            raise problem(400, "The cursor is not valid; start again without it") from None

    @post("/", guards=WRITE, summary="Create or book an appointment")
    async def create(self, ctx: RequestContext, data: AppointmentCreate) -> Appointment:
        """Create in ``booked`` (default; overlaps are 409) or ``proposed``."""
        if not await service.patient_exists(ctx, data.patient_id):
            raise _unknown("patient_id", "patient")
        if data.practitioner_id is not None and not await service.practitioner_exists(ctx, data.practitioner_id):
            raise _unknown("practitioner_id", "practitioner")
        try:
            return await service.create_appointment(ctx, data)
        except service.ConflictError as exc:
            raise _conflict(exc) from None

    @get("/{appointment_id:uuid}", guards=READ, summary="Read an appointment")
    async def read(self, ctx: RequestContext, appointment_id: UUID) -> Appointment:
        appointment = await service.read_appointment(ctx, appointment_id)
        if appointment is None:
            raise problem(404, NOT_FOUND)
        return appointment

    @post(
        "/{appointment_id:uuid}/reschedule",
        guards=WRITE,
        status_code=HTTP_200_OK,
        summary="Move an appointment to a new time",
    )
    async def reschedule(self, ctx: RequestContext, appointment_id: UUID, data: Reschedule) -> Appointment:
        """Only proposed, pending or booked appointments move; a booked one must not overlap another."""
        try:
            appointment = await service.reschedule_appointment(ctx, appointment_id, data)
        except service.NotReschedulableError as exc:
            raise problem(
                409,
                f"An appointment that is {exc.status} cannot be rescheduled",
                current_status=exc.status,
            ) from None
        except service.ConflictError as exc:
            raise _conflict(exc) from None
        if appointment is None:
            raise problem(404, NOT_FOUND)
        return appointment

    @post(
        "/{appointment_id:uuid}/transition",
        guards=WRITE,
        status_code=HTTP_200_OK,
        summary="Change an appointment's status (book, arrive, check in, fulfil, no-show, cancel, correct)",
    )
    async def transition(self, ctx: RequestContext, appointment_id: UUID, data: Transition) -> Appointment:
        """Move along the FHIR status state machine; an illegal move is 409 naming both statuses."""
        try:
            appointment = await service.transition_appointment(ctx, appointment_id, data)
        except IllegalTransitionError as exc:
            raise _illegal(exc) from None
        except service.ConflictError as exc:
            raise _conflict(exc) from None
        if appointment is None:
            raise problem(404, NOT_FOUND)
        return appointment

    @get("/{appointment_id:uuid}/history", guards=READ, summary="An appointment's status history")
    async def history(self, ctx: RequestContext, appointment_id: UUID) -> list[StatusChange]:
        """Every status change, oldest first, with who made it and when; the first records the creation."""
        changes = await service.appointment_history(ctx, appointment_id)
        if changes is None:
            raise problem(404, NOT_FOUND)
        return changes
