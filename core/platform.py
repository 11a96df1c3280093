"""Platform operations run by operators (CLI), never by tenants: an explicit, audited path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any
from uuid import UUID

from core.audit.service import append_event
from core.audit.verify import ChainReport, verify_chain
from core.auth.passwords import hash_password
from core.auth.permissions import Permission, Role
from core.auth.principal import Principal
from core.db.engine import close_pool, start_pool
from core.db.tenant import platform_transaction, tenant_transaction
from core.http.context import RequestContext
from core.patients.schemas import Channel, CommunicationPreferences, PatientCreate
from core.patients.service import create_patient
from core.plugins.context import PluginContext
from core.tenancy.schemas import SignupRequest, TenantOut, TenantStatus
from core.tenancy.service import SlugTakenError, list_tenants, sign_up, update_tenant

DEMO_SLUG = "demo"
DEMO_EMAIL = "owner@demo.example"
DEMO_PASSWORD = "carecoord-demo-2026"


@asynccontextmanager
async def pool() -> AsyncIterator[None]:
    await start_pool(4)
    try:
        yield
    finally:
        await close_pool()


async def tenant_id_for(slug: str) -> UUID:
    async with platform_transaction() as tx:
        tenant_id = await tx.fetchval("select id from tenants where slug = $1", slug)
    if tenant_id is None:
        raise LookupError(f"no tenant with slug {slug!r}")
    return UUID(str(tenant_id))


async def create_tenant(request: SignupRequest, status: TenantStatus = "active") -> TenantOut:
    async with platform_transaction() as tx:
        return (await sign_up(tx, request, status=status)).tenant


async def tenants() -> list[TenantOut]:
    async with platform_transaction() as tx:
        return await list_tenants(tx)


async def set_tenant_status(slug: str, status: TenantStatus) -> TenantOut:
    tenant_id = await tenant_id_for(slug)
    async with tenant_transaction(tenant_id) as tx:
        tenant = await update_tenant(tx, tenant_id, {"status": status})
        await append_event(
            tx,
            tenant_id=tenant_id,
            actor_type="system",
            actor_id=None,
            action="tenant.status",
            resource_type="tenant",
            resource_id=tenant_id,
            details={"status": status},
        )
        return tenant


async def create_user(slug: str, email: str, password: str, role: Role, full_name: str = "") -> UUID:
    tenant_id = await tenant_id_for(slug)
    async with tenant_transaction(tenant_id) as tx:
        user_id = await tx.fetchval(
            "insert into users (tenant_id, email, full_name, role, password_hash) "
            "values ($1, $2, $3, $4, $5) returning id",
            tenant_id,
            email,
            full_name,
            role.value,
            hash_password(password),
        )
        await append_event(
            tx,
            tenant_id=tenant_id,
            actor_type="system",
            actor_id=None,
            action="user.create",
            resource_type="user",
            resource_id=user_id,
            details={"role": role.value, "via": "cli"},
        )
        return UUID(str(user_id))


async def verify_audit(slug: str | None = None) -> list[ChainReport]:
    ids = [await tenant_id_for(slug)] if slug else [t.id for t in await tenants()]
    reports = []
    for tenant_id in ids:
        async with tenant_transaction(tenant_id) as tx:
            reports.append(await verify_chain(tx, tenant_id))
    return reports


_DEMO_PATIENTS: list[tuple[str, str, str, date, str, list[Channel], str, bool]] = [
    ("DEMO-0001", "Maria", "Garcia", date(1958, 3, 14), "+1 555 010 0001", ["sms", "voice"], "es", True),
    ("DEMO-0002", "James", "Okafor", date(1971, 11, 2), "+1 555 010 0002", ["email"], "en", False),
    ("DEMO-0003", "Linh", "Nguyen", date(1990, 6, 27), "+1 555 010 0003", ["sms"], "vi", True),
]


async def seed_demo() -> bool:
    """Create the demo tenant with an owner and three patients; False if it exists."""
    try:
        tenant = await create_tenant(
            SignupRequest(
                organization_name="Demo Community Clinic",
                slug=DEMO_SLUG,
                owner_email=DEMO_EMAIL,
                owner_password=DEMO_PASSWORD,
                owner_name="Demo Owner",
                time_zone="America/Chicago",
            )
        )
    except SlugTakenError:
        return False
    system = Principal(
        tenant_id=tenant.id, actor_id=UUID(int=0), kind="system", role=None, permissions=frozenset(Permission)
    )
    async with tenant_transaction(tenant.id) as tx:
        ctx = RequestContext(tx=tx, principal=system, ip=None, request_id="seed-demo")
        for mrn, given, family, born, phone, channels, language, interpreter in _DEMO_PATIENTS:
            await create_patient(
                ctx,
                PatientCreate(
                    mrn=mrn,
                    given_name=given,
                    family_name=family,
                    birth_date=born,
                    phone=phone,
                    communication=CommunicationPreferences(
                        channels=channels,
                        language=language,
                        interpreter_needed=interpreter,
                    ),
                ),
            )
        await seed_modules(ctx)
        # the demo organization is ready to use: its owner goes straight to the worklist
        await tx.execute("update tenants set setup_completed_at = now() where id = $1", tenant.id)
    return True


async def seed_modules(ctx: RequestContext) -> None:
    """Enable each module that has demo data for the demo tenant, then let it add its records."""
    import msgspec

    from core.plugins.dispatch import call_isolated
    from core.plugins.manager import get_host
    from core.plugins.tenant_modules import default_settings

    host = get_host()
    for impl in host.pm.hook.seed_demo_data.get_hookimpls():
        module = host.module_of(impl.plugin_name)
        if module is None:
            continue
        settings = default_settings(host.modules[module])
        stored = msgspec.json.encode(msgspec.to_builtins(settings) if settings is not None else {}).decode()
        await ctx.tx.execute(
            "insert into tenant_modules (tenant_id, module, enabled, settings) values ($1, $2, true, $3::jsonb) "
            "on conflict (tenant_id, module) do nothing",
            ctx.tenant_id,
            module,
            stored,
        )
        await ctx.tx.execute("update tenants set modules_version = modules_version + 1 where id = $1", ctx.tenant_id)
        plugin_ctx = PluginContext(
            module=module, tx=ctx.tx, principal=ctx.principal, settings=settings, request_id=ctx.request_id,
            plugins=host,
        )  # fmt: skip
        await call_isolated(host, plugin_ctx, "seed_demo_data", impl, {})


def describe(report: ChainReport) -> dict[str, Any]:
    return {"tenant_id": str(report.tenant_id), "events": report.events, "ok": report.ok, "problems": report.problems}
