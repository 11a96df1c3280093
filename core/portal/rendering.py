"""Rendering portal pages: the layout's context (user, menu, timeouts) around each page's own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from litestar import MediaType, Request
from litestar.response import Template

from core.db.tenant import tenant_transaction
from core.plugins.manager import PluginHost
from core.plugins.records import PortalPage
from core.plugins.tenant_modules import tenant_modules
from core.portal.session import PortalUser, current_user
from core.settings import Settings


@dataclass(frozen=True)
class MenuItem:
    section: str
    title: str
    href: str


CORE_MENU = (
    MenuItem("Work", "Worklist", "/portal/"),
    MenuItem("Work", "Patients", "/portal/patients"),
    MenuItem("Work", "Appointments", "/portal/appointments"),
)
ADMIN_MENU = (
    ("tenant:manage", MenuItem("Administration", "Organization", "/portal/admin/organization")),
    ("modules:manage", MenuItem("Administration", "Modules", "/portal/admin/modules")),
    ("users:manage", MenuItem("Administration", "Users", "/portal/admin/users")),
    ("api_keys:manage", MenuItem("Administration", "API keys", "/portal/admin/api-keys")),
    ("notifications:manage", MenuItem("Administration", "Channels", "/portal/admin/channels")),
    ("audit:read", MenuItem("Administration", "Audit log", "/portal/admin/audit")),
    ("jobs:manage", MenuItem("Administration", "Dead letters", "/portal/admin/dead-letters")),
    ("tenant:manage", MenuItem("Administration", "Plan and usage", "/portal/admin/usage")),
)


def is_chart_action(page: PortalPage) -> bool:
    """A plugin page offered on the patient chart (``menu_section="Patient"``, ``{patient_id}`` in its path),
    not in the sidebar: it needs a patient."""
    return page.menu_section == "Patient" and "{patient_id" in page.path


async def enabled_modules(request: Request[Any, Any, Any], user: PortalUser) -> frozenset[str]:
    """The modules the user's organization enabled (cached per request)."""
    state = request.scope.setdefault("state", {})
    if "portal_modules" not in state:
        host = cast(PluginHost, request.app.state.plugin_host)
        async with tenant_transaction(user.tenant_id) as tx:
            state["portal_modules"] = (await tenant_modules(host, tx, user.tenant_id)).enabled
    return cast(frozenset[str], state["portal_modules"])


async def menu_for(request: Request[Any, Any, Any], user: PortalUser) -> dict[str, list[MenuItem]]:
    """The menu, by section: work screens, the enabled modules' pages, then what the role may administer."""
    host = cast(PluginHost, request.app.state.plugin_host)
    items = list(CORE_MENU)
    enabled = await enabled_modules(request, user)
    for module, pages in sorted(host.contributions.portal_pages.items()):
        if module in enabled:
            items.extend(
                MenuItem(page.menu_section, page.title, f"/portal/{module}/{page.path.strip('/')}".rstrip("/"))
                for page in pages
                if not is_chart_action(page)
            )
    items.extend(item for permission, item in ADMIN_MENU if user.can(permission))
    sections: dict[str, list[MenuItem]] = {}
    for item in items:
        sections.setdefault(item.section, []).append(item)
    return sections


async def render(
    request: Request[Any, Any, Any], template: str, *, status_code: int = 200, **context: Any
) -> Template:
    """``template`` with the layout's context: ``user``, ``menu``, ``idle_seconds``, ``current_path``."""
    user = current_user(request)
    menu = await menu_for(request, user) if user is not None and not user.mfa_pending else {}
    return render_without_menu(request, template, status_code=status_code, menu=menu, **context)


def render_without_menu(
    request: Request[Any, Any, Any], template: str, *, status_code: int = 200, **context: Any
) -> Template:
    """:func:`render` without the menu (which reads the database): for error pages."""
    settings = cast(Settings, request.app.state.settings)
    layout: dict[str, Any] = {
        "user": current_user(request),
        "menu": {},
        "idle_seconds": settings.portal_idle_timeout_seconds,
        "current_path": request.url.path,
        "is_htmx": request.headers.get("hx-request") == "true",
    }
    return Template(
        template_name=template, context={**layout, **context}, status_code=status_code, media_type=MediaType.HTML
    )
