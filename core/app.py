"""``create_app()``: the kernel's litestar application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request
from litestar.config.app import AppConfig
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.stores.redis import RedisStore

from core.audit.controllers import AuditController
from core.auth.controllers import AuthController, MfaController
from core.auth.invitations import INVITATION_ROUTES
from core.auth.middleware import auth_middleware
from core.auth.permissions import add_plugin_permission
from core.auth.teams import TeamController
from core.auth.users import ApiKeyController, UserController
from core.care.routes import CARE_ROUTE_HANDLERS
from core.db.engine import close_pool, start_pool
from core.http.access_log import access_log_middleware
from core.http.allow import correct_allow_header
from core.http.health import health, ready
from core.http.logging import structlog_plugin
from core.http.openapi_document import complete_document
from core.http.problems import problem_details_plugin
from core.http.request_id import add_request_id_header, request_id_middleware
from core.http.service_metrics import register_queue_depths
from core.http.strict_input import strict_input
from core.jobs.controllers import ROUTES as JOB_ROUTES
from core.notifications.routes import ROUTES as NOTIFICATION_ROUTES
from core.patients.controllers import PatientController
from core.plugins.admin import ModuleController
from core.plugins.manager import PluginHost, get_host
from core.plugins.routes import plugin_routers
from core.portal.pages import CORE_PAGES
from core.portal.router import SESSION_STORE, portal_router, static_router, template_config
from core.redis_client import close_redis, redis_client
from core.reports.routes import ROUTES as REPORT_ROUTES
from core.settings import Settings, get_settings
from core.tenancy.controllers import TenantController, plans, signup
from core.tenancy.verification import VERIFICATION_ROUTES
from tenants.portal import TEMPLATES as TENANT_TEMPLATES
from tenants.portal import TENANT_PAGES

THROTTLED_PATHS = ("/api/v1/auth/token", "/api/v1/auth/refresh", "/api/v1/signup")


async def _is_login(request: Request[Any, Any, Any]) -> bool:
    """Requests under the login rate limit: log-in, sign-up, and handlers marked ``opt={"throttled": True}``.

    A coroutine on purpose: litestar runs a plain function here in a worker thread, a thread hop on
    every request (measured: a third of a patient read's samples were threads, 0.15x of a bare read)."""
    if request.url.path in THROTTLED_PATHS:
        return True
    handler = request.scope.get("route_handler")
    return bool(handler is not None and handler.opt.get("throttled"))


def create_app(settings: Settings | None = None, host: PluginHost | None = None) -> Litestar:
    """The API: core's routes plus the routes of every loaded plugin (``host``, default: installed ones)."""
    settings = settings or get_settings()
    host = host or get_host()
    for spec in host.contributions.permissions:
        add_plugin_permission(spec.name, spec.roles, spec.api_key_scope)
    settings.jwt_secret()  # fail at start-up, not at the first login
    redis = redis_client(settings.redis_url or "")

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await start_pool(settings.db_pool_max_size)
        try:
            yield
        finally:
            await close_pool()
            await close_redis()

    rate_limit = RateLimitConfig(
        rate_limit=("minute", settings.login_rate_limit_per_minute),
        check_throttle_handler=_is_login,
        store="rate_limit",
    )
    prometheus = PrometheusConfig(app_name="carecoord", group_path=True)
    register_queue_depths(
        settings.redis_url or "", settings.queue_namespace, [spec.queue for spec in host.contributions.actors]
    )
    app = Litestar(
        route_handlers=[
            health,
            ready,
            signup,
            *VERIFICATION_ROUTES,
            plans,
            AuthController,
            MfaController,
            UserController,
            *INVITATION_ROUTES,
            ApiKeyController,
            TeamController,
            TenantController,
            PatientController,
            AuditController,
            ModuleController,
            *JOB_ROUTES,
            *REPORT_ROUTES,
            *NOTIFICATION_ROUTES,
            *CARE_ROUTE_HANDLERS,
            PrometheusController,
            *plugin_routers(host),
            *host.contributions.public_routes,
            portal_router(settings, host, [*CORE_PAGES, *TENANT_PAGES]),
            static_router(),
        ],
        middleware=[
            request_id_middleware,
            access_log_middleware,
            rate_limit.middleware,
            prometheus.middleware,
            auth_middleware,
        ],
        before_send=[add_request_id_header, correct_allow_header],
        before_request=strict_input,
        plugins=[problem_details_plugin, structlog_plugin()],
        stores={
            "rate_limit": RedisStore(redis, namespace=settings.rate_limit_namespace),
            SESSION_STORE: RedisStore(redis, namespace="carecoord-portal-session"),
        },
        template_config=template_config(host, [TENANT_TEMPLATES]),
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="carecoord",
            version="0.1.0",
            description="Multi-tenant care coordination API. Errors are RFC 9457 problem details.",
            path="/schema",
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
                    "apiKey": SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header"),
                }
            ),
            security=[{"bearer": []}, {"apiKey": []}],
        ),
        request_max_body_size=1_048_576,
        debug=False,
        on_app_init=[_state(settings, redis, host)],
    )
    complete_document(app)
    return app


def _state(settings: Settings, redis: Any, host: PluginHost) -> Any:
    def init(config: AppConfig) -> AppConfig:
        config.state.update({"settings": settings, "redis": redis, "plugin_host": host})
        return config

    return init
