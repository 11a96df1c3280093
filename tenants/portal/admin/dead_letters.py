"""Dead letters: background jobs the workers gave up on, one's payload and error, and replaying it."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

from litestar import Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template

from core.portal.api import portal_api
from core.portal.rendering import render
from tenants.portal.admin.common import flash, requires

GUARDS = [requires("jobs:manage")]
DONE = {"replayed": "The job is queued again. A worker picks it up in a moment."}
SHOWN = {"waiting": "false", "replayed": "true"}


@get("/admin/dead-letters", guards=GUARDS)
async def dead_letters_page(
    request: Request[Any, Any, Any], show: Annotated[str | None, Parameter(max_length=20)] = None
) -> Template:
    chosen = show if show in SHOWN else "all"
    params = {"limit": 200, "replayed": SHOWN.get(chosen)}
    letters = await portal_api(request).get("/api/v1/admin/dead-letters", params)
    return await render(request, "tenants/admin/dead_letters.html", letters=letters, show=chosen)


@get("/admin/dead-letters/{dead_letter_id:uuid}", guards=GUARDS)
async def dead_letter_page(request: Request[Any, Any, Any], dead_letter_id: UUID, done: str | None = None) -> Template:
    letter = await portal_api(request).get(f"/api/v1/admin/dead-letters/{dead_letter_id}")  # foreign: 404 page
    return await render(
        request,
        "tenants/admin/dead_letter.html",
        letter=letter,
        payload=json.dumps(letter["payload"], indent=2, sort_keys=True, ensure_ascii=False),
        flash=flash(done, DONE),
    )


@post("/admin/dead-letters/{dead_letter_id:uuid}/replay", guards=GUARDS, status_code=303)
async def dead_letter_replay(request: Request[Any, Any, Any], dead_letter_id: UUID) -> Redirect:
    await portal_api(request).post(f"/api/v1/admin/dead-letters/{dead_letter_id}/replay")
    return Redirect(f"/portal/admin/dead-letters/{dead_letter_id}?done=replayed", status_code=303)


DEAD_LETTER_PAGES = [dead_letters_page, dead_letter_page, dead_letter_replay]
