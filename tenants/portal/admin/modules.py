"""Modules: the catalogue with each module's state, enabling and disabling, and a settings form per module.

The settings form is generated from the module's settings schema (``settings_schema`` in the catalogue);
the API validates what is saved and its errors are shown next to the fields they name.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from core.portal.api import ApiError, portal_api
from core.portal.forms import form_fields
from core.portal.rendering import render
from tenants.portal.admin.common import CHECK_FIELDS, checked_name, flash, refusal, requires
from tenants.portal.admin.schema_form import api_errors, display_values, read_form, schema_fields

GUARDS = [requires("modules:manage")]
DONE = {
    "enabled": "The module is enabled.",
    "disabled": "The module is disabled. Its data is kept.",
    "saved": "The settings are saved.",
}


async def _catalogue(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
    return list(await portal_api(request).get("/api/v1/admin/modules"))


async def _module(request: Request[Any, Any, Any], name: str) -> dict[str, Any]:
    """One module of the catalogue; an unknown name is the 404 page."""
    for module in await _catalogue(request):
        if module["name"] == name:
            return module
    raise NotFoundException()


async def _list_page(
    request: Request[Any, Any, Any], *, error: str | None = None, notice: str | None = None, status_code: int = 200
) -> Template:
    return await render(
        request,
        "tenants/admin/modules.html",
        status_code=status_code,
        modules=await _catalogue(request),
        error=error,
        flash=notice,
    )


@get("/admin/modules", guards=GUARDS)
async def modules_page(request: Request[Any, Any, Any], done: str | None = None) -> Template:
    return await _list_page(request, notice=flash(done, DONE))


async def _switch(request: Request[Any, Any, Any], name: str, enabled: bool) -> Any:
    name = checked_name(name)
    try:
        await portal_api(request).put(f"/api/v1/admin/modules/{name}", {"enabled": enabled})
    except ApiError as exc:
        refused = refusal(exc, (403, 409, 422))  # 403: the plan does not include it
        return await _list_page(request, error=refused.message, status_code=refused.status)
    return Redirect(f"/portal/admin/modules?done={'enabled' if enabled else 'disabled'}", status_code=303)


@post("/admin/modules/{name:str}/enable", guards=GUARDS, status_code=200)
async def module_enable(request: Request[Any, Any, Any], name: str) -> Any:
    return await _switch(request, name, True)


@post("/admin/modules/{name:str}/disable", guards=GUARDS, status_code=200)
async def module_disable(request: Request[Any, Any, Any], name: str) -> Any:
    return await _switch(request, name, False)


async def _settings_page(
    request: Request[Any, Any, Any],
    module: dict[str, Any],
    values: dict[str, Any] | None = None,
    *,
    errors: dict[str, str] | None = None,
    messages: list[str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Template:
    fields = schema_fields(module.get("settings_schema"))
    return await render(
        request,
        "tenants/admin/module_settings.html",
        status_code=status_code,
        module=module,
        fields=fields,
        values=values if values is not None else display_values(fields, module.get("settings")),
        errors=errors or {},
        messages=messages or [],
        flash=notice,
    )


@get("/admin/modules/{name:str}", guards=GUARDS)
async def module_settings(request: Request[Any, Any, Any], name: str, done: str | None = None) -> Template:
    module = await _module(request, checked_name(name))
    return await _settings_page(request, module, notice=flash(done, DONE))


@post("/admin/modules/{name:str}", guards=GUARDS, status_code=200)
async def module_settings_save(request: Request[Any, Any, Any], name: str) -> Any:
    module = await _module(request, checked_name(name))
    fields = schema_fields(module.get("settings_schema"))
    if not fields:
        raise NotFoundException()
    form = await form_fields(request)
    checked = {item.name for item in fields if item.kind == "boolean" and item.name in form}
    settings, errors, shown = read_form(fields, form, checked)
    if errors:
        return await _settings_page(request, module, shown, errors=errors, messages=[CHECK_FIELDS], status_code=422)
    try:
        await portal_api(request).put(f"/api/v1/admin/modules/{module['name']}", {"settings": settings})
    except ApiError as exc:
        refused = refusal(exc, (400, 422))
        placed, general = api_errors(refused, fields, "settings")
        messages = [CHECK_FIELDS] if placed else []
        messages += general or ([] if placed else [refused.message])
        return await _settings_page(request, module, shown, errors=placed, messages=messages, status_code=422)
    return Redirect(f"/portal/admin/modules/{module['name']}?done=saved", status_code=303)


MODULE_PAGES = [modules_page, module_enable, module_disable, module_settings, module_settings_save]
