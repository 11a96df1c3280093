"""The plugin host: discovers plugins, checks them, gathers what they register.

A plugin is any importable object (usually a module) with ``@hookimpl`` functions, published
under the entry-point group ``carecoord.plugins``. The host never lets one plugin take the
service down: a plugin that fails to import, declares an unknown hook, needs a newer hook API,
or raises while registering is recorded as failed (``carecoord plugin list`` shows why) and
left out.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import pluggy

from core.auth.permissions import Role
from core.metrics.spec import owned_metrics
from core.plugins import hookspecs
from core.plugins.records import Contributions, ModuleSpec, PeriodicJob, checked_payer_adapters, owned_reports

log = logging.getLogger("carecoord.plugins")

ENTRY_POINT_GROUP = "carecoord.plugins"
KILL_SWITCH = "CARECOORD_PLUGINS_DISABLED"
"""``all``, or a comma-separated list of plugin names not to load."""
EXTRA_PLUGINS = "CARECOORD_PLUGINS_EXTRA"
"""Comma-separated ``name=module:attribute`` plugins to load as if installed (the benchmarks' tiny plugins)."""

REGISTRATION_HOOKS = (
    "register_routes",
    "register_public_routes",
    "register_piccolo_apps",
    "register_actors",
    "register_permissions",
    "register_notification_channels",
    "register_payer_adapters",
    "register_metrics",
    "register_portal_pages",
    "register_periodic_jobs",
    "register_reports",
)
_SPEC_NAMES = frozenset(
    name for name in dir(hookspecs) if getattr(getattr(hookspecs, name), "carecoord_spec", None) is not None
)


@dataclass
class PluginRecord:
    """One discovered plugin and what became of it."""

    name: str
    version: str
    hook_api_version: int
    status: Literal["loaded", "failed", "disabled"]
    module: str | None = None
    error: str | None = None


class PluginHost:
    """Loads plugins once per process and answers which hook implementations to call."""

    def __init__(
        self,
        *,
        load_entry_points: bool = True,
        plugins: Iterable[tuple[str, object]] = (),
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self.contributions = Contributions()
        self._subsets: dict[frozenset[str], dict[str, list[pluggy.HookImpl]]] = {}
        self.tenant_cache: OrderedDict[UUID, Any] = OrderedDict()
        """Per-tenant module state of this host (see core.plugins.tenant_modules)."""
        self._cli_hooks: list[Callable[..., object]] = []
        env = os.environ if environ is None else environ
        switch = {s.strip() for s in env.get(KILL_SWITCH, "").split(",") if s.strip()}
        if load_entry_points:
            for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
                self._load_entry_point(entry_point, switch)
            self._load_extra(env.get(EXTRA_PLUGINS, ""), switch)
        for name, plugin in plugins:
            if "all" in switch or name in switch:
                self.records[name] = PluginRecord(name, "-", 0, "disabled", error=f"disabled by {KILL_SWITCH}")
            else:
                self._add(name, plugin, version="-")

    # -- loading --------------------------------------------------------------------------------

    def _load_entry_point(self, entry_point: importlib.metadata.EntryPoint, switch: set[str]) -> None:
        name = entry_point.name
        version = entry_point.dist.version if entry_point.dist else "-"
        if "all" in switch or name in switch:
            self.records[name] = PluginRecord(name, version, 0, "disabled", error=f"disabled by {KILL_SWITCH}")
            return
        try:
            plugin = entry_point.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the service; recorded
            self._fail(name, version, 0, f"import failed: {type(exc).__name__}: {exc}")
            return
        self._add(name, plugin, version)

    def _load_extra(self, specs: str, switch: set[str]) -> None:
        """Plugins named in ``CARECOORD_PLUGINS_EXTRA``, loaded and checked like installed entry points."""
        for spec in filter(None, (s.strip() for s in specs.split(","))):
            name, _, value = (part.strip() for part in spec.partition("="))
            if not name or not value:
                self._fail(spec, "-", 0, f"{EXTRA_PLUGINS} entries are name=module:attribute")
                continue
            self._load_entry_point(importlib.metadata.EntryPoint(name, value, ENTRY_POINT_GROUP), switch)

    def _fail(self, name: str, version: str, api: int, error: str) -> None:
        log.error("plugin %s not loaded: %s", name, error)
        self.records[name] = PluginRecord(name, version, api, "failed", error=error)

    def _add(self, name: str, plugin: object, version: str) -> None:
        api = int(getattr(plugin, "HOOK_API_VERSION", hookspecs.HOOK_API_VERSION))
        if name in self.records:
            self._fail(name, version, api, "another plugin has the same name")
            return
        if api > hookspecs.HOOK_API_VERSION:
            self._fail(name, version, api, f"needs hook API {api}; this carecoord has {hookspecs.HOOK_API_VERSION}")
            return
        unknown = sorted(
            attr
            for attr in dir(plugin)
            if self.pm.parse_hookimpl_opts(plugin, attr) is not None and attr not in _SPEC_NAMES
        )
        if unknown:
            self._fail(name, version, api, f"declares unknown hook(s): {', '.join(unknown)}")
            return
        try:
            hash(plugin)  # pluggy keeps plugins in sets when building per-tenant callers
        except TypeError:
            self._fail(name, version, api, f"the plugin object must be hashable, not a {type(plugin).__name__}")
            return
        try:
            self.pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            self._fail(name, version, api, f"invalid hook: {exc}")
            return
        try:
            module = self._collect(name, plugin)
        except Exception as exc:  # noqa: BLE001 - recorded as the plugin's failure
            self.pm.unregister(plugin)
            self._fail(name, version, api, f"registration failed: {type(exc).__name__}: {exc}")
            return
        self.records[name] = PluginRecord(name, version, api, "loaded", module=module.name)

    def _collect(self, name: str, plugin: object) -> ModuleSpec:
        """Call the plugin's registration hooks; raise (and contribute nothing) on any problem."""
        module = self._call_own(name, "register_module")
        if not isinstance(module, ModuleSpec):
            raise TypeError("register_module must return a ModuleSpec")
        if module.name in self.contributions.modules:
            raise ValueError(f"module name {module.name!r} is taken by {self.contributions.module_plugin[module.name]}")
        gathered = {hook: list(self._call_own(name, hook) or ()) for hook in REGISTRATION_HOOKS}
        for permission in gathered["register_permissions"]:
            # checked here: an unknown role would otherwise fail create_app, taking the service down
            unknown_roles = sorted(set(permission.roles) - {role.value for role in Role})
            if unknown_roles:
                raise ValueError(f"permission {permission.name!r} names unknown role(s): {', '.join(unknown_roles)}")
        for spec in gathered["register_actors"]:
            if not callable(getattr(spec, "fn", None)) or not isinstance(getattr(spec, "name", None), str):
                raise TypeError("register_actors must return ActorSpec objects (see core.plugins.sdk.actor)")
        for job in gathered["register_periodic_jobs"]:
            if not isinstance(job, PeriodicJob):
                raise TypeError("register_periodic_jobs must return PeriodicJob objects")
            from croniter import croniter

            if not croniter.is_valid(job.cron):
                raise ValueError(f"periodic job {job.name!r} has an invalid cron expression {job.cron!r}")
        for handler in gathered["register_public_routes"]:
            if not (getattr(handler, "opt", None) or {}).get("public"):
                raise ValueError(f"public route {getattr(handler, 'paths', handler)} must set opt={{'public': True}}")
        reports = owned_reports(module.name, gathered["register_reports"])
        if gathered["register_routes"]:
            from core.plugins.routes import check_routes  # imported here: it imports this module

            check_routes(module.name, gathered["register_routes"])
        contributions = self.contributions
        contributions.modules[module.name] = module
        contributions.module_plugin[module.name] = name
        if gathered["register_routes"]:
            contributions.routes[module.name] = gathered["register_routes"]
        contributions.public_routes.extend(gathered["register_public_routes"])
        contributions.piccolo_apps.extend(gathered["register_piccolo_apps"])
        contributions.actors.extend(gathered["register_actors"])
        contributions.module_actors.extend((module.name, spec) for spec in gathered["register_actors"])
        contributions.permissions.extend(gathered["register_permissions"])
        contributions.channels.extend(gathered["register_notification_channels"])
        contributions.payer_adapters.extend(
            checked_payer_adapters(gathered["register_payer_adapters"], contributions.payer_adapters)
        )
        contributions.metrics.extend(owned_metrics(module.name, gathered["register_metrics"], contributions.metrics))
        if gathered["register_portal_pages"]:
            contributions.portal_pages[module.name] = gathered["register_portal_pages"]
        contributions.periodic_jobs.extend(gathered["register_periodic_jobs"])
        contributions.reports.extend(reports)
        contributions.module_periodic_jobs.extend((module.name, job) for job in gathered["register_periodic_jobs"])
        for impl in self.pm.hook.register_cli_commands.get_hookimpls():
            if impl.plugin_name == name:
                self._cli_hooks.append(impl.function)
        return module

    def _call_own(self, name: str, hook: str) -> Any:
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            if impl.plugin_name == name:
                return impl.function()
        return None

    # -- queries ----------------------------------------------------------------------------------

    @property
    def modules(self) -> dict[str, ModuleSpec]:
        return self.contributions.modules

    def plugin_of(self, module: str) -> str:
        return self.contributions.module_plugin[module]

    def module_of(self, plugin_name: str) -> str | None:
        record = self.records.get(plugin_name)
        return record.module if record else None

    def implementations(self, hook: str, enabled_modules: frozenset[str]) -> Sequence[pluggy.HookImpl]:
        """Implementations of ``hook`` by the plugins of ``enabled_modules``, in call order.

        Built with ``subset_hook_caller`` and cached per set of enabled modules (tenants with the
        same modules share one entry); plugins are never registered or unregistered per call.
        """
        table = self._subsets.get(enabled_modules)
        if table is None:
            enabled_plugins = {self.plugin_of(m) for m in enabled_modules if m in self.modules}
            others = [p for n, p in self.pm.list_name_plugin() if n not in enabled_plugins]
            table = {
                hook_name: list(reversed(self.pm.subset_hook_caller(hook_name, remove_plugins=others).get_hookimpls()))
                for hook_name in hookspecs.EVENT_HOOKS | hookspecs.LIFECYCLE_HOOKS | hookspecs.QUERY_HOOKS
            }
            self._subsets[enabled_modules] = table
        return table[hook]

    def implements(self, hook: str) -> bool:
        """Does any loaded plugin implement ``hook``? (The fast path for core's events.)"""
        caller = getattr(self.pm.hook, hook, None)
        return caller is not None and bool(caller.get_hookimpls())

    def add_cli_commands(self, subparsers: Any) -> None:
        for add in self._cli_hooks:
            try:
                add(subparsers=subparsers)
            except Exception:
                log.exception("a plugin failed to add its CLI commands")


_default: PluginHost | None = None


def get_host() -> PluginHost:
    """The process's host, loading installed plugins on first use."""
    global _default
    if _default is None:
        _default = PluginHost()
    return _default
