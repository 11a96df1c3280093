"""Recording a payer's decision, whether it came back in a 278 or by phone, portal or fax.

Line decisions are merged into the lines (a line left out keeps what it had), the overall
decision is derived from all of them, and the lifecycle says which status that leads to. The
row, its lines, a transition (when the status changes) and an audit event are written together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from core.payers.messages import DECISIONS, AuthorizationResponse
from core.plugins.sdk import PluginContext
from plugins.insurance.authorizations import states
from plugins.insurance.authorizations.checks import InvalidAuthorizationError
from plugins.insurance.authorizations.records import COLUMNS, log_transition
from plugins.insurance.authorizations.schemas import DecisionIn


@dataclass(frozen=True)
class LineResult:
    """The payer's decision on one of our lines."""

    line: int
    decision: str
    approved_units: int | None = None
    authorization_number: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    reason_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """A decision on (some of) the lines and what the payer said about the whole request."""

    lines: tuple[LineResult, ...]
    authorization_number: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    payer_reference: str | None = None
    reason: str | None = None


def from_response(response: AuthorizationResponse, line_numbers: Sequence[int]) -> Outcome | None:
    """Our lines' decisions in a payer's 278 answer; None when it decides none of them.

    A line the answer does not mention takes the review-level action, when the payer gave one.
    """
    by_line = {d.line: d for d in response.lines}
    results = []
    for number in line_numbers:
        found = by_line.get(number)
        if found is not None:
            results.append(
                LineResult(
                    line=number,
                    decision=found.decision,
                    approved_units=found.approved_units,
                    authorization_number=found.authorization_number,
                    valid_from=found.valid_from,
                    valid_to=found.valid_to,
                    reason_codes=tuple(found.reason_codes),
                )
            )
        elif response.action is not None:
            results.append(LineResult(line=number, decision=DECISIONS[response.action]))
    if not results:
        return None
    return Outcome(
        lines=tuple(results),
        authorization_number=response.authorization_number,
        valid_from=response.valid_from,
        valid_to=response.valid_to,
        payer_reference=response.trace_number,
    )


def from_input(data: DecisionIn, line_rows: Sequence[Any]) -> Outcome:
    """A decision a coordinator recorded, checked against the request's lines.

    Raises InvalidAuthorizationError naming each offending field.
    """
    units = {row["line_number"]: row["units"] for row in line_rows}
    errors: list[dict[str, str]] = []
    results: list[LineResult] = []
    seen: set[int] = set()
    for index, given in enumerate(data.lines):
        key = f"lines[{index}]"
        if given.line not in units:
            errors.append({"key": f"{key}.line", "message": f"the request has no line {given.line}"})
            continue
        if given.line in seen:
            errors.append({"key": f"{key}.line", "message": f"line {given.line} is given twice"})
            continue
        seen.add(given.line)
        approved = given.approved_units
        if given.decision in ("certified", "modified") and approved is None:
            approved = units[given.line]
        if given.decision == "partially_certified" and approved is None:
            errors.append({"key": f"{key}.approved_units", "message": "a partial certification says how many units"})
        if given.decision == "not_certified":
            approved = 0 if approved is None else approved
        if approved is not None and given.decision in states.APPROVING and approved > units[given.line]:
            errors.append({"key": f"{key}.approved_units", "message": "more units than were asked for"})
        if given.decision in states.APPROVING:
            if not (given.authorization_number or data.authorization_number):
                errors.append({"key": f"{key}.authorization_number", "message": "an approval has a number"})
            if not (given.valid_to or data.valid_to):
                errors.append({"key": f"{key}.valid_to", "message": "an approval says until when it is valid"})
        start, end = given.valid_from or data.valid_from, given.valid_to or data.valid_to
        if start and end and end < start:
            errors.append({"key": f"{key}.valid_to", "message": "valid_to is before valid_from"})
        results.append(
            LineResult(
                line=given.line,
                decision=given.decision,
                approved_units=approved,
                authorization_number=given.authorization_number or data.authorization_number,
                valid_from=start,
                valid_to=end,
                reason_codes=tuple(c.upper() for c in given.reason_codes),
            )
        )
    if errors:
        raise InvalidAuthorizationError(errors)
    reason = f"decision received by {data.channel}" + (f": {data.note}" if data.note else "")
    return Outcome(
        lines=tuple(results),
        authorization_number=data.authorization_number,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        payer_reference=data.payer_reference,
        reason=reason,
    )


