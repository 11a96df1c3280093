"""The plan catalogue, what an organization uses of its plan, and the users limit.

Plans are code, not data: three tiers with their limits. ``None`` means unlimited. An organization
whose ``plan`` is not in the catalogue (set by an operator) has no limits.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from core.db.tenant import Tx
from core.http.problems import problem

COUNTED_USER_STATUSES = ("active", "pending")
"""Users who count against the plan: everyone who can log in or is about to; disabled users do not."""


class PlanLimits(msgspec.Struct, kw_only=True, frozen=True):
    users: int | None
    """Active and pending users; null: unlimited."""
    patients: int | None
    """Patient records that are not deleted; null: unlimited."""


class Plan(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    name: str
    monthly_price: str
    description: str
    limits: PlanLimits


class PlanUsage(msgspec.Struct, kw_only=True):
    users: int
    patients: int
    modules_enabled: int


class TenantUsage(msgspec.Struct, kw_only=True):
    plan: str
    limits: PlanLimits
    usage: PlanUsage


PLANS: tuple[Plan, ...] = (
    Plan(
        id="starter",
        name="Starter",
        monthly_price="$49 per month",
        description="For a single practice getting its care coordination out of spreadsheets.",
        limits=PlanLimits(users=5, patients=1000),
    ),
    Plan(
        id="professional",
        name="Professional",
        monthly_price="$399 per month",
        description="For growing clinics and care teams with several coordinators and sites.",
        limits=PlanLimits(users=50, patients=25000),
    ),
    Plan(
        id="enterprise",
        name="Enterprise",
        monthly_price="Contact sales",
        description="For health systems: no limits on users or patients, with integration support.",
        limits=PlanLimits(users=None, patients=None),
    ),
)
_BY_ID = {plan.id: plan for plan in PLANS}
UNLIMITED = PlanLimits(users=None, patients=None)


def plan_named(plan_id: str) -> Plan | None:
    return _BY_ID.get(plan_id)


def limits_of(plan_id: str) -> PlanLimits:
    plan = plan_named(plan_id)
    return plan.limits if plan is not None else UNLIMITED


async def tenant_usage(tx: Tx, tenant_id: UUID) -> TenantUsage:
    row = await tx.fetchrow(
        "select t.plan, "
        "(select count(*) from users where status = any($2::varchar[])) as users, "
        "(select count(*) from patients where deleted_at is null) as patients, "
        "(select count(*) from tenant_modules where enabled) as modules "
        "from tenants t where t.id = $1",
        tenant_id,
        list(COUNTED_USER_STATUSES),
    )
    return TenantUsage(
        plan=row["plan"],
        limits=limits_of(row["plan"]),
        usage=PlanUsage(users=row["users"], patients=row["patients"], modules_enabled=row["modules"]),
    )


async def check_user_limit(tx: Tx, tenant_id: UUID, adding: int = 1) -> None:
    """Refuse (403, ``errors`` key ``plan``) when ``adding`` more counted users would exceed the plan.

    Locks the tenant row, so two requests adding the last free seat at once cannot both succeed.
    """
    plan_id = await tx.fetchval("select plan from tenants where id = $1 for update", tenant_id)
    limit = limits_of(plan_id).users
    if limit is None:
        return
    counted = await tx.fetchval(
        "select count(*) from users where status = any($1::varchar[])", list(COUNTED_USER_STATUSES)
    )
    if counted + adding > limit:
        plan = plan_named(plan_id)
        message = f"The {plan.name if plan else plan_id} plan allows {limit} users"
        raise problem(403, message, errors=[{"key": "plan", "message": message}])
