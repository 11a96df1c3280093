"""Sign-up and the tenant's own settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.di import Provide
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from core.audit.service import record
from core.auth.guards import requires_permission
from core.auth.password_policy import refuse_weak
from core.auth.permissions import Permission
from core.db.tenant import platform_transaction
from core.http.context import RequestContext, provide_context, request_origin
from core.http.partial import changed_fields
from core.http.problems import problem
from core.settings import get_settings
from core.tenancy.lifecycle import DeletionError, export_lines, request_deletion
from core.tenancy.plans import PLANS, Plan, TenantUsage, tenant_usage
from core.tenancy.schemas import SignupRequest, SignupResponse, TenantOut, TenantUpdate
from core.tenancy.service import SlugTakenError, complete_setup, get_tenant, sign_up, update_tenant


class DeletionRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    confirm_slug: str
    """The organization's slug, typed again: deleting is not a click."""


class DeletionScheduled(msgspec.Struct, kw_only=True):
    status: str
    purge_after: datetime


@post("/api/v1/signup", opt={"public": True}, tags=["tenancy"], summary="Sign up an organization")
async def signup(data: SignupRequest, request: Request[Any, Any, Any]) -> SignupResponse:
    """Create a tenant (in trial) and its owner in one transaction; a taken slug is 409."""
    ip, request_id = request_origin(request)
    await refuse_weak(
        data.owner_password,
        "owner_password",
        context=(data.owner_email, data.owner_name, data.slug, data.organization_name),
    )
    try:
        async with platform_transaction() as tx:
            return await sign_up(tx, data, ip=ip, request_id=request_id)
    except SlugTakenError:
        raise problem(409, f"The slug {data.slug!r} is taken") from None


@get("/api/v1/plans", opt={"public": True}, tags=["tenancy"], summary="The plan catalogue")
async def plans() -> list[Plan]:
    """Each plan with its monthly price, limits (null: unlimited) and a one-line description."""
    return list(PLANS)


class TenantController(Controller):
    path = "/api/v1/tenant"
    tags = ["tenancy"]
    dependencies = {"ctx": Provide(provide_context)}

    @get("/", summary="The caller's organization")
    async def read(self, ctx: RequestContext) -> TenantOut:
        tenant = await get_tenant(ctx.tx, ctx.tenant_id)
        assert tenant is not None
        return tenant

    @get("/usage", summary="The organization's plan, its limits and what is used of them")
    async def usage(self, ctx: RequestContext) -> TenantUsage:
        """Users counts active and pending users (not disabled ones); patients counts records not deleted."""
        return await tenant_usage(ctx.tx, ctx.tenant_id)

    @post(
        "/setup-complete",
        guards=[requires_permission(Permission.TENANT_MANAGE)],
        status_code=HTTP_200_OK,
        summary="Record that the guided setup is finished",
    )
    async def setup_complete(self, ctx: RequestContext) -> TenantOut:
        """Sets ``setup_completed_at`` once (audited); again, it answers the same without changing it."""
        if await complete_setup(ctx.tx, ctx.tenant_id):
            await record(ctx, "tenant.setup_completed", "tenant", ctx.tenant_id)
        tenant = await get_tenant(ctx.tx, ctx.tenant_id)
        assert tenant is not None
        return tenant

    @patch("/", guards=[requires_permission(Permission.TENANT_MANAGE)], summary="Change settings")
    async def update(self, ctx: RequestContext, data: TenantUpdate) -> TenantOut:
        changes = changed_fields(data)
        tenant = await update_tenant(ctx.tx, ctx.tenant_id, changes)
        await record(ctx, "tenant.update", "tenant", ctx.tenant_id, {"fields": sorted(changes)})
        return tenant

    @get(
        "/export",
        guards=[requires_permission(Permission.TENANT_EXPORT)],
        media_type="application/x-ndjson",
        summary="Every record of the organization as JSON lines (owner only)",
    )
    async def export(self, ctx: RequestContext) -> Stream:
        """A header line, the organization, then one ``{"table", "row"}`` line per row of every table of
        core and the plugins, then the row counts; credentials are left out. Audited before it starts."""
        tenant = await get_tenant(ctx.tx, ctx.tenant_id)
        assert tenant is not None
        await record(ctx, "tenant.exported", "tenant", ctx.tenant_id)
        day = datetime.now(UTC).date().isoformat()
        return Stream(
            export_lines(ctx.tenant_id),
            media_type="application/x-ndjson",
            headers={
                "Content-Disposition": f'attachment; filename="carecoord-{tenant.slug}-{day}.jsonl"',
                "Cache-Control": "no-store",
            },
        )

    @post(
        "/deletion",
        guards=[requires_permission(Permission.TENANT_DELETE)],
        status_code=HTTP_202_ACCEPTED,
        summary="Delete the organization: closed now, its data purged after the grace period (owner only)",
    )
    async def delete(self, ctx: RequestContext, data: DeletionRequest) -> DeletionScheduled:
        """Every credential of the organization stops working at once; an operator can reopen it until
        ``purge_after`` (``TENANT_DELETION_GRACE_DAYS``), when every row is deleted."""
        tenant = await get_tenant(ctx.tx, ctx.tenant_id)
        assert tenant is not None
        if data.confirm_slug != tenant.slug:
            message = "type the organization's slug to confirm"
            raise problem(422, message, errors=[{"key": "confirm_slug", "message": message}])
        try:
            purge_after = await request_deletion(
                ctx.tx,
                ctx.tenant_id,
                grace=timedelta(days=get_settings().tenant_deletion_grace_days),
                actor_type=ctx.principal.kind,
                actor_id=ctx.principal.actor_id,
                ip=ctx.ip,
                request_id=ctx.request_id,
            )
        except DeletionError as exc:
            raise problem(409, str(exc)) from None
        return DeletionScheduled(status="closed", purge_after=purge_after)
