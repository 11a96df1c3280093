"""Directory routes: ``/api/v1/directory/organizations``, ``/api/v1/directory/practitioners``
and ``/api/v1/community-resources``.

Reading needs ``patients:read`` (everyone who works with patients looks providers up);
writing needs ``directory:manage``. Another tenant's id and a random id answer the same 404.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, TypeVar
from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from core.auth.guards import requires_permission
from core.auth.permissions import Permission
from core.directory import service
from core.directory.schemas import (
    CommunityResource,
    CommunityResourceCreate,
    CommunityResourcePage,
    CommunityResourceUpdate,
    Organization,
    OrganizationCreate,
    OrganizationPage,
    OrganizationUpdate,
    Practitioner,
    PractitionerCreate,
    PractitionerPage,
    PractitionerUpdate,
    ResourceCategory,
)
from core.http.context import RequestContext, provide_context
from core.http.problems import problem
from core.patients.search import BadCursorError

READ = [requires_permission(Permission.PATIENTS_READ)]
WRITE = [requires_permission(Permission.DIRECTORY_MANAGE)]

T = TypeVar("T")

ORGANIZATION_NOT_FOUND = "No such organization"
PRACTITIONER_NOT_FOUND = "No such practitioner"
RESOURCE_NOT_FOUND = "No such community resource"

Limit = Annotated[int, Parameter(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, Parameter(max_length=600, description="next_cursor of the previous page")]
IncludeInactive = Annotated[bool, Parameter(description="also list deleted (inactive) entries")]
LanguageQuery = Annotated[
    str | None,
    Parameter(
        max_length=35,
        pattern=r"^[a-zA-Z]{2,3}(-[A-Za-z0-9]{2,8})*$",
        description="BCP 47 tag; es also finds es-MX",
    ),
]
AcceptsReferrals = Annotated[bool | None, Parameter(description="only entries that do (true) or do not (false)")]
Specialty = Annotated[str | None, Parameter(max_length=100, description="case-insensitive, exact or prefix")]


async def _guarded(call: Awaitable[T]) -> T:
    """Run a service call, turning the directory's own errors into problem details."""
    try:
        return await call
    except BadCursorError:
        raise problem(400, "The cursor is not valid; start again without it") from None
    except service.DuplicateIdentifierError:
        raise problem(
            409,
            "Another directory entry of this organization already carries this identifier",
            errors=[{"key": "identifier", "message": "already in use"}],
        ) from None
    except service.UnknownOrganizationError:
        raise problem(
            422,
            "organization_id is not an active organization of this directory",
            errors=[{"key": "organization_id", "message": "unknown organization"}],
        ) from None


def _found(entry: T | None, detail: str) -> T:
    if entry is None:
        raise problem(404, detail)
    return entry


