"""The referral board: open referrals in one column per status, SLA countdown, at-risk cards flagged.

The board refreshes itself every 30 s (a passive request: watching the board is not activity that keeps
a session alive). Filters are plain GET parameters without patient data (``show``, ``at_risk``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from litestar import Controller, Request, get
from litestar.response import Template

from core.portal.api import portal_api
from core.portal.display import local_time, patient_names
from core.portal.rendering import render, render_without_menu
from core.portal.session import PortalUser, current_user
from plugins.referrals.portal.views import (
    AT_RISK_STATES,
    PRIORITY_BADGES,
    age,
    receiver,
    receiver_names,
    sla_view,
    status_name,
)
from plugins.referrals.states import STATUSES

REFERRALS = "/api/v1/referrals"
COLUMNS = tuple(s for s in STATUSES if s not in ("cancelled", "replaced"))
"""The lifecycle's statuses in order, without the withdrawals (cancelled, replaced by a re-route)."""
OPEN = [s for s in COLUMNS if s != "closed"]
BOARD_LIMIT = 500
CLOSED_SHOWN = 20
"""Closed referrals on the board: the most recent ones only (the loop is done)."""
Show = Literal["all", "mine"]


async def board_columns(request: Request[Any, Any, Any], show: Show, at_risk: bool) -> dict[str, Any]:
    api = portal_api(request)
    user = current_user(request)
    assert isinstance(user, PortalUser)
    mine = {"coordinator_id": str(user.user_id)} if show == "mine" else {}
    referrals = list(await api.get(REFERRALS, {"status": OPEN, "limit": BOARD_LIMIT, **mine}))
    truncated = len(referrals) >= BOARD_LIMIT
    referrals += await api.get(REFERRALS, {"status": ["closed"], "limit": CLOSED_SHOWN, **mine})
    if at_risk:
        referrals = [r for r in referrals if (r.get("sla") or {}).get("state") in AT_RISK_STATES]
    patients = await patient_names(api, {r["patient_id"] for r in referrals})
    receivers = await receiver_names(api, referrals)
    now = datetime.now(UTC)
    cards: dict[str, list[dict[str, Any]]] = {status: [] for status in COLUMNS}
    for referral in referrals:
        sla = sla_view(referral.get("sla"), user.time_zone)
        cards[referral["status"]].append(
            {
                "id": referral["id"],
                "patient_id": referral["patient_id"],
                "patient": patients.get(referral["patient_id"], ""),
                "specialty": referral["specialty"],
                "receiver": receiver(referral, receivers),
                "priority": referral["priority"],
                "priority_class": PRIORITY_BADGES.get(referral["priority"], ""),
                "age": age(referral["created_at"], now),
                "sla": sla,
                "left": (referral.get("sla") or {}).get("remaining_seconds"),
            }
        )
    for column in cards.values():
        column.sort(key=lambda c: (not c["sla"].at_risk, c["left"] is None, c["left"] or 0))
    return {
        "columns": [(status, status_name(status), cards[status]) for status in COLUMNS],
        "at_risk_count": sum(c["sla"].at_risk for column in cards.values() for c in column),
        "truncated": truncated,
        "show": show,
        "at_risk": at_risk,
        "refresh_query": f"show={show}" + ("&at_risk=true" if at_risk else ""),
        "updated": local_time(now, user.time_zone, with_day=False),
    }


class BoardPages(Controller):
    path = "/"

    @get("/board", name="referrals-board")
    async def board(self, request: Request[Any, Any, Any], show: Show = "all", at_risk: bool = False) -> Template:
        context = await board_columns(request, show, at_risk)
        return await render(request, "referrals/board.html", page_title="Referral board", **context)

    @get("/board/cards", opt={"passive": True}, name="referrals-board-cards")
    async def board_cards(self, request: Request[Any, Any, Any], show: Show = "all", at_risk: bool = False) -> Template:
        """The board's columns alone, for the 30-second refresh."""
        context = await board_columns(request, show, at_risk)
        return render_without_menu(request, "referrals/_board.html", **context)
