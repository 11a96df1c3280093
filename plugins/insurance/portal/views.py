"""How a prior authorization reads on the portal: what it waits for, and its deadline in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from core.portal.display import duration, local_time, parse_time
from plugins.insurance.appeals.deadlines import filing_deadline
from plugins.insurance.appeals.states import FINAL as APPEAL_FINAL
from plugins.insurance.settings import InsuranceSettings

DEFAULTS = InsuranceSettings()
"""The badges use the module's default thresholds: 75 % of the payer's window, 14 days before filing."""
STATUS_NAMES = {
    "pended": "Pended by the payer",
    "submitted": "Submitted",
    "draft": "Draft",
    "decided": "Decided",
    "expired": "Expired",
    "cancelled": "Cancelled",
}
DECISION_NAMES = {
    "certified": "Certified",
    "partially_certified": "Partially certified",
    "not_certified": "Denied (not certified)",
    "pended": "Pended",
    "modified": "Certified with changes",
    "cancelled": "Cancelled",
    "contact_payer": "Call the payer",
}


@dataclass(frozen=True)
class Deadline:
    label: str
    when: str = ""
    text: str = ""
    badge: str = ""
    badge_class: str = ""
    sort_at: datetime | None = None


def is_denied(authorization: dict[str, Any]) -> bool:
    return authorization["status"] == "decided" and authorization.get("decision") == "not_certified"


def needs(authorization: dict[str, Any], appeal: dict[str, Any] | None) -> str:
    """What the authorization waits for, in a few words."""
    status = authorization["status"]
    if status == "draft":
        return "Returned by the payer: correct and submit again" if authorization.get("last_error") else "Submit"
    if status == "submitted":
        return "Waiting for the payer's decision"
    if status == "pended":
        if authorization.get("decision") == "contact_payer":
            return "Call the payer"
        return "Payer needs more information"
    if is_denied(authorization):
        if appeal is None:
            return "Denied: open an appeal"
        if appeal["status"] == "draft":
            return "Denied: file the appeal"
        return f"Appeal {appeal['status'].replace('_', ' ')}"
    return str(DECISION_NAMES.get(authorization.get("decision") or "", STATUS_NAMES.get(status, status)))


def _end_of(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(23, 59, 59), ZoneInfo(zone)).astimezone(UTC)


def deadline(
    authorization: dict[str, Any], appeal: dict[str, Any] | None, zone: str, now: datetime | None = None
) -> Deadline:
    """The payer's decision deadline while it reviews, the appeal's filing or decision date once denied."""
    now = now or datetime.now(UTC)
    status = authorization["status"]
    if status in ("submitted", "pended"):
        due = parse_time(authorization.get("decision_due_at"))
        submitted = parse_time(authorization.get("submitted_at"))
        if due is None:
            return Deadline("Payer decision due")
        left = (due - now).total_seconds()
        when = local_time(due, zone)
        if authorization.get("overdue") or left < 0:
            return Deadline("Payer decision due", when, f"overdue by {duration(left)}", "Overdue", "bad", due)
        window = (due - submitted).total_seconds() if submitted else 0.0
        elapsed = (now - submitted).total_seconds() if submitted else 0.0
        at_risk = window > 0 and elapsed >= DEFAULTS.deadline_at_risk_fraction * window
        return Deadline(
            "Payer decision due",
            when,
            f"in {duration(left)}",
            "Due soon" if at_risk else "",
            "warn" if at_risk else "",
            due,
        )
    if is_denied(authorization) and (appeal is None or appeal["status"] not in APPEAL_FINAL):
        if appeal is not None and appeal.get("decision_due_at"):
            due = parse_time(appeal["decision_due_at"])
            assert due is not None
            late = appeal.get("overdue") or due < now
            return Deadline(
                "Appeal decision due",
                local_time(due, zone),
                "overdue" if late else f"in {duration((due - now).total_seconds())}",
                "Overdue" if late else "",
                "bad" if late else "",
                due,
            )
        if appeal is not None:
            last_day = date.fromisoformat(appeal["filing_deadline"])
        else:
            decided = parse_time(authorization.get("decided_at")) or now
            last_day = filing_deadline(1, decided.astimezone(ZoneInfo(zone)).date())
        end = _end_of(last_day, zone)
        days = (end - now).total_seconds() / 86400
        if days < 0:
            return Deadline(
                "Appeal filing deadline",
                f"{last_day:%a} {last_day.day} {last_day:%b %Y}",
                "passed",
                "Deadline passed",
                "bad",
                end,
            )
        near = days <= DEFAULTS.appeal_warning_days
        return Deadline(
            "Appeal filing deadline",
            f"{last_day:%a} {last_day.day} {last_day:%b %Y}",
            f"in {duration(end.timestamp() - now.timestamp())}",
            "Due soon" if near else "",
            "warn" if near else "",
            end,
        )
    return Deadline("")


def services(authorization: dict[str, Any]) -> str:
    return ", ".join(
        f"{line['code']} ({line['units']} unit{'' if line['units'] == 1 else 's'})"
        for line in authorization.get("lines", [])
    )
