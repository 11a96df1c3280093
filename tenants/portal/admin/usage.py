"""Plan and usage: the organization's plan, its limits, and how much of each is used."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, get
from litestar.response import Template

from core.portal.api import portal_api
from core.portal.rendering import render
from tenants.portal.admin.common import requires

GUARDS = [requires("tenant:manage")]
NEAR = 0.8
"""From this share of a limit on, the page warns."""


@dataclass(frozen=True)
class Gauge:
    name: str
    title: str
    used: int
    limit: int | None

    @property
    def share(self) -> float:
        return self.used / self.limit if self.limit else 0.0

    @property
    def percent(self) -> int:
        return round(self.share * 100)

    @property
    def level(self) -> str:
        """``ok``, ``warn`` (near the limit) or ``bad`` (at or over it)."""
        if self.limit is None:
            return "ok"
        if self.used >= self.limit:
            return "bad"
        return "warn" if self.share >= NEAR else "ok"


@get("/admin/usage", guards=GUARDS)
async def usage_page(request: Request[Any, Any, Any]) -> Template:
    api = portal_api(request)
    usage = await api.get("/api/v1/tenant/usage")
    plans = await api.get("/api/v1/plans")
    plan = next((p for p in plans if p["id"] == usage["plan"]), None)
    gauges = [
        Gauge(name, title, int(usage["usage"][name]), usage["limits"].get(name))
        for name, title in (("users", "Users (active and invited)"), ("patients", "Patient records"))
    ]
    return await render(
        request,
        "tenants/admin/usage.html",
        usage=usage,
        plan=plan,
        plans=plans,
        gauges=gauges,
        warning=any(g.level != "ok" for g in gauges),
    )


USAGE_PAGES = [usage_page]
