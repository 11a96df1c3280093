"""The public answer page: ``GET /s/{token}`` shows the form, ``POST /s/{token}`` records the answer.

No credential: the token is the capability. Its tenant is found from the token's SHA-256 by the
narrow SECURITY DEFINER function ``metric_survey_tenant`` (a tenant id for a digest, nothing else);
the survey is then read and answered in that tenant's own transaction, under row-level security.
Nothing the client sends names the tenant.

Answers are server-rendered HTML (no script; works without JavaScript): an unknown or altered token
and a tenant that is inactive or has the module off get the same 404 page; an answered survey 409;
an expired one 410. Pages name only the organization; every answer is ``no-store`` and sends no
``Referer`` (the token is in the address).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response, get, post
from litestar.enums import MediaType

from core.audit.service import append_event
from core.db.tenant import TenantInactiveError, Tx, platform_transaction, tenant_transaction
from core.http.context import request_origin
from core.plugins.manager import PluginHost, get_host
from core.plugins.tenant_modules import tenant_modules
from plugins.metrics.surveys.service import PUBLIC_PREFIX, token_digest

MODULE = "metrics"
MAX_COMMENT = 1000
TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
"""What :func:`secrets.token_urlsafe(32)` makes; anything else is not looked up at all."""


def _style_hash() -> str:
    """CSP source of the page's one ``<style>`` block, so no inline style but that one may apply."""
    page = (Path(__file__).parent / "page.html").read_text(encoding="utf-8")
    found = re.search(r"<style>(.*?)</style>", page, re.DOTALL)
    assert found is not None, "page.html has no <style> block"
    digest = hashlib.sha256(found.group(1).encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


HEADERS = {
    "Cache-Control": "no-store, max-age=0",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
    "Content-Security-Policy": (
        f"default-src 'none'; style-src {_style_hash()}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}
NOT_FOUND = ("Survey not found", "This survey link is not valid. Please check that you used the whole link.")
ANSWERED = ("Already answered", "This survey has already been answered. Thank you for your feedback.")
EXPIRED = ("Survey closed", "This survey has expired and can no longer be answered. Thank you all the same.")
THANKS = ("Thank you", "Your answers have been recorded. Thank you for helping us improve.")
FORM_TITLE = "How did we do?"
OPEN = ("scheduled", "sent")


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _page(status: int, **variables: Any) -> Response[str]:
    variables.setdefault("organization", None)
    variables.setdefault("errors", [])
    variables.setdefault("values", {"score": "", "clarity": "", "comment": ""})
    html = _environment().get_template("page.html").render(max_comment=MAX_COMMENT, **variables)
    return Response(content=html, status_code=status, media_type=MediaType.HTML, headers=HEADERS)


def _message_page(status: int, text: tuple[str, str], organization: str | None = None) -> Response[str]:
    return _page(status, state="message", title=text[0], message=text[1], organization=organization)


@dataclass(frozen=True)
class Found:
    tenant_id: UUID
    survey: Any
    organization: str


async def _tenant_of(digest: bytes) -> UUID | None:
    async with platform_transaction() as tx:
        found = await tx.fetchval("select metric_survey_tenant($1)", digest)
    return None if found is None else UUID(str(found))


async def _survey(tx: Tx, host: PluginHost, tenant_id: UUID, digest: bytes, *, lock: bool) -> Found | None:
    """The survey of ``digest`` in the tenant's transaction, if the tenant still has the module on."""
    if MODULE not in (await tenant_modules(host, tx, tenant_id)).enabled:
        return None
    survey = await tx.fetchrow(
        "select id, patient_id, status, expires_at, answered_at from metric_surveys where token_hash = $1"
        + (" for update" if lock else ""),
        digest,
    )
    if survey is None:
        return None
    organization = await tx.fetchval("select name from tenants where id = $1", tenant_id)
    return Found(tenant_id, survey, str(organization or ""))


def _closed(found: Found) -> Response[str] | None:
    """The page for a survey that cannot be answered any more; None while it is open."""
    survey = found.survey
    if survey["answered_at"] is not None:
        return _message_page(409, ANSWERED, found.organization)
    if survey["status"] not in OPEN:
        return _message_page(404, NOT_FOUND)
    if survey["expires_at"] is None or survey["expires_at"] <= datetime.now(UTC):
        return _message_page(410, EXPIRED, found.organization)
    return None


async def _audit(request: Request[Any, Any, Any], tx: Tx, found: Found, action: str, details: dict[str, Any]) -> None:
    """The patient, through the survey token, is the actor (no user, no API key)."""
    ip, request_id = request_origin(request)
    await append_event(
        tx,
        tenant_id=found.tenant_id,
        actor_type="patient",
        actor_id=found.survey["patient_id"],
        action=action,
        resource_type="metric_survey",
        resource_id=found.survey["id"],
        ip=ip,
        request_id=request_id,
        details={"patient_id": str(found.survey["patient_id"]), "via": "survey_token", "module": MODULE, **details},
    )


def _host(request: Request[Any, Any, Any]) -> PluginHost:
    host = request.app.state.get("plugin_host")
    return cast(PluginHost, host) if host is not None else get_host()


@get(
    f"{PUBLIC_PREFIX}/{{token:str}}",
    opt={"public": True},
    security=[],
    media_type=MediaType.HTML,
    tags=["surveys"],
    summary="A patient's satisfaction survey form (no credential: the link's token is the capability)",
)
async def survey_form(request: Request[Any, Any, Any], token: str) -> Response[str]:
    async with _opened(request, token, lock=False) as (tx, found, refusal):
        if refusal is not None:
            return refusal
        assert tx is not None
        assert found is not None
        await _audit(request, tx, found, "metrics.survey_opened", {})
        return _page(200, state="form", title=FORM_TITLE, organization=found.organization)


@asynccontextmanager
async def _opened(
    request: Request[Any, Any, Any], token: str, *, lock: bool
) -> AsyncIterator[tuple[Tx | None, Found | None, Response[str] | None]]:
    """The open survey behind ``token`` in its tenant's transaction, or the page that refuses it."""
    if not TOKEN.match(token):
        yield None, None, _message_page(404, NOT_FOUND)
        return
    digest = token_digest(token)
    tenant_id = await _tenant_of(digest)
    if tenant_id is None:
        yield None, None, _message_page(404, NOT_FOUND)
        return
    try:
        async with tenant_transaction(tenant_id, require_active=True) as tx:
            found = await _survey(tx, _host(request), tenant_id, digest, lock=lock)
            refusal = _message_page(404, NOT_FOUND) if found is None else _closed(found)
            yield tx, found, refusal
    except TenantInactiveError:
        yield None, None, _message_page(404, NOT_FOUND)


def _parse(form: Any) -> tuple[dict[str, str], list[str], tuple[int, int, str | None] | None]:
    """The submitted values (to show again), the problems found, and the answer when there are none."""
    values = {name: str(form.get(name) or "").replace("\x00", "") for name in ("score", "clarity", "comment")}
    values["comment"] = values["comment"].replace("\r\n", "\n")
    errors: list[str] = []
    scores: list[int] = []
    for name, label in (("score", "overall satisfaction"), ("clarity", "communication clarity")):
        raw = values[name].strip()
        if raw not in {"1", "2", "3", "4", "5"}:
            errors.append(f"Choose a score from 1 to 5 for {label}.")
            values[name] = ""
        else:
            scores.append(int(raw))
    comment = values["comment"].strip()
    if len(comment) > MAX_COMMENT:
        errors.append(f"The comment is longer than {MAX_COMMENT} characters.")
    if errors:
        values["comment"] = values["comment"][: MAX_COMMENT * 2]
        return values, errors, None
    return values, errors, (scores[0], scores[1], comment or None)


@post(
    f"{PUBLIC_PREFIX}/{{token:str}}",
    opt={"public": True, "throttled": True},
    security=[],
    media_type=MediaType.HTML,
    status_code=200,
    tags=["surveys"],
    summary="Answer a satisfaction survey (form: score 1-5, clarity 1-5, optional comment); once only",
)
async def survey_answer(request: Request[Any, Any, Any], token: str) -> Response[str]:
    async with _opened(request, token, lock=True) as (tx, found, refusal):
        if refusal is not None:
            return refusal
        assert tx is not None
        assert found is not None
        values, errors, answer = _parse(await request.form())
        if answer is None:
            return _page(
                422, state="form", title=FORM_TITLE, organization=found.organization, errors=errors, values=values
            )
        score, clarity, comment = answer
        updated = await tx.fetchval(
            "update metric_surveys set status = 'answered', answered_at = now(), score = $2, clarity = $3, "
            "comment = $4, sent_at = coalesce(sent_at, least(send_at, now())), updated_at = now() "
            "where id = $1 and answered_at is null and status in ('scheduled', 'sent') returning id",
            found.survey["id"],
            score,
            clarity,
            comment,
        )
        if updated is None:  # cannot happen under the row lock; kept as the single-use guarantee
            return _message_page(409, ANSWERED, found.organization)
        await _audit(
            request,
            tx,
            found,
            "metrics.survey_answered",
            {"score": score, "clarity": clarity, "comment": bool(comment)},
        )
        return _message_page(200, THANKS, found.organization)


PUBLIC_SURVEY_ROUTES = [survey_form, survey_answer]
