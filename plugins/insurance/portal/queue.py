"""The prior-authorization queue: every request that needs someone, the nearest payer deadline first.

Needing action: drafts (to submit, or returned by the payer), requests the payer is reviewing or has
pended (watch the decision deadline, call the payer), and denials not yet appealed to the end (file the
appeal before its deadline). Decided approvals, cancellations and expiries have left the queue.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template

from core.portal.api import PortalApi, portal_api
from core.portal.display import patient_names, read_each
from core.portal.rendering import render
from core.portal.session import PortalUser, current_user
from plugins.insurance.appeals.states import FINAL as APPEAL_FINAL
from plugins.insurance.portal.views import STATUS_NAMES, deadline, is_denied, needs, services

AUTHORIZATIONS = "/api/v1/insurance/prior-authorizations"
APPEALS = "/api/v1/insurance/appeals"
QUEUE_LIMIT = 500


async def latest_appeals(api: PortalApi, authorization_ids: list[str]) -> dict[str, dict[str, Any]]:
    """``{authorization id: its latest appeal}`` for those that have one (lists are newest first)."""
    found = await read_each(api, (f"{APPEALS}?authorization_id={i}&limit=1" for i in authorization_ids))
    return {
        i: found[f"{APPEALS}?authorization_id={i}&limit=1"][0]
        for i in authorization_ids
        if found.get(f"{APPEALS}?authorization_id={i}&limit=1")
    }


class QueuePages(Controller):
    path = "/"

    @get("/prior-auths", name="insurance-prior-auths")
    async def queue(self, request: Request[Any, Any, Any]) -> Template:
        api = portal_api(request)
        user = current_user(request)
        assert isinstance(user, PortalUser)
        waiting = await api.get(AUTHORIZATIONS, {"status": ["draft", "submitted", "pended"], "limit": QUEUE_LIMIT})
        decided = await api.get(AUTHORIZATIONS, {"status": ["decided"], "limit": QUEUE_LIMIT})
        appeals = await latest_appeals(api, [a["id"] for a in decided if is_denied(a)])
        denied = [
            a
            for a in decided
            if is_denied(a) and (a["id"] not in appeals or appeals[a["id"]]["status"] not in APPEAL_FINAL)
        ]
        authorizations = [*waiting, *denied]
        patients = await patient_names(api, {a["patient_id"] for a in authorizations})
        coverages = await read_each(api, (f"/api/v1/insurance/coverages/{a['coverage_id']}" for a in authorizations))
        now = datetime.now(UTC)
        rows = []
        for authorization in authorizations:
            appeal = appeals.get(authorization["id"])
            coverage = coverages.get(f"/api/v1/insurance/coverages/{authorization['coverage_id']}") or {}
            rows.append(
                {
                    "id": authorization["id"],
                    "patient_id": authorization["patient_id"],
                    "patient": patients.get(authorization["patient_id"], ""),
                    "payer": (coverage.get("payer") or {}).get("name", ""),
                    "services": services(authorization),
                    "urgency": authorization["urgency"],
                    "status": "Denied" if is_denied(authorization) else STATUS_NAMES[authorization["status"]],
                    "needs": needs(authorization, appeal),
                    "deadline": deadline(authorization, appeal, user.time_zone, now),
                }
            )
        rows.sort(key=lambda r: (r["deadline"].sort_at is None, r["deadline"].sort_at or now))
        return await render(
            request,
            "insurance/queue.html",
            page_title="Prior authorizations",
            rows=rows,
            truncated=len(waiting) >= QUEUE_LIMIT,
        )
