"""One prior authorization: lines, decisions, deadline and status history, with the actions the API offers.

Draft: submit to the payer, or cancel. Submitted or pended: record the payer's decision received by
phone, portal or fax (per line), or cancel. Denied: open an appeal, then file it. The API checks each
action again; its refusals show next to the fields concerned.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from core.portal.api import ApiError, portal_api
from core.portal.display import form_errors, local_time, patient_names, read_each
from core.portal.forms import drop_empty, form_fields
from core.portal.rendering import render
from core.portal.session import PortalUser, current_user
from plugins.insurance.authorizations.states import CANCELLABLE, LINE_DECISIONS
from plugins.insurance.permissions import WRITE
from plugins.insurance.portal.views import DECISION_NAMES, STATUS_NAMES, deadline, is_denied, needs

AUTHORIZATIONS = "/api/v1/insurance/prior-authorizations"
APPEALS = "/api/v1/insurance/appeals"
NOTICES = {
    "submitted": "Submitted to the payer: the decision clock is running.",
    "decision": "The payer's decision was recorded.",
    "cancelled": "The request was withdrawn. Tell the payer too: cancelling does not reach them.",
    "appeal": "An appeal was opened as a draft: add the arguments and file it before the deadline.",
    "filed": "The appeal was filed.",
}
CHANNELS = [("phone", "Phone"), ("portal", "Payer portal"), ("fax", "Fax"), ("mail", "Mail"), ("other", "Other")]
_LINE_KEY = re.compile(r"^lines\[(\d+)\]\.(\w+)$")


async def detail_context(request: Request[Any, Any, Any], authorization_id: UUID) -> dict[str, Any]:
    api = portal_api(request)
    user = current_user(request)
    assert isinstance(user, PortalUser)
    authorization = await api.get(f"{AUTHORIZATIONS}/{authorization_id}")
    history = await api.get(f"{AUTHORIZATIONS}/{authorization_id}/transitions")
    appeals = await api.get(APPEALS, {"authorization_id": str(authorization_id), "limit": 1})
    appeal = appeals[0] if appeals else None
    patients = await patient_names(api, [authorization["patient_id"]])
    coverage = (await read_each(api, [f"/api/v1/insurance/coverages/{authorization['coverage_id']}"])).popitem()[1]
    status = authorization["status"]
    may_write = user.can(WRITE)
    return {
        "authorization": authorization,
        "status": "Denied" if is_denied(authorization) else STATUS_NAMES.get(status, status),
        "decision": DECISION_NAMES.get(authorization.get("decision") or "", ""),
        "needs": needs(authorization, appeal),
        "deadline": deadline(authorization, appeal, user.time_zone),
        "patient": patients[authorization["patient_id"]],
        "payer": ((coverage or {}).get("payer") or {}).get("name", ""),
        "member_id": (coverage or {}).get("member_id", ""),
        "submitted": local_time(authorization.get("submitted_at"), user.time_zone),
        "history": [
            {
                "when": local_time(h["occurred_at"], user.time_zone),
                "from": STATUS_NAMES.get(h["from_status"] or "", ""),
                "to": STATUS_NAMES.get(h["to_status"], h["to_status"]),
                "reason": h.get("reason") or "",
                "by": "you"
                if h.get("actor_id") == str(user.user_id)
                else ("a colleague" if h["actor_type"] == "user" else "carecoord (payer exchange)"),
            }
            for h in history
        ],
        "line_decisions": [("", "(no decision yet)")] + [(d, DECISION_NAMES[d]) for d in LINE_DECISIONS],
        "channels": CHANNELS,
        "can_submit": may_write and status == "draft",
        "can_decide": may_write and status in ("submitted", "pended"),
        "can_cancel": may_write and status in CANCELLABLE,
        "can_appeal": may_write and is_denied(authorization) and appeal is None,
        "appeal": appeal,
        "appeal_filing": may_write and appeal is not None and appeal["status"] == "draft",
        "appeal_deadline": appeal["filing_deadline"] if appeal else "",
        "values": {},
        "errors": {},
    }


def decision_body(fields: dict[str, str], line_numbers: list[int]) -> tuple[dict[str, Any], list[int]]:
    """The decision as the API takes it, and the line number of each entry of ``lines``."""
    lines = []
    for number in line_numbers:
        decision = fields.get(f"decision_{number}", "")
        if decision:
            units = fields.get(f"units_{number}", "")
            lines.append(drop_empty({"line": number, "decision": decision, "approved_units": units}))
    body = {
        "lines": lines,
        **drop_empty(
            {
                "channel": fields.get("channel", ""),
                "authorization_number": fields.get("authorization_number", ""),
                "valid_from": fields.get("valid_from", ""),
                "valid_to": fields.get("valid_to", ""),
                "payer_reference": fields.get("payer_reference", ""),
                "note": fields.get("note", ""),
            }
        ),
    }
    return body, [line["line"] for line in lines]


def decision_errors(exc: ApiError, numbers: list[int]) -> dict[str, str]:
    """Per-line problems next to that line's inputs; approvals' number and validity on the shared fields."""
    errors: dict[str, str] = {}
    for error in exc.body.get("errors") or []:
        key = str(error.get("key") or error.get("field") or "") if isinstance(error, dict) else ""
        found = _LINE_KEY.match(key)
        message = str(error.get("message") or "invalid value") if isinstance(error, dict) else ""
        if found and int(found.group(1)) < len(numbers):
            number, name = numbers[int(found.group(1))], found.group(2)
            target = {
                "approved_units": f"units_{number}",
                "line": f"decision_{number}",
                "decision": f"decision_{number}",
            }.get(name, name)
            errors.setdefault(target, message)
    for name, message in form_errors(exc).items():
        errors.setdefault(name, message)
    return errors


class AuthorizationPages(Controller):
    path = "/"

    async def _page(
        self, request: Request[Any, Any, Any], authorization_id: UUID, status_code: int = 200, **extra: Any
    ) -> Template:
        context = await detail_context(request, authorization_id)
        context.update(extra)
        return await render(
            request, "insurance/detail.html", status_code=status_code, page_title="Prior authorization", **context
        )

    async def _act(
        self,
        request: Request[Any, Any, Any],
        authorization_id: UUID,
        path: str,
        body: dict[str, Any],
        done: str,
        fields: dict[str, str],
        errors_of: Any = form_errors,
    ) -> Any:
        try:
            await portal_api(request).post(path, body)
        except ApiError as exc:
            if exc.status not in (400, 409, 422):
                raise
            return await self._page(
                request,
                authorization_id,
                409 if exc.status == 409 else 422,
                values=fields,
                errors=errors_of(exc),
                error=exc.message,
            )
        return Redirect(f"/portal/insurance/prior-auths/{authorization_id}?done={done}", status_code=303)

    @get("/prior-auths/{authorization_id:uuid}", name="insurance-prior-auth")
    async def detail(
        self, request: Request[Any, Any, Any], authorization_id: UUID, done: str | None = None
    ) -> Template:
        return await self._page(request, authorization_id, flash=NOTICES.get(done or ""))

    @post("/prior-auths/{authorization_id:uuid}/submit", status_code=200, name="insurance-prior-auth-submit")
    async def submit(self, request: Request[Any, Any, Any], authorization_id: UUID) -> Any:
        path = f"{AUTHORIZATIONS}/{authorization_id}/submit"
        return await self._act(request, authorization_id, path, {}, "submitted", await form_fields(request))

    @post("/prior-auths/{authorization_id:uuid}/cancel", status_code=200, name="insurance-prior-auth-cancel")
    async def cancel(self, request: Request[Any, Any, Any], authorization_id: UUID) -> Any:
        fields = await form_fields(request)
        path = f"{AUTHORIZATIONS}/{authorization_id}/cancel"
        body = {"reason": fields.get("cancel_reason", "")}
        return await self._act(
            request,
            authorization_id,
            path,
            body,
            "cancelled",
            fields,
            lambda exc: form_errors(exc, {"reason": "cancel_reason"}),
        )

    @post("/prior-auths/{authorization_id:uuid}/decision", status_code=200, name="insurance-prior-auth-decision")
    async def decision(self, request: Request[Any, Any, Any], authorization_id: UUID) -> Any:
        fields = await form_fields(request)
        current = await portal_api(request).get(f"{AUTHORIZATIONS}/{authorization_id}")
        body, numbers = decision_body(fields, [line["line"] for line in current["lines"]])
        if not body["lines"]:
            return await self._page(
                request,
                authorization_id,
                422,
                values=fields,
                error="Choose the payer's decision for at least one line.",
            )
        path = f"{AUTHORIZATIONS}/{authorization_id}/decision"
        return await self._act(
            request, authorization_id, path, body, "decision", fields, lambda exc: decision_errors(exc, numbers)
        )

    @post("/prior-auths/{authorization_id:uuid}/appeal", status_code=200, name="insurance-prior-auth-appeal")
    async def open_appeal(self, request: Request[Any, Any, Any], authorization_id: UUID) -> Any:
        fields = await form_fields(request)
        body = {
            "authorization_id": str(authorization_id),
            **drop_empty({"urgency": fields.get("urgency", ""), "arguments": fields.get("arguments", "")}),
        }
        return await self._act(request, authorization_id, APPEALS, body, "appeal", fields)

    @post("/prior-auths/{authorization_id:uuid}/appeal/file", status_code=200, name="insurance-prior-auth-file")
    async def file_appeal(self, request: Request[Any, Any, Any], authorization_id: UUID) -> Any:
        fields = await form_fields(request)
        appeals = await portal_api(request).get(APPEALS, {"authorization_id": str(authorization_id), "limit": 1})
        if not appeals:
            return await self._page(request, authorization_id, 409, error="There is no appeal to file.")
        path = f"{APPEALS}/{appeals[0]['id']}/transitions"
        body = {"to": "submitted", **drop_empty({"arguments": fields.get("arguments", "")})}
        return await self._act(request, authorization_id, path, body, "filed", fields)
