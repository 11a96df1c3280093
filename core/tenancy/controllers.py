"""Sign-up and the tenant's own settings."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, patch, post
from litestar.di import Provide
from litestar.status_codes import HTTP_200_OK

from core.audit.service import record
from core.auth.guards import requires_permission
from core.auth.permissions import Permission
from core.db.tenant import platform_transaction
from core.http.context import RequestContext, provide_context, request_origin
from core.http.partial import changed_fields
from core.http.problems import problem
from core.tenancy.plans import PLANS, Plan, TenantUsage, tenant_usage
from core.tenancy.schemas import SignupRequest, SignupResponse, TenantOut, TenantUpdate
from core.tenancy.service import SlugTakenError, complete_setup, get_tenant, sign_up, update_tenant


@post("/api/v1/signup", opt={"public": True}, tags=["tenancy"], summary="Sign up an organization")
async def signup(data: SignupRequest, request: Request[Any, Any, Any]) -> SignupResponse:
    """Create a tenant (in trial) and its owner in one transaction; a taken slug is 409."""
    ip, request_id = request_origin(request)
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
