"""Small records that registration hooks return to the host."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import msgspec

from core.metrics.spec import MetricSpec

if TYPE_CHECKING:
    from core.reports.data import ChartSpec

_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
RESERVED_NAMES = frozenset(
    {
        "admin",
        "api_keys",
        "appointments",
        "audit_events",
        "auth",
        "care_plans",
        "community_resources",
        "directory",
        "core",
        "me",
        "notifications",
        "patients",
        "reports",
        "signup",
        "tasks",
        "tenant",
        "users",
        "worklist",
    }
)
"""Module names that would put a plugin's routes among core's (``/api/v1/{name}``)."""


def normalise_name(name: str) -> str:
    """Module names are lower-case identifiers; dashes become underscores."""
    normalised = name.strip().lower().replace("-", "_")
    if not _NAME.match(normalised):
        raise ValueError(f"module name {name!r} must be 2-40 lower-case letters, digits or underscores")
    if normalised in RESERVED_NAMES:
        raise ValueError(f"module name {name!r} is reserved for core's own routes")
    return normalised


@dataclass(frozen=True)
class ModuleSpec:
    """What a plugin is, as tenants and admins see it. Returned by ``register_module``."""

    name: str
    """Stable identifier; also the URL prefix ``/api/v1/{name}`` of the plugin's routes."""
    title: str
    description: str = ""
    settings: type[msgspec.Struct] | None = None
    """Per-tenant settings schema; every field needs a default so a fresh tenant validates."""
    plans: frozenset[str] | None = None
    """Plans allowed to enable the module; None means every plan."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", normalise_name(self.name))


@dataclass(frozen=True)
class PermissionSpec:
    """A permission a plugin adds, and which roles hold it by default."""

    name: str
    """``module:verb``, e.g. ``referrals:write``."""
    description: str
    roles: frozenset[str] = frozenset({"owner", "admin"})
    api_key_scope: bool = False
    """May an API key be granted this permission?"""


@dataclass(frozen=True)
class ChannelSpec:
    """A notification channel (e-mail, SMS, a partner's messenger...)."""

    name: str
    description: str
    send: Callable[..., Awaitable[Any]]
    """``async send(ctx, recipient, message) -> provider message id``; used by the workers."""
    consent_channel: str | None = None
    """The patient consent that allows this channel (``sms``, ``email``, ``voice`` or ``letter``);
    None: no consent can allow it, so every notification on it is suppressed. See docs/notifications.md."""


@dataclass(frozen=True)
class PortalPage:
    """A page in the web portal, with its menu entry."""

    path: str
    """Below ``/portal/{module}/``."""
    title: str
    handler: Any
    """A litestar route handler rendering the page."""
    menu_section: str = "Modules"


@dataclass(frozen=True)
class PeriodicJob:
    """A job the scheduler runs on a cron expression in each enabled tenant's time zone."""

    name: str
    cron: str
    """Five-field cron expression, read in each tenant's time zone (``0 7 * * 1-5``: weekdays 07:00)."""
    actor_name: str
    """Full actor name (``{module}.{actor}``); the job runs once per tenant that enabled the module."""
    payload: dict[str, Any] = field(default_factory=dict)


_REPORT_NAME = re.compile(r"^[a-z][a-z0-9_]{1,59}$")


@dataclass(frozen=True)
class ReportSpec:
    """A report tenants can run: a query, its parameters, an optional chart. See ``docs/reports.md``."""

    name: str
    """Lower-case identifier; a plugin's report is listed as ``{module}.{name}``."""
    title: str
    query: Callable[..., Awaitable[Any]]
    """``async query(ctx: PluginContext, params) -> ReportData``, run by the worker in the tenant's transaction."""
    description: str = ""
    params: type[msgspec.Struct] | None = None
    """Parameters schema; every field needs a default. Invalid parameters are refused with 400."""
    chart: ChartSpec | None = None
    permission: str | None = None
    """Needed on top of ``reports:run`` / ``reports:read`` (e.g. ``referrals:read``); None: nothing more."""
    module: str = ""
    """Set by the host to the registering plugin's module; ``core`` for core's own reports."""

    def __post_init__(self) -> None:
        if not _REPORT_NAME.match(self.name):
            raise ValueError(f"report name {self.name!r} must be 2-60 lower-case letters, digits or underscores")

    @property
    def full_name(self) -> str:
        return self.name if self.module in ("", "core") else f"{self.module}.{self.name}"


def owned_reports(module: str, specs: Sequence[Any]) -> list[ReportSpec]:
    """A plugin's reports, checked and stamped with its module; raises on anything malformed."""
    owned: dict[str, ReportSpec] = {}
    for spec in specs:
        if not isinstance(spec, ReportSpec):
            raise TypeError("register_reports must return ReportSpec objects")
        if not callable(spec.query):
            raise TypeError(f"report {spec.name!r}: query must be an async function")
        if spec.params is not None and not issubclass(spec.params, msgspec.Struct):
            raise TypeError(f"report {spec.name!r}: params must be a msgspec.Struct class")
        if spec.name in owned:
            raise ValueError(f"report {spec.name!r} is registered twice")
        owned[spec.name] = replace(spec, module=module)
    return list(owned.values())


@dataclass
class Contributions:
    """Everything the loaded plugins registered, gathered once at start-up."""

    modules: dict[str, ModuleSpec] = field(default_factory=dict)
    module_plugin: dict[str, str] = field(default_factory=dict)
    routes: dict[str, Sequence[Any]] = field(default_factory=dict)
    public_routes: list[Any] = field(default_factory=list)
    """Unauthenticated handlers of every plugin (``register_public_routes``), mounted from the root."""
    piccolo_apps: list[str] = field(default_factory=list)
    actors: list[Any] = field(default_factory=list)
    module_actors: list[tuple[str, Any]] = field(default_factory=list)
    """``(module, ActorSpec)`` pairs: the worker names each actor ``{module}.{name}``."""
    permissions: list[PermissionSpec] = field(default_factory=list)
    channels: list[ChannelSpec] = field(default_factory=list)
    payer_adapters: list[Any] = field(default_factory=list)
    """``core.payers.adapter.PayerAdapterSpec`` of every plugin, names unique."""
    metrics: list[MetricSpec] = field(default_factory=list)
    portal_pages: dict[str, list[PortalPage]] = field(default_factory=dict)
    periodic_jobs: list[PeriodicJob] = field(default_factory=list)
    reports: list[ReportSpec] = field(default_factory=list)
    """Plugins' reports, each with ``module`` set to its plugin's module."""
    module_periodic_jobs: list[tuple[str, PeriodicJob]] = field(default_factory=list)


def checked_payer_adapters(specs: Sequence[Any], taken: Sequence[Any]) -> list[Any]:
    """A plugin's payer adapters, each a ``PayerAdapterSpec`` with a name not ``taken`` (raises otherwise)."""
    from core.payers.adapter import PayerAdapterSpec

    names = {spec.name for spec in taken}
    for spec in specs:
        if not isinstance(spec, PayerAdapterSpec):
            raise TypeError("register_payer_adapters must return PayerAdapterSpec objects")
        if spec.name in names:
            raise ValueError(f"payer adapter name {spec.name!r} is taken")
        names.add(spec.name)
    return list(specs)