def merged(line_rows: Sequence[Any], outcome: Outcome) -> dict[int, str | None]:
    """Each line's decision once ``outcome`` is applied."""
    decisions: dict[int, str | None] = {row["line_number"]: row["decision"] for row in line_rows}
    for result in outcome.lines:
        decisions[result.line] = result.decision
    return decisions


def plan(row: Any, line_rows: Sequence[Any], outcome: Outcome) -> tuple[str, states.Status]:
    """The overall decision and the status it leads to; raises InvalidAuthorizationError or IllegalMoveError."""
    decisions = merged(line_rows, outcome)
    undecided = sorted(number for number, decision in decisions.items() if decision is None)
    if undecided:
        listed = ", ".join(str(n) for n in undecided)
        raise InvalidAuthorizationError([{"key": "lines", "message": f"no decision yet for line(s) {listed}"}])
    overall = states.overall_decision(d for d in decisions.values() if d is not None)
    return overall, states.after_decision(row["status"], overall)


def _span(outcome: Outcome) -> tuple[date | None, date | None]:
    approving = [r for r in outcome.lines if r.decision in states.APPROVING]
    starts = [r.valid_from for r in approving if r.valid_from]
    ends = [r.valid_to for r in approving if r.valid_to]
    return (outcome.valid_from or min(starts, default=None), outcome.valid_to or max(ends, default=None))


async def apply(ctx: PluginContext, row: Any, line_rows: Sequence[Any], outcome: Outcome) -> Any:
    """Write the decision; the updated row. ``row`` must be locked by the caller."""
    overall, target = plan(row, line_rows, outcome)
    now = datetime.now(UTC)
    for result in outcome.lines:
        await ctx.tx.execute(
            "update prior_authorization_lines set decision = $3, action_code = $4, approved_units = $5, "
            "authorization_number = $6, valid_from = $7, valid_to = $8, reason_codes = $9, decided_at = $10 "
            "where authorization_id = $1 and line_number = $2",
            row["id"],
            result.line,
            result.decision,
            states.ACTION_CODES[result.decision],
            result.approved_units,
            result.authorization_number,
            result.valid_from,
            result.valid_to,
            list(result.reason_codes),
            now,
        )
    numbers = [r.authorization_number for r in outcome.lines if r.authorization_number]
    valid_from, valid_to = _span(outcome)
    closes = target in ("decided", "cancelled")
    updated = await ctx.tx.fetchrow(
        "update prior_authorizations set status = $2, decision = $3, "
        "authorization_number = coalesce($4, authorization_number), valid_from = coalesce($5, valid_from), "
        "valid_to = coalesce($6, valid_to), payer_reference = coalesce($7, payer_reference), "
        "decided_at = case when $8 then $9 else decided_at end, last_error = null, "
        "status_reason = coalesce($10, status_reason), updated_at = now() "
        f"where id = $1 returning {COLUMNS}",
        row["id"],
        target,
        overall,
        outcome.authorization_number or (numbers[0] if numbers else None),
        valid_from,
        valid_to,
        outcome.payer_reference,
        closes,
        now,
        outcome.reason,
    )
    if target != row["status"]:
        await log_transition(ctx, row["id"], row["status"], target, outcome.reason or f"payer decision: {overall}")
    details = {
        "patient_id": str(row["patient_id"]),
        "from": row["status"],
        "to": target,
        "decision": overall,
        "lines": {str(r.line): r.decision for r in outcome.lines},
    }
    await ctx.audit("insurance.authorization_decision", "prior_authorization", row["id"], details)
    return updated
