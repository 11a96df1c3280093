"""API keys: the organization's keys for integrations, creating one (its secret shown once), revoking."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.response import Redirect, Template

from core.auth.permissions import api_key_scopes
from core.portal.api import ApiError, portal_api
from core.portal.forms import form_fields, form_lists
from core.portal.rendering import render
from tenants.portal.admin.common import CHECK_FIELDS, field_messages, flash, refusal, requires

GUARDS = [requires("api_keys:manage")]
DONE = {"revoked": "The key is revoked: requests using it are refused from now on."}
NO_SCOPES = "Choose at least one permission."


async def _page(
    request: Request[Any, Any, Any],
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Template:
    keys = await portal_api(request).get("/api/v1/api-keys")
    return await render(
        request,
        "tenants/admin/api_keys.html",
        status_code=status_code,
        keys=sorted(keys, key=lambda key: (key["revoked_at"] is not None, key["created_at"])),
        scopes=sorted(api_key_scopes()),
        values=values or {"name": "", "scopes": []},
        errors=errors or {},
        error=error,
        flash=notice,
    )


@get("/admin/api-keys", guards=GUARDS)
async def api_keys_page(request: Request[Any, Any, Any], done: str | None = None) -> Template:
    return await _page(request, notice=flash(done, DONE))


@post("/admin/api-keys", guards=GUARDS, status_code=200)
async def api_key_create(request: Request[Any, Any, Any]) -> Template:
    """The new key on a page of its own (never in an address, never again afterwards)."""
    fields = await form_fields(request)
    scopes = [scope[:64] for scope in await form_lists(request, "scopes")][:20]
    values = {"name": fields.get("name", "")[:200], "scopes": scopes}
    try:
        created = await portal_api(request).post("/api/v1/api-keys", values)
    except ApiError as exc:
        refused = refusal(exc, (400, 422))
        errors = field_messages(refused)
        if not scopes:
            errors["scopes"] = NO_SCOPES
        return await _page(
            request, values=values, errors=errors, error=CHECK_FIELDS if errors else refused.message, status_code=422
        )
    return await render(request, "tenants/admin/api_key_created.html", created=created)


@post("/admin/api-keys/{key_id:uuid}/revoke", guards=GUARDS, status_code=303)
async def api_key_revoke(request: Request[Any, Any, Any], key_id: UUID) -> Redirect:
    await portal_api(request).delete(f"/api/v1/api-keys/{key_id}")  # another organization's key: 404 page
    return Redirect("/portal/admin/api-keys?done=revoked", status_code=303)


API_KEY_PAGES = [api_keys_page, api_key_create, api_key_revoke]
