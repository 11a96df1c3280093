"""Loading plugins: a broken plugin is reported and left out, and never takes the service down.

Every case goes through ``PluginHost`` as start-up does; the records it keeps are what
``carecoord plugin list`` prints and what an operator reads when a plugin is missing.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient

from core.app import create_app
from core.patients.schemas import Patient
from core.plugins import manager
from core.plugins.manager import ENTRY_POINT_GROUP, EXTRA_PLUGINS, KILL_SWITCH, PluginHost
from core.plugins.sdk import HOOK_API_VERSION, ModuleSpec, PermissionSpec, PluginContext, hookimpl
from tests.conftest import Org, create_patient

ROOT = Path(__file__).resolve().parents[2]


# --- plugins, good and broken -------------------------------------------------------------------------------------


@get("/hello")
async def hello(plugin: PluginContext) -> dict[str, str]:
    return {"module": plugin.module}


class Good:
    """A plugin with nothing wrong with it."""

    def __init__(self, module: str = "good") -> None:
        self.module = module

    @hookimpl
    def register_module(self) -> ModuleSpec:
        return ModuleSpec(name=self.module, title="Good")

    @hookimpl
    def patient_created(self, ctx: PluginContext, patient: Patient) -> None:
        pass


GOOD = Good()
"""What the fake entry points below point at."""
TINY = Good("tiny")
OFF = Good("off")


class Misspelled:
    @hookimpl
    def register_module(self) -> ModuleSpec:
        return ModuleSpec(name="misspelled", title="Misspelled")

    @hookimpl
    def patient_craeted(self, ctx: PluginContext, patient: Patient) -> None:
        pass


class WrongArgument:
    @hookimpl
    def register_module(self) -> ModuleSpec:
        return ModuleSpec(name="wrong_argument", title="Wrong argument")

    @hookimpl
    def patient_deleted(self, ctx: PluginContext, patient: UUID) -> None:
        pass


class FromTheFuture:
    HOOK_API_VERSION = 99

    @hookimpl
    def register_module(self) -> ModuleSpec:
        return ModuleSpec(name="future", title="From the future")


class RaisesWhileRegistering:
    @hookimpl
    def register_module(self) -> ModuleSpec:
        raise RuntimeError("no licence key")

    @hookimpl
    def register_routes(self) -> list[Any]:
        return [hello]

    @hookimpl
    def register_permissions(self) -> list[PermissionSpec]:
        return [PermissionSpec("raises:use", "Use it")]

    @hookimpl
    def patient_created(self, ctx: PluginContext, patient: Patient) -> None:
        pass


class RoutesRaise:
    @hookimpl
    def register_module(self) -> ModuleSpec:
        return ModuleSpec(name="routes_raise", title="Routes raise")

    @hookimpl
    def register_piccolo_apps(self) -> list[str]:
        return ["routes_raise.piccolo_app"]

    @hookimpl
    def register_routes(self) -> list[Any]:
        raise ImportError("cannot import name 'Controller'")


class UnknownRole:
    @hookimpl
    def register_module(self) -> ModuleSpec:
        return ModuleSpec(name="unknown_role", title="Unknown role")

    @hookimpl
    def register_permissions(self) -> list[PermissionSpec]:
        return [PermissionSpec("unknown_role:use", "Use it", roles=frozenset({"nurse", "owner"}))]


@dataclass
class Unhashable:
    """A dataclass instance compares by value and so has no hash; pluggy needs one."""

    module: str = "unhashable"

    @hookimpl
    def register_module(self) -> ModuleSpec:
        return ModuleSpec(name=self.module, title="Unhashable")


@get("/broken")
async def broken_handler(plugin: NoSuchType) -> dict[str, str]:  # type: ignore[name-defined]  # noqa: F821
    return {}


class BrokenRoute:
    """A route handler litestar cannot build: it must fail this plugin, not the API."""

    @hookimpl
    def register_module(self) -> ModuleSpec:
        return ModuleSpec(name="broken_route", title="Broken route")

    @hookimpl
    def register_routes(self) -> list[Any]:
        return [broken_handler]


class Anonymous:
    """Implements an event hook but never says which module it is."""

    @hookimpl
    def patient_created(self, ctx: PluginContext, patient: Patient) -> None:
        pass


# --- helpers ------------------------------------------------------------------------------------------------------


def load(*plugins: tuple[str, object], environ: dict[str, str] | None = None) -> PluginHost:
    return PluginHost(load_entry_points=False, plugins=plugins, environ=environ or {})


def status(host: PluginHost) -> dict[str, str]:
    return {name: record.status for name, record in host.records.items()}


def fake_entry_points(monkeypatch: pytest.MonkeyPatch, *points: tuple[str, str]) -> None:
    """Make the host discover exactly ``points`` (name, "module:attribute") in its entry-point group."""
    entry_points = [importlib.metadata.EntryPoint(name, value, ENTRY_POINT_GROUP) for name, value in points]

    def discover(*, group: str) -> list[importlib.metadata.EntryPoint]:
        return entry_points if group == ENTRY_POINT_GROUP else []

    monkeypatch.setattr(manager.importlib.metadata, "entry_points", discover)


def carecoord(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=120,
        check=False,
    )


def installed_plugins() -> dict[str, str]:
    """Entry-point name -> version of the distribution publishing it."""
    return {
        entry_point.name: entry_point.dist.version if entry_point.dist else "-"
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    }


# --- broken plugins are recorded and left out ---------------------------------------------------------------------


def test_a_misspelled_hook_is_named_and_the_other_plugins_load() -> None:
    host = load(("misspelled", Misspelled()), ("good", Good()))

    assert status(host) == {"misspelled": "failed", "good": "loaded"}
    assert host.records["misspelled"].error == "declares unknown hook(s): patient_craeted"
    assert host.records["misspelled"].module is None
    assert set(host.modules) == {"good"}
    assert host.pm.get_plugin("misspelled") is None


def test_a_hook_with_an_argument_the_spec_does_not_have_is_refused() -> None:
    host = load(("wrong_argument", WrongArgument()))

    record = host.records["wrong_argument"]
    assert record.status == "failed"
    assert record.error is not None
    assert record.error.startswith("invalid hook:")
    assert "patient_deleted" in record.error
    assert host.modules == {}


def test_a_plugin_needing_a_newer_hook_api_is_not_loaded() -> None:
    host = load(("future", FromTheFuture()), ("good", Good()))

    record = host.records["future"]
    assert (record.status, record.hook_api_version) == ("failed", 99)
    assert record.error == f"needs hook API 99; this carecoord has {HOOK_API_VERSION}"
    assert host.records["good"].hook_api_version == HOOK_API_VERSION
    assert set(host.modules) == {"good"}


def test_a_plugin_whose_register_module_raises_contributes_nothing() -> None:
    host = load(("raises", RaisesWhileRegistering()))

    record = host.records["raises"]
    assert record.status == "failed"
    assert record.error == "registration failed: RuntimeError: no licence key"
    contributions = host.contributions
    assert (contributions.modules, contributions.routes, contributions.permissions) == ({}, {}, [])
    # Its event hooks are gone too: nothing would call it.
    assert host.pm.get_plugin("raises") is None
    assert not host.implements("patient_created")


def test_a_plugin_whose_other_registration_hook_raises_contributes_nothing() -> None:
    host = load(("routes_raise", RoutesRaise()), ("good", Good()))

    assert host.records["routes_raise"].status == "failed"
    assert host.records["routes_raise"].error == "registration failed: ImportError: cannot import name 'Controller'"
    assert set(host.modules) == {"good"}
    assert host.contributions.piccolo_apps == []


def test_a_route_handler_litestar_cannot_build_fails_its_plugin_not_the_app(settings: Any) -> None:
    host = load(("broken_route", BrokenRoute()), ("good", Good()))

    assert status(host) == {"broken_route": "failed", "good": "loaded"}
    assert host.records["broken_route"].error == "registration failed: NameError: name 'NoSuchType' is not defined"
    assert host.contributions.routes == {}
    create_app(settings, host=host)


def test_a_plugin_without_register_module_is_not_loaded() -> None:
    host = load(("anonymous", Anonymous()))

    record = host.records["anonymous"]
    assert record.status == "failed"
    assert record.error == "registration failed: TypeError: register_module must return a ModuleSpec"
    assert not host.implements("patient_created")


def test_a_permission_for_a_role_carecoord_does_not_have_is_refused(settings: Any) -> None:
    host = load(("unknown_role", UnknownRole()), ("good", Good()))

    assert status(host) == {"unknown_role": "failed", "good": "loaded"}
    assert host.records["unknown_role"].error == (
        "registration failed: ValueError: permission 'unknown_role:use' names unknown role(s): nurse"
    )
    assert host.contributions.permissions == []
    create_app(settings, host=host)  # and the app still builds


def test_a_plugin_object_without_a_hash_is_refused() -> None:
    host = load(("unhashable", Unhashable()), ("good", Good()))

    assert status(host) == {"unhashable": "failed", "good": "loaded"}
    assert host.records["unhashable"].error == "the plugin object must be hashable, not a Unhashable"
    assert host.implementations("patient_created", frozenset({"good"}))  # per-tenant callers still build


def test_the_second_plugin_claiming_a_module_name_is_refused() -> None:
    host = load(("first", Good("shared")), ("second", Good("shared")))

    assert status(host) == {"first": "loaded", "second": "failed"}
    assert host.records["second"].error == "registration failed: ValueError: module name 'shared' is taken by first"
    assert host.plugin_of("shared") == "first"


def test_the_second_plugin_with_the_same_plugin_name_is_refused() -> None:
    host = load(("twin", Good("one")), ("twin", Good("two")))

    assert host.records["twin"].status == "failed"
    assert host.records["twin"].error == "another plugin has the same name"
    assert set(host.modules) == {"one"}


def test_an_entry_point_that_fails_to_import_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_entry_points(
        monkeypatch,
        ("vanished", "carecoord_no_such_plugin.hooks"),
        ("good", f"{__name__}:GOOD"),
    )
    host = PluginHost(environ={})

    assert status(host) == {"vanished": "failed", "good": "loaded"}
    error = host.records["vanished"].error
    assert error is not None
    assert error.startswith("import failed: ModuleNotFoundError:")
    assert "carecoord_no_such_plugin" in error
    assert set(host.modules) == {"good"}


# --- the kill switch ----------------------------------------------------------------------------------------------


def test_the_kill_switch_all_disables_every_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_entry_points(monkeypatch, ("vanished", "carecoord_no_such_plugin.hooks"), ("good", f"{__name__}:GOOD"))

    host = PluginHost(plugins=[("inline", Good("inline"))], environ={KILL_SWITCH: "all"})

    # Not even imported: the broken entry point is disabled, not failed.
    assert status(host) == {"vanished": "disabled", "good": "disabled", "inline": "disabled"}
    assert host.records["good"].error == f"disabled by {KILL_SWITCH}"
    assert host.modules == {}


def test_the_kill_switch_names_the_plugins_to_leave_out(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_entry_points(monkeypatch, ("vanished", "carecoord_no_such_plugin.hooks"), ("good", f"{__name__}:GOOD"))

    host = PluginHost(plugins=[("inline", Good("inline"))], environ={KILL_SWITCH: " vanished , inline "})

    assert status(host) == {"vanished": "disabled", "good": "loaded", "inline": "disabled"}
    assert set(host.modules) == {"good"}


def test_the_kill_switch_is_read_from_the_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KILL_SWITCH, "inline")
    host = PluginHost(load_entry_points=False, plugins=[("inline", Good("inline"))])

    assert status(host) == {"inline": "disabled"}


# --- plugins given in the environment (the benchmarks' tiny plugins) ---------------------------------------------


def test_extra_plugins_from_the_environment_load_like_installed_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_entry_points(monkeypatch, ("installed", f"{__name__}:GOOD"))
    extra = f" tiny = {__name__}:TINY , typo={__name__}:MISSING,no-equals-sign, off={__name__}:OFF"

    host = PluginHost(environ={EXTRA_PLUGINS: extra, KILL_SWITCH: "off"})

    assert status(host) == {
        "installed": "loaded",
        "tiny": "loaded",
        "typo": "failed",
        "no-equals-sign": "failed",
        "off": "disabled",
    }
    assert set(host.modules) == {"good", "tiny"}
    assert host.records["tiny"].version == "-"
    assert (host.records["typo"].error or "").startswith("import failed: AttributeError")
    assert host.records["no-equals-sign"].error == f"{EXTRA_PLUGINS} entries are name=module:attribute"


def test_extra_plugins_are_not_loaded_without_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(EXTRA_PLUGINS, f"tiny={__name__}:TINY")
    host = PluginHost(load_entry_points=False, plugins=[("inline", Good("inline"))])

    assert status(host) == {"inline": "loaded"}


# --- what the operator sees -------------------------------------------------------------------------------------


def test_carecoord_plugin_list_shows_installed_plugins() -> None:
    listed = carecoord("plugin", "list")
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split("\t") == ["name", "version", "hook_api", "status", "module", "error"]
    by_name = {row.split("\t")[0]: row.split("\t") for row in rows}
    installed = installed_plugins()
    assert set(by_name) == set(installed)

    if "partner_example" not in by_name:
        pytest.skip("the example partner package (tests/partner_example) is not installed in this environment")
    _, version, hook_api, state, module, error = by_name["partner_example"]
    assert (version, hook_api, state, error) == (installed["partner_example"], str(HOOK_API_VERSION), "loaded", "")
    assert module != "-"

    switched_off = carecoord("plugin", "list", **{KILL_SWITCH: "all"})
    assert switched_off.returncode == 0, switched_off.stderr
    rows = switched_off.stdout.splitlines()[1:]
    assert rows
    assert {row.split("\t")[3] for row in rows} == {"disabled"}


async def test_the_service_runs_with_a_failed_plugin(app_client: Any, settings: Any, org: Org) -> None:
    host = load(("misspelled", Misspelled()), ("raises", RaisesWhileRegistering()), ("good", Good()))
    assert status(host) == {"misspelled": "failed", "raises": "failed", "good": "loaded"}
    app: Litestar = create_app(settings, host=host)
    api: AsyncTestClient[Any] = app_client(app)

    health = await api.get("/health")
    assert health.status_code == 200, health.text
    patient = await create_patient(api, org)
    assert (await api.get(f"/api/v1/patients/{patient['id']}", headers=org.headers)).status_code == 200
    modules = await api.get("/api/v1/admin/modules", headers=org.headers)
    assert modules.status_code == 200, modules.text
    assert [m["name"] for m in modules.json()] == ["good"]
    # The failed plugin's route was never mounted.
    assert (await api.get("/api/v1/raises/hello", headers=org.headers)).status_code == 404


@pytest.mark.parametrize("name", ["patients", "admin", "worklist"])
def test_a_module_named_like_a_core_route_is_refused(name: str) -> None:
    class Squatter:
        @staticmethod
        @hookimpl
        def register_module() -> ModuleSpec:
            return ModuleSpec(name=name, title="Squatter")

    host = PluginHost(load_entry_points=False, plugins=[("squatter", Squatter)])
    record = host.records["squatter"]
    assert record.status == "failed"
    assert "reserved" in (record.error or "")
    assert name not in host.modules
