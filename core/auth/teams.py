"""Teams of staff: ``/api/v1/teams``. Users join one with ``PATCH /api/v1/users/{id}`` (``team_id``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from litestar import Controller, delete, get, patch, post
from litestar.di import Provide
from litestar.status_codes import HTTP_204_NO_CONTENT

from core.audit.service import record
from core.auth.guards import requires_permission
from core.auth.permissions import Permission
from core.auth.schemas import TeamIn, TeamOut
from core.http.context import RequestContext, provide_context
from core.http.problems import problem

_TEAM = (
    "select t.id, t.name, t.created_at, (select count(*) from users u where u.team_id = t.id) as members from teams t"
)


def _team(row: Any) -> TeamOut:
    return TeamOut(id=row["id"], name=row["name"], members=row["members"], created_at=row["created_at"])


class TeamController(Controller):
    path = "/api/v1/teams"
    tags = ["users"]
    dependencies = {"ctx": Provide(provide_context)}

    @get("/", guards=[requires_permission(Permission.USERS_READ)], summary="List teams with their member counts")
    async def list_teams(self, ctx: RequestContext) -> list[TeamOut]:
        return [_team(r) for r in await ctx.tx.fetch(f"{_TEAM} order by lower(t.name)")]

    @post("/", guards=[requires_permission(Permission.USERS_MANAGE)], summary="Add a team")
    async def create(self, ctx: RequestContext, data: TeamIn) -> TeamOut:
        team_id = await self._save(ctx, "insert into teams (tenant_id, name) values ($1, $2) returning id", data)
        await record(ctx, "team.create", "team", team_id, {"name": data.name.strip()})
        return _team(await ctx.tx.fetchrow(f"{_TEAM} where t.id = $1", team_id))

    @patch("/{team_id:uuid}", guards=[requires_permission(Permission.USERS_MANAGE)], summary="Rename a team")
    async def rename(self, ctx: RequestContext, team_id: UUID, data: TeamIn) -> TeamOut:
        found = await self._save(
            ctx, "update teams set name = $2, updated_at = now() where id = $1 returning id", data, team_id
        )
        if found is None:
            raise problem(404, "No such team")
        await record(ctx, "team.update", "team", team_id, {"name": data.name.strip()})
        return _team(await ctx.tx.fetchrow(f"{_TEAM} where t.id = $1", team_id))

    @delete(
        "/{team_id:uuid}",
        guards=[requires_permission(Permission.USERS_MANAGE)],
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete a team (its members keep their accounts, without a team)",
    )
    async def remove(self, ctx: RequestContext, team_id: UUID) -> None:
        await ctx.tx.execute("update users set team_id = null, updated_at = now() where team_id = $1", team_id)
        if await ctx.tx.fetchval("delete from teams where id = $1 returning id", team_id) is None:
            raise problem(404, "No such team")
        await record(ctx, "team.delete", "team", team_id, {})

    @staticmethod
    async def _save(ctx: RequestContext, sql: str, data: TeamIn, team_id: UUID | None = None) -> UUID | None:
        first = team_id if team_id is not None else ctx.tenant_id
        try:
            async with ctx.tx.connection.transaction():  # savepoint: a taken name leaves the tx usable
                found = await ctx.tx.fetchval(sql, first, data.name.strip())
        except asyncpg.UniqueViolationError:
            raise problem(409, f"A team named {data.name.strip()!r} exists", errors=[{"field": "name"}]) from None
        return found if found is None else UUID(str(found))
