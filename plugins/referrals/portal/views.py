"""How a referral reads on the portal: status names, the SLA clock as words, receivers' names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.portal.api import PortalApi
from core.portal.display import duration, local_time, parse_time, person_name, read_each

STATUS_NAMES = {"on_hold": "On hold"}
PRIORITY_BADGES = {"routine": "", "urgent": "warn", "asap": "warn", "stat": "bad"}
AT_RISK_STATES = frozenset({"at_risk", "breached"})
"""SLA states the board flags: near the target (at risk) or past it (breached)."""


def status_name(status: str) -> str:
    return STATUS_NAMES.get(status, status.replace("_", " ").capitalize())


@dataclass(frozen=True)
class SlaView:
    text: str
    badge: str = ""
    badge_class: str = ""
    due: str = ""
    at_risk: bool = False


def sla_view(sla: dict[str, Any] | None, zone: str) -> SlaView:
    """The clock in words: time left or overdue (business hours), with a text badge when it needs attention."""
    if not sla:
        return SlaView("No SLA clock")
    state = sla.get("state")
    left = sla.get("remaining_seconds")
    due = local_time(sla.get("due_at"), zone)
    if state == "not_started":
        return SlaView(f"Starts when sent ({sla['target_hours']:g} business hours)")
    if state == "paused":
        return SlaView("Paused while on hold", "Paused", "")
    if state == "met":
        return SlaView("Scheduled within the SLA", "SLA met", "ok")
    if state == "missed":
        return SlaView("Scheduled after the SLA deadline", "SLA missed", "bad")
    if state == "breached":
        return SlaView(f"Overdue by {duration(left or 0)}", "Overdue", "bad", due, at_risk=True)
    text = f"{duration(left or 0)} left" if left is not None else "Running"
    if state == "at_risk":
        return SlaView(text, "At risk", "warn", due, at_risk=True)
    return SlaView(text, "", "", due)


def age(created_at: str | None, now: datetime | None = None) -> str:
    created = parse_time(created_at)
    if created is None:
        return ""
    return duration(((now or datetime.now(UTC)) - created).total_seconds())


async def receiver_names(api: PortalApi, referrals: list[dict[str, Any]]) -> dict[str, str]:
    """``{practitioner or organization id: name}`` for every target the referrals name."""
    paths = [
        f"/api/v1/directory/practitioners/{r['target_practitioner_id']}"
        for r in referrals
        if r.get("target_practitioner_id")
    ]
    paths += [
        f"/api/v1/directory/organizations/{r['target_organization_id']}"
        for r in referrals
        if r.get("target_organization_id")
    ]
    found = await read_each(api, paths)
    names: dict[str, str] = {}
    for path, record in found.items():
        key = path.rsplit("/", 1)[-1]
        if record is None:
            names[key] = "(removed from the directory)"
        elif "name" in record:
            names[key] = str(record["name"])
        else:
            names[key] = person_name(record)
    return names


def receiver(referral: dict[str, Any], names: dict[str, str]) -> str:
    """The practitioner, at the organization when both are named."""
    practitioner = names.get(str(referral.get("target_practitioner_id")))
    organization = names.get(str(referral.get("target_organization_id")))
    if practitioner and organization:
        return f"{practitioner}, {organization}"
    return practitioner or organization or "(no receiver)"


async def directory_choices(api: PortalApi) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Practitioners and organizations accepting referrals, as ``(id, label)`` options (first 200 of each)."""
    params = {"accepts_referrals": "true", "limit": 200}
    practitioners = await api.get("/api/v1/directory/practitioners", params)
    organizations = await api.get("/api/v1/directory/organizations", params)
    return (
        [("", "(none)")] + [(p["id"], f"{person_name(p)} ({p['specialty']})") for p in practitioners["items"]],
        [("", "(none)")] + [(o["id"], o["name"]) for o in organizations["items"]],
    )
