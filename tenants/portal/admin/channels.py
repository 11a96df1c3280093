"""Notification channels: each channel's state, and a settings form per channel.

Options come from the channel's options schema (built-in channels) or a JSON text area (plugin channels).
Secrets are write-only: the form says whether each is set, never shows it; an empty input keeps it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template

from core.portal.api import ApiError, portal_api
from core.portal.forms import form_fields, form_lists
from core.portal.rendering import render
from tenants.portal.admin.common import CHECK_FIELDS, checked_name, flash, refusal, requires
from tenants.portal.admin.schema_form import SchemaField, api_errors, display_values, read_form, schema_fields

GUARDS = [requires("notifications:manage")]
DONE = {"saved": "The channel's settings are saved."}
SECRET_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,60}$")
RAW_OPTIONS = SchemaField(name="_options", label="Options", kind="json", description="The channel's settings.")
MAX_SECRET = 500


@get("/admin/channels", guards=GUARDS)
async def channels_page(request: Request[Any, Any, Any]) -> Template:
    channels = await portal_api(request).get("/api/v1/admin/channels")
    return await render(request, "tenants/admin/channels.html", channels=channels)


def _fields(channel: dict[str, Any]) -> list[SchemaField]:
    return schema_fields(channel.get("options_schema")) or [RAW_OPTIONS]


def _shown(channel: dict[str, Any], fields: list[SchemaField]) -> dict[str, Any]:
    if fields == [RAW_OPTIONS]:
        return {"_options": json.dumps(channel.get("options") or {}, indent=2, ensure_ascii=False)}
    return display_values(fields, channel.get("options"))


async def _page(
    request: Request[Any, Any, Any],
    channel: dict[str, Any],
    *,
    values: dict[str, Any] | None = None,
    enabled: bool | None = None,
    errors: dict[str, str] | None = None,
    messages: list[str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Template:
    fields = _fields(channel)
    return await render(
        request,
        "tenants/admin/channel.html",
        status_code=status_code,
        channel=channel,
        enabled=channel["enabled"] if enabled is None else enabled,
        fields=fields,
        values=values if values is not None else _shown(channel, fields),
        errors=errors or {},
        messages=messages or [],
        flash=notice,
    )


@get("/admin/channels/{channel:str}", guards=GUARDS)
async def channel_page(request: Request[Any, Any, Any], channel: str, done: str | None = None) -> Template:
    found = await portal_api(request).get(f"/api/v1/admin/channels/{checked_name(channel)}")
    return await _page(request, found, notice=flash(done, DONE))


def _secrets(
    channel: dict[str, Any], form: dict[str, str], removed: list[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Secret changes: a typed value sets one, a ticked "remove" deletes it, an empty input keeps it."""
    changes: dict[str, Any] = {}
    errors: dict[str, str] = {}
    accepted = channel.get("accepted_secrets")
    names = list(accepted) if accepted is not None else list(channel.get("secrets_set") or [])
    for name in names:
        value = form.get(f"secret.{name}", "")
        if value:
            changes[name] = value[: MAX_SECRET + 1]
        elif name in removed:
            changes[name] = None
    if accepted is None:  # a plugin channel: any secret name
        new_name, new_value = form.get("new_secret_name", ""), form.get("new_secret_value", "")
        if new_name or new_value:
            if not SECRET_NAME.match(new_name):
                errors["new_secret_name"] = "Use 1 to 60 letters, digits, dots, dashes or underscores."
            elif not new_value:
                errors["new_secret_value"] = "Enter the secret's value."
            else:
                changes[new_name] = new_value[: MAX_SECRET + 1]
    return changes, errors


@post("/admin/channels/{channel:str}", guards=GUARDS, status_code=200)
async def channel_save(request: Request[Any, Any, Any], channel: str) -> Any:
    api = portal_api(request)
    found = await api.get(f"/api/v1/admin/channels/{checked_name(channel)}")
    fields = _fields(found)
    form = await form_fields(request)
    enabled = form.get("_enabled") == "true"
    checked = {item.name for item in fields if item.kind == "boolean" and item.name in form}
    options, errors, shown = read_form(fields, form, checked)
    if fields == [RAW_OPTIONS]:
        options = options.get("_options") or {}
        if not isinstance(options, dict):
            errors["_options"] = "must be a JSON object"
    secrets, secret_errors = _secrets(found, form, await form_lists(request, "remove_secret"))
    errors |= secret_errors
    if errors:
        return await _page(
            request, found, values=shown, enabled=enabled, errors=errors, messages=[CHECK_FIELDS], status_code=422
        )
    try:
        await api.put(
            f"/api/v1/admin/channels/{found['channel']}", {"enabled": enabled, "options": options, "secrets": secrets}
        )
    except ApiError as exc:
        refused = refusal(exc, (400, 422))
        placed, general = api_errors(refused, fields, "options")  # secrets' refusals are general messages
        messages = ([CHECK_FIELDS] if placed else []) + (general or ([] if placed else [refused.message]))
        return await _page(
            request, found, values=shown, enabled=enabled, errors=placed, messages=messages, status_code=422
        )
    return Redirect(f"/portal/admin/channels/{found['channel']}?done=saved", status_code=303)


CHANNEL_PAGES = [channels_page, channel_page, channel_save]
