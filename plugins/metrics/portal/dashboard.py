"""The metrics dashboard: one card per KPI with this period against its target, the last period, and a trend."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from litestar import Controller, Request, get
from litestar.response import Template

from core.portal.api import portal_api
from core.portal.rendering import render
from plugins.metrics.portal.charts import sparkline

Period = Literal["week", "month"]
STATUS = {"met": ("On target", "ok"), "missed": ("Off target", "bad")}


def figure(value: float | None, unit: str) -> str:
    """A metric's value as read aloud: ``82.5 %``, ``12.3 h``, ``4``; an em dash for no data."""
    if value is None:
        return "—"
    text = f"{value:,.0f}" if unit == "count" or float(value).is_integer() else f"{value:,.1f}"
    return f"{text} %" if unit == "%" else f"{text} h" if unit == "h" else text


def period_name(start: str | None, period: str) -> str:
    if not start:
        return ""
    day = date.fromisoformat(start)
    return f"{day:%B %Y}" if period == "month" else f"Week of {day.day} {day:%b %Y}"


def card(item: dict[str, Any], period: str) -> dict[str, Any]:
    unit = str(item.get("unit") or "")
    trend = item.get("trend") or []
    status, status_class = STATUS.get(item.get("status") or "", ("", ""))
    if not status and item.get("target") is not None:
        status = "No data yet"
    return {
        "name": item["name"],
        "title": item["description"],
        "category": item.get("category") or "Other",
        "current": figure(item["current"]["value"], unit),
        "current_period": f"{period_name(item['current'].get('period'), period)}, so far",
        "previous": figure(item["previous"]["value"], unit),
        "target": figure(item.get("target"), unit) if item.get("target") is not None else "",
        "better": "lower is better" if item.get("better") == "lower" else "higher is better",
        "status": status,
        "status_class": status_class,
        "chart": sparkline([p.get("value") for p in trend], item.get("target")),
        "points": [(period_name(p.get("period"), period), figure(p.get("value"), unit)) for p in trend],
    }


class DashboardPages(Controller):
    path = "/"

    @get("/dashboard", name="metrics-dashboard")
    async def dashboard(self, request: Request[Any, Any, Any], period: Period = "week") -> Template:
        body = await portal_api(request).get("/api/v1/metrics/dashboard", {"period": period})
        cards = [card(item, period) for item in body["items"]]
        categories: dict[str, list[dict[str, Any]]] = {}
        for one in cards:
            categories.setdefault(one["category"], []).append(one)
        return await render(
            request,
            "metrics/dashboard.html",
            page_title="Metrics dashboard",
            period=period,
            categories=categories,
            time_zone=body.get("time_zone", ""),
        )
