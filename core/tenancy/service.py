"""Tenant lifecycle: sign-up (tenant + owner, atomically), reads, settings, status."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from core.audit.service import append_event, start_chain
from core.auth.passwords import hash_password
from core.db.tenant import Tx
from core.tenancy.schemas import BusinessHours, OwnerOut, SignupRequest, SignupResponse, TenantOut, TenantStatus

_TENANT_COLUMNS = (
    "id, slug, name, status, plan, time_zone, mfa_required, business_hours, setup_completed_at, created_at"
)


class SlugTakenError(Exception):
    """Another organization already uses the slug."""


def tenant_out(row: Any) -> TenantOut:
    values = {k: row[k] for k in TenantOut.__struct_fields__}
    values["business_hours"] = msgspec.json.decode(row["business_hours"], type=BusinessHours)
    return TenantOut(**values)


async def sign_up(
    tx: Tx,
    request: SignupRequest,
    *,
    ip: str | None = None,
    request_id: str | None = None,
    status: TenantStatus = "trial",
) -> SignupResponse:
    """Create a tenant and its owner in ``tx`` (a platform transaction).

    With ``request.verify_email`` the owner is ``pending``, the organization requires MFA, and the
    link that activates the owner is e-mailed in the same transaction (core/auth/user_tokens.py).
    """
    try:
        async with tx.connection.transaction():  # savepoint: a taken slug leaves tx usable
            tenant = await tx.fetchrow(
                f"insert into tenants (slug, name, plan, time_zone, status, mfa_required) "
                f"values ($1, $2, $3, $4, $5, $6) returning {_TENANT_COLUMNS}",
                request.slug,
                request.organization_name,
                request.plan,
                request.time_zone,
                status,
                request.verify_email,
            )
    except asyncpg.UniqueViolationError:
        raise SlugTakenError(request.slug) from None
    await tx.set_tenant(tenant["id"])
    await start_chain(tx, tenant["id"])
    owner = await tx.fetchrow(
        "insert into users (tenant_id, email, full_name, role, password_hash, status) "
        "values ($1, $2, $3, 'owner', $4, $5) returning id, email, role",
        tenant["id"],
        request.owner_email,
        request.owner_name,
        hash_password(request.owner_password),
        "pending" if request.verify_email else "active",
    )
    await append_event(
        tx,
        tenant_id=tenant["id"],
        actor_type="system",
        actor_id=None,
        action="tenant.signup",
        resource_type="tenant",
        resource_id=tenant["id"],
        ip=ip,
        request_id=request_id,
        details={"owner_id": str(owner["id"]), "plan": request.plan}
        | ({"verify_email": True} if request.verify_email else {}),
    )
    if request.verify_email:
        from core.auth.user_tokens import send_verification

        await send_verification(tx, tenant["id"], owner["id"], ip=ip, request_id=request_id)
    return SignupResponse(tenant=tenant_out(tenant), owner=OwnerOut(**dict(owner)))


async def get_tenant(tx: Tx, tenant_id: UUID) -> TenantOut | None:
    row = await tx.fetchrow(f"select {_TENANT_COLUMNS} from tenants where id = $1", tenant_id)
    return tenant_out(row) if row else None


async def find_by_slug(tx: Tx, slug: str) -> Any:
    return await tx.fetchrow("select id, status, mfa_required from tenants where slug = $1", slug)


async def update_tenant(tx: Tx, tenant_id: UUID, changes: dict[str, Any]) -> TenantOut:
    allowed = {"name", "time_zone", "mfa_required", "status", "plan", "business_hours"}
    fields = {k: v for k, v in changes.items() if k in allowed}
    if "business_hours" in fields:
        fields["business_hours"] = msgspec.json.encode(fields["business_hours"]).decode()
    if fields:
        assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(fields, start=2))
        await tx.execute(
            f"update tenants set {assignments}, updated_at = now() where id = $1",
            tenant_id,
            *fields.values(),
        )
    tenant = await get_tenant(tx, tenant_id)
    assert tenant is not None
    return tenant


async def complete_setup(tx: Tx, tenant_id: UUID) -> bool:
    """Mark the guided setup finished; False when it already was (the first time stands)."""
    done = await tx.fetchval(
        "update tenants set setup_completed_at = now(), updated_at = now() "
        "where id = $1 and setup_completed_at is null returning setup_completed_at",
        tenant_id,
    )
    return done is not None


async def list_tenants(tx: Tx) -> list[TenantOut]:
    rows = await tx.fetch(f"select {_TENANT_COLUMNS} from tenants order by slug")
    return [tenant_out(r) for r in rows]
