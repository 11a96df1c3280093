"""Care team members per patient and the caller's caseload; each read and write audited.

"Active" means the membership period covers today in the organization's time zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from core.audit.service import record
from core.care.tasks.service import local_today, tenant_time_zone, zone_named
from core.care.team.schemas import (
    CareTeamMember,
    CaseloadEntry,
    CaseloadPatient,
    MemberCreate,
    MemberUpdate,
)
from core.http.context import RequestContext
from core.http.partial import changed_fields

SELECT = """
select m.id, m.patient_id, m.user_id, m.practitioner_id, m.role, m.period_start, m.period_end,
       m.is_primary_coordinator, m.created_at, m.updated_at,
       coalesce(nullif(u.full_name, ''), u.email, p.given_name || ' ' || p.family_name, '') as display_name
from care_team_members m
left join users u on u.id = m.user_id
left join practitioners p on p.id = m.practitioner_id
"""


class MemberInputError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class PrimaryTakenError(Exception):
    """The patient already has a primary coordinator."""


async def org_today(ctx: RequestContext) -> date:
    zone = zone_named(await tenant_time_zone(ctx.tx, ctx.tenant_id))
    return local_today(zone, datetime.now(UTC))


def to_member(row: Any, today: date) -> CareTeamMember:
    return CareTeamMember(
        id=row["id"],
        patient_id=row["patient_id"],
        user_id=row["user_id"],
        practitioner_id=row["practitioner_id"],
        display_name=row["display_name"],
        role=row["role"],
        period_start=row["period_start"],
        period_end=row["period_end"],
        is_primary_coordinator=row["is_primary_coordinator"],
        active=row["period_start"] <= today and (row["period_end"] is None or row["period_end"] >= today),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def _primary_taken(ctx: RequestContext, patient_id: UUID, except_id: UUID | None = None) -> bool:
    return bool(
        await ctx.tx.fetchval(
            "select exists (select 1 from care_team_members where patient_id = $1 and is_primary_coordinator "
            "and id is distinct from $2)",
            patient_id,
            except_id,
        )
    )


async def _fetch(ctx: RequestContext, member_id: UUID) -> Any:
    return await ctx.tx.fetchrow(f"{SELECT} where m.id = $1", member_id)


async def list_members(ctx: RequestContext, patient_id: UUID) -> list[CareTeamMember]:
    rows = await ctx.tx.fetch(f"{SELECT} where m.patient_id = $1 order by m.period_start, m.created_at", patient_id)
    await record(
        ctx, "care_team.list", "patient", patient_id, {"count": len(rows), "resource_ids": [str(r["id"]) for r in rows]}
    )
    today = await org_today(ctx)
    return [to_member(r, today) for r in rows]


async def add_member(ctx: RequestContext, patient_id: UUID, data: MemberCreate) -> CareTeamMember:
    if data.user_id is not None and not await ctx.tx.fetchval(
        "select exists (select 1 from users where id = $1)", data.user_id
    ):
        raise MemberInputError("user_id", "no such user")
    if data.practitioner_id is not None and not await ctx.tx.fetchval(
        "select exists (select 1 from practitioners where id = $1)", data.practitioner_id
    ):
        raise MemberInputError("practitioner_id", "no such practitioner")
    today = await org_today(ctx)
    start = data.period_start or today
    if data.period_end is not None and data.period_end < start:
        raise MemberInputError("period_end", "period_end must not be before period_start")
    if data.is_primary_coordinator and await _primary_taken(ctx, patient_id):
        raise PrimaryTakenError
    member_id = await ctx.tx.fetchval(
        "insert into care_team_members (tenant_id, patient_id, user_id, practitioner_id, role, period_start, "
        "period_end, is_primary_coordinator) values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
        ctx.tenant_id,
        patient_id,
        data.user_id,
        data.practitioner_id,
        data.role,
        start,
        data.period_end,
        data.is_primary_coordinator,
    )
    await record(ctx, "care_team.add", "care_team_member", member_id, {"patient_id": str(patient_id)})
    return to_member(await _fetch(ctx, member_id), today)


async def update_member(
    ctx: RequestContext, patient_id: UUID, member_id: UUID, data: MemberUpdate
) -> CareTeamMember | None:
    current = await ctx.tx.fetchrow(
        "select user_id, period_start, period_end from care_team_members where id = $1 and patient_id = $2 for update",
        member_id,
        patient_id,
    )
    if current is None:
        return None
    changes = changed_fields(data)
    changes.pop("tenant_id", None)
    start = changes.get("period_start", current["period_start"])
    end = changes.get("period_end", current["period_end"])
    if end is not None and end < start:
        raise MemberInputError("period_end", "period_end must not be before period_start")
    if changes.get("is_primary_coordinator"):
        if current["user_id"] is None:
            raise MemberInputError("is_primary_coordinator", "the primary coordinator is a user")
        if await _primary_taken(ctx, patient_id, member_id):
            raise PrimaryTakenError
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=2))
    await ctx.tx.execute(
        f"update care_team_members set {sets + ', ' if sets else ''}updated_at = now() where id = $1",
        member_id,
        *changes.values(),
    )
    await record(
        ctx,
        "care_team.update",
        "care_team_member",
        member_id,
        {"patient_id": str(patient_id), "fields": sorted(changes)},
    )
    return to_member(await _fetch(ctx, member_id), await org_today(ctx))


async def remove_member(ctx: RequestContext, patient_id: UUID, member_id: UUID) -> bool:
    done = await ctx.tx.fetchval(
        "delete from care_team_members where id = $1 and patient_id = $2 returning id", member_id, patient_id
    )
    if done is None:
        return False
    await record(ctx, "care_team.remove", "care_team_member", member_id, {"patient_id": str(patient_id)})
    return True


async def caseload(ctx: RequestContext) -> list[CaseloadEntry]:
    """Patients (not deleted) on whose care team the caller is an active member, by family name."""
    today = await org_today(ctx)
    rows = await ctx.tx.fetch(
        "select m.id as member_id, m.role, m.is_primary_coordinator, m.period_start, m.period_end, "
        "p.id, p.mrn, p.given_name, p.family_name, p.birth_date "
        "from care_team_members m join patients p on p.id = m.patient_id and p.deleted_at is null "
        "where m.user_id = $1 and m.period_start <= $2 and (m.period_end is null or m.period_end >= $2) "
        "order by lower(p.family_name), lower(p.given_name), p.id, m.period_start",
        ctx.principal.actor_id,
        today,
    )
    await record(
        ctx,
        "caseload.read",
        "patient",
        None,
        {"count": len(rows), "resource_ids": sorted({str(r["id"]) for r in rows})},
    )
    return [
        CaseloadEntry(
            patient=CaseloadPatient(
                id=r["id"],
                mrn=r["mrn"],
                given_name=r["given_name"],
                family_name=r["family_name"],
                birth_date=r["birth_date"],
            ),
            member_id=r["member_id"],
            role=r["role"],
            is_primary_coordinator=r["is_primary_coordinator"],
            period_start=r["period_start"],
            period_end=r["period_end"],
        )
        for r in rows
    ]
