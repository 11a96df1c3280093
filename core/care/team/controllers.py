"""Care team routes under ``/api/v1/patients/{id}/care-team`` and ``GET /api/v1/me/caseload``.

Another tenant's patient or member, and a random id, answer the same 404.
"""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.di import Provide
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.status_codes import HTTP_204_NO_CONTENT

from core.auth.guards import requires_permission
from core.auth.permissions import Permission
from core.care.team import service
from core.care.team.schemas import CareTeamMember, CaseloadEntry, MemberCreate, MemberUpdate
from core.care.team.service import MemberInputError, PrimaryTakenError
from core.http.context import RequestContext, provide_context
from core.http.problems import problem
from core.patients.require import require_patient

READ = [requires_permission(Permission.PATIENTS_READ)]
WRITE = [requires_permission(Permission.PATIENTS_WRITE)]


def _invalid(error: MemberInputError) -> ProblemDetailsException:
    return problem(422, f"{error.field}: {error.message}", errors=[{"key": error.field, "message": error.message}])


def _primary_taken() -> ProblemDetailsException:
    return problem(409, "The patient already has a primary coordinator; clear that one first")


class CareTeamController(Controller):
    path = "/api/v1/patients/{patient_id:uuid}/care-team"
    tags = ["care team"]
    dependencies = {"ctx": Provide(provide_context)}

    @get("/", guards=READ, summary="A patient's care team, past members included")
    async def list_members(self, ctx: RequestContext, patient_id: UUID) -> list[CareTeamMember]:
        await require_patient(ctx, patient_id)
        return await service.list_members(ctx, patient_id)

    @post("/", guards=WRITE, summary="Add a care team member")
    async def add(self, ctx: RequestContext, patient_id: UUID, data: MemberCreate) -> CareTeamMember:
        """A user or a practitioner; a second primary coordinator is 409, an unknown user or practitioner 422."""
        await require_patient(ctx, patient_id)
        try:
            return await service.add_member(ctx, patient_id, data)
        except MemberInputError as error:
            raise _invalid(error) from None
        except PrimaryTakenError:
            raise _primary_taken() from None

    @patch("/{member_id:uuid}", guards=WRITE, summary="Change a care team member")
    async def update(
        self, ctx: RequestContext, patient_id: UUID, member_id: UUID, data: MemberUpdate
    ) -> CareTeamMember:
        await require_patient(ctx, patient_id)
        try:
            member = await service.update_member(ctx, patient_id, member_id, data)
        except MemberInputError as error:
            raise _invalid(error) from None
        except PrimaryTakenError:
            raise _primary_taken() from None
        if member is None:
            raise problem(404, "No such care team member")
        return member

    @delete("/{member_id:uuid}", guards=WRITE, status_code=HTTP_204_NO_CONTENT, summary="Remove a member")
    async def remove(self, ctx: RequestContext, patient_id: UUID, member_id: UUID) -> None:
        """Deletes the membership; to keep it in the team's history, set ``period_end`` instead."""
        await require_patient(ctx, patient_id)
        if not await service.remove_member(ctx, patient_id, member_id):
            raise problem(404, "No such care team member")


class CaseloadController(Controller):
    path = "/api/v1/me/caseload"
    tags = ["care team"]
    dependencies = {"ctx": Provide(provide_context)}

    @get("/", guards=READ, summary="Patients whose care team the caller is on")
    async def caseload(self, ctx: RequestContext) -> list[CaseloadEntry]:
        """Memberships of the caller that are active today (organization's time zone), with the role."""
        return await service.caseload(ctx)