class OrganizationController(Controller):
    path = "/api/v1/directory/organizations"
    tags = ["directory"]
    dependencies = {"ctx": Provide(provide_context)}

    @get("/", guards=READ, summary="Search and list provider organizations")
    async def list_organizations(
        self,
        ctx: RequestContext,
        q: Annotated[str | None, Parameter(max_length=200, description="prefix of the name or a word in it")] = None,
        specialty: Specialty = None,
        accepts_referrals: AcceptsReferrals = None,
        language: LanguageQuery = None,
        include_inactive: IncludeInactive = False,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> OrganizationPage:
        """Active organizations ordered by name, one page at a time."""
        return await _guarded(
            service.search_organizations(
                ctx,
                q=q,
                specialty=specialty,
                accepts_referrals=accepts_referrals,
                language=language,
                include_inactive=include_inactive,
                limit=limit,
                cursor=cursor,
            )
        )

    @post("/", guards=WRITE, summary="Add a provider organization")
    async def create(self, ctx: RequestContext, data: OrganizationCreate) -> Organization:
        """Create an organization; an identifier already used in this directory is 409."""
        return await _guarded(service.create_organization(ctx, data))

    @get("/{organization_id:uuid}", guards=READ, summary="Read a provider organization")
    async def read(self, ctx: RequestContext, organization_id: UUID) -> Organization:
        """Inactive (deleted) organizations stay readable, with ``active: false``."""
        return _found(await service.read_organization(ctx, organization_id), ORGANIZATION_NOT_FOUND)

    @patch("/{organization_id:uuid}", guards=WRITE, summary="Change some fields of a provider organization")
    async def update(self, ctx: RequestContext, organization_id: UUID, data: OrganizationUpdate) -> Organization:
        return _found(await _guarded(service.update_organization(ctx, organization_id, data)), ORGANIZATION_NOT_FOUND)

    @delete(
        "/{organization_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        guards=WRITE,
        summary="Deactivate a provider organization",
    )
    async def remove(self, ctx: RequestContext, organization_id: UUID) -> None:
        """Soft delete (``active: false``): it leaves lists; a PATCH with ``active: true`` restores it."""
        if not await service.delete_organization(ctx, organization_id):
            raise problem(404, ORGANIZATION_NOT_FOUND)


class PractitionerController(Controller):
    path = "/api/v1/directory/practitioners"
    tags = ["directory"]
    dependencies = {"ctx": Provide(provide_context)}

    @get("/", guards=READ, summary="Search and list practitioners")
    async def list_practitioners(
        self,
        ctx: RequestContext,
        specialty: Specialty = None,
        name: Annotated[
            str | None, Parameter(max_length=200, description="each word starts the family or given name")
        ] = None,
        language: LanguageQuery = None,
        accepts_referrals: AcceptsReferrals = None,
        organization_id: UUID | None = None,
        include_inactive: IncludeInactive = False,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> PractitionerPage:
        """Active practitioners ordered by family name, given name, one page at a time."""
        return await _guarded(
            service.search_practitioners(
                ctx,
                specialty=specialty,
                name=name,
                language=language,
                accepts_referrals=accepts_referrals,
                organization_id=organization_id,
                include_inactive=include_inactive,
                limit=limit,
                cursor=cursor,
            )
        )

    @post("/", guards=WRITE, summary="Add a practitioner")
    async def create(self, ctx: RequestContext, data: PractitionerCreate) -> Practitioner:
        """Create a practitioner; a used identifier is 409, an unknown ``organization_id`` 422."""
        return await _guarded(service.create_practitioner(ctx, data))

    @get("/{practitioner_id:uuid}", guards=READ, summary="Read a practitioner")
    async def read(self, ctx: RequestContext, practitioner_id: UUID) -> Practitioner:
        """Inactive (deleted) practitioners stay readable, with ``active: false``."""
        return _found(await service.read_practitioner(ctx, practitioner_id), PRACTITIONER_NOT_FOUND)

    @patch("/{practitioner_id:uuid}", guards=WRITE, summary="Change some fields of a practitioner")
    async def update(self, ctx: RequestContext, practitioner_id: UUID, data: PractitionerUpdate) -> Practitioner:
        return _found(await _guarded(service.update_practitioner(ctx, practitioner_id, data)), PRACTITIONER_NOT_FOUND)

    @delete(
        "/{practitioner_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        guards=WRITE,
        summary="Deactivate a practitioner",
    )
    async def remove(self, ctx: RequestContext, practitioner_id: UUID) -> None:
        """Soft delete (``active: false``): it leaves lists; a PATCH with ``active: true`` restores it."""
        if not await service.delete_practitioner(ctx, practitioner_id):
            raise problem(404, PRACTITIONER_NOT_FOUND)


class CommunityResourceController(Controller):
    path = "/api/v1/community-resources"
    tags = ["community resources"]
    dependencies = {"ctx": Provide(provide_context)}

    @get("/", guards=READ, summary="Search and list community resources")
    async def list_resources(
        self,
        ctx: RequestContext,
        category: ResourceCategory | None = None,
        q: Annotated[
            str | None, Parameter(max_length=200, description="text anywhere in the name or description")
        ] = None,
        language: LanguageQuery = None,
        include_inactive: IncludeInactive = False,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> CommunityResourcePage:
        """Active interpreters, transport, prescription assistance, food and housing services by name."""
        return await _guarded(
            service.search_resources(
                ctx,
                category=category,
                q=q,
                language=language,
                include_inactive=include_inactive,
                limit=limit,
                cursor=cursor,
            )
        )

    @post("/", guards=WRITE, summary="Add a community resource")
    async def create(self, ctx: RequestContext, data: CommunityResourceCreate) -> CommunityResource:
        return await service.create_resource(ctx, data)

    @get("/{resource_id:uuid}", guards=READ, summary="Read a community resource")
    async def read(self, ctx: RequestContext, resource_id: UUID) -> CommunityResource:
        """Inactive (deleted) resources stay readable, with ``active: false``."""
        return _found(await service.read_resource(ctx, resource_id), RESOURCE_NOT_FOUND)

    @patch("/{resource_id:uuid}", guards=WRITE, summary="Change some fields of a community resource")
    async def update(self, ctx: RequestContext, resource_id: UUID, data: CommunityResourceUpdate) -> CommunityResource:
        return _found(await service.update_resource(ctx, resource_id, data), RESOURCE_NOT_FOUND)

    @delete(
        "/{resource_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        guards=WRITE,
        summary="Deactivate a community resource",
    )
    async def remove(self, ctx: RequestContext, resource_id: UUID) -> None:
        """Soft delete (``active: false``): it leaves lists; a PATCH with ``active: true`` restores it."""
        if not await service.delete_resource(ctx, resource_id):
            raise problem(404, RESOURCE_NOT_FOUND)


DIRECTORY_CONTROLLERS = [OrganizationController, PractitionerController, CommunityResourceController]
