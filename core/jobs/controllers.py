"""``/api/v1/admin/dead-letters``: failed background jobs of this organization, and their replay."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import Parameter

from core.auth.guards import requires_permission
from core.auth.permissions import Permission
from core.http.context import RequestContext, provide_context
from core.http.problems import problem
from core.jobs.dead_letters import DeadLetterOut, get_dead_letter, list_dead_letters, replay_dead_letter


class ReplayOut(msgspec.Struct, kw_only=True):
    dead_letter: DeadLetterOut
    outbox_id: UUID
    """The new outbox message; the relay publishes it once this request commits."""


class DeadLetterController(Controller):
    path = "/api/v1/admin/dead-letters"
    tags = ["jobs"]
    dependencies = {"ctx": Provide(provide_context)}
    guards = [requires_permission(Permission.JOBS_MANAGE)]

    @get("/", summary="Messages the workers gave up on, newest first")
    async def list_letters(
        self,
        ctx: RequestContext,
        actor: Annotated[str | None, Parameter(max_length=100)] = None,
        replayed: bool | None = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> list[DeadLetterOut]:
        return await list_dead_letters(ctx, actor_name=actor, replayed=replayed, limit=limit)

    @get("/{dead_letter_id:uuid}", summary="One dead letter, with its payload and last error")
    async def get_letter(self, ctx: RequestContext, dead_letter_id: UUID) -> DeadLetterOut:
        letter = await get_dead_letter(ctx, dead_letter_id)
        if letter is None:
            raise problem(404, "No such dead letter")
        return letter

    @post("/{dead_letter_id:uuid}/replay", status_code=202, summary="Queue the message again")
    async def replay(self, ctx: RequestContext, dead_letter_id: UUID) -> ReplayOut:
        replayed = await replay_dead_letter(ctx, dead_letter_id)
        if replayed is None:
            raise problem(404, "No such dead letter")
        letter, outbox_id = replayed
        return ReplayOut(dead_letter=letter, outbox_id=outbox_id)


ROUTES = [DeadLetterController]
