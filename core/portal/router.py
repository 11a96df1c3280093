"""Mounting the portal: ``/portal`` pages (core's, the SaaS layer's, and enabled modules') and its static files.

Every portal route shares: the server-side session (HttpOnly cookie), CSRF checking of every unsafe
method (double-submit token, in each form and in htmx's headers), the security headers, the login
guard, and HTML error pages. Plugin pages sit under ``/portal/{module}/`` and answer 404 unless the
organization enabled the module, exactly like the module's API routes.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any, cast

from litestar import Router
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from core.plugins.manager import PluginHost
from core.portal.errors import EXCEPTION_HANDLERS
from core.portal.rendering import enabled_modules
from core.portal.security import security_headers_middleware, static_security_headers_middleware
from core.portal.session import PortalUser, current_user, require_portal_login
from core.portal.session_backend import PortalSessionConfig
from core.settings import Settings

HERE = Path(__file__).parent
SESSION_STORE = "portal_sessions"


def _plugin_dir(host: PluginHost, module: str) -> Path | None:
    plugin = host.pm.get_plugin(host.contributions.module_plugin.get(module, module))
    if plugin is None:
        return None
    try:
        source = inspect.getfile(plugin if inspect.ismodule(plugin) else type(plugin))
    except TypeError:  # a plugin object defined without a source file (built in a test, say)
        return None
    return Path(source).parent


def template_directories(host: PluginHost, extra: Sequence[Path] = ()) -> list[Path | PathLike[Any] | str]:
    """Core's templates, then ``extra`` (the SaaS layer's), then each loaded plugin's ``templates/``."""
    found: list[Path | PathLike[Any] | str] = [HERE / "templates", *extra]
    for module in sorted(host.contributions.modules):
        directory = _plugin_dir(host, module)
        if directory is not None and (directory / "templates").is_dir():
            found.append(directory / "templates")
    return found


HTMX_CONFIG = json.dumps(
    {
        "includeIndicatorStyles": False,
        "allowEval": False,
        # A form re-rendered with its field errors answers 422: swap it in like a success (htmx would drop it).
        "responseHandling": [
            {"code": "204", "swap": False},
            {"code": "[23]..", "swap": True},
            {"code": "422", "swap": True, "error": False},
            {"code": "[45]..", "swap": False, "error": True},
            {"code": "...", "swap": False},
        ],
    }
)


def template_config(host: PluginHost, extra: Sequence[Path] = ()) -> TemplateConfig[JinjaTemplateEngine]:
    def configure(engine: JinjaTemplateEngine) -> None:
        engine.engine.globals["htmx_config"] = HTMX_CONFIG

    return TemplateConfig(
        directory=template_directories(host, extra), engine=JinjaTemplateEngine, engine_callback=configure
    )


def cookie_names(settings: Settings) -> tuple[str, str]:
    """Session and CSRF cookie names; ``__Host-`` pins them to this host and path when Secure."""
    prefix = "__Host-" if settings.portal_cookie_secure else ""
    return f"{prefix}carecoord_session", f"{prefix}carecoord_csrf"


def requires_portal_module(name: str) -> Any:
    """Guard: a module's pages answer 404 unless the user's organization enabled it."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = cast(PortalUser, current_user(cast(Any, connection)))
        if name not in await enabled_modules(cast(Any, connection), user):
            raise NotFoundException()

    guard.__name__ = f"requires_portal_module_{name}"
    return guard


def portal_router(settings: Settings, host: PluginHost, pages: Sequence[Any]) -> Router:
    """``/portal`` with ``pages`` (core's and the SaaS layer's) and every plugin's pages."""
    session_cookie, csrf_cookie = cookie_names(settings)
    session = PortalSessionConfig(
        key=session_cookie,
        store=SESSION_STORE,
        max_age=settings.portal_idle_timeout_seconds,
        renew_on_access=True,
        secure=settings.portal_cookie_secure,
        httponly=True,
        samesite="lax",
        path="/",
    )
    csrf = CSRFConfig(
        secret=settings.jwt_secret(),
        cookie_name=csrf_cookie,
        cookie_secure=settings.portal_cookie_secure,
        cookie_httponly=True,
        cookie_samesite="strict",
        cookie_path="/",
        header_name="x-csrftoken",
    )
    module_routers = [
        Router(
            path=f"/{module}",
            route_handlers=[page.handler for page in module_pages],
            guards=[requires_portal_module(module)],
        )
        for module, module_pages in sorted(host.contributions.portal_pages.items())
    ]
    return Router(
        path="/portal",
        route_handlers=[*pages, *module_routers],
        middleware=[
            security_headers_middleware,
            session.middleware,
            DefineMiddleware(CSRFMiddleware, config=csrf),
        ],
        guards=[require_portal_login],
        exception_handlers=EXCEPTION_HANDLERS,
        opt={"public": True},  # not the API's bearer authentication: the portal's own session
        include_in_schema=False,
    )


def static_router() -> Router:
    return create_static_files_router(
        path="/static/portal",
        directories=[HERE / "static"],
        middleware=[static_security_headers_middleware],
        opt={"public": True},
        include_in_schema=False,
        name="portal-static",
    )
