"""Every actor the workers run: core's own and the loaded plugins', by their full dramatiq name.

A plugin's actor is ``{module}.{name}`` (``reminders.send_touch``); core's are grouped under
the core areas that own them (``core.ping``, ``notifications.send``, ``reports.build``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from core.plugins.manager import PluginHost
from core.plugins.sdk import ActorSpec

CORE_ACTORS: tuple[tuple[str, str, str], ...] = (
    # (module, python module, attribute)
    ("core", "core.jobs.ping", "PING"),
    ("notifications", "core.notifications.actors", "SEND_NOTIFICATION"),
    ("notifications", "core.notifications.actors", "RELEASE_DEFERRED"),
    ("reports", "core.reports.actors", "BUILD_REPORT"),
)
CORE_MODULES = frozenset(module for module, _, _ in CORE_ACTORS)
"""Actor groups that belong to core: always enabled, no per-tenant module settings."""


@dataclass(frozen=True)
class BoundActor:
    """An actor with the module it belongs to and its full name."""

    name: str
    module: str
    spec: ActorSpec

    @property
    def queue(self) -> str:
        return self.spec.queue


def full_name(module: str, spec: ActorSpec) -> str:
    return spec.name if spec.name.startswith(f"{module}.") else f"{module}.{spec.name}"


def core_actors() -> list[BoundActor]:
    bound = []
    for module, path, attribute in CORE_ACTORS:
        try:
            spec = getattr(importlib.import_module(path), attribute)
        except (ImportError, AttributeError):
            continue  # an area not built into this version of carecoord
        bound.append(BoundActor(full_name(module, spec), module, spec))
    return bound


def plugin_actors(host: PluginHost) -> list[BoundActor]:
    """Actors the loaded plugins declared, each under its plugin's module name."""
    return [BoundActor(full_name(module, spec), module, spec) for module, spec in host.contributions.module_actors]


def actor_catalog(host: PluginHost) -> dict[str, BoundActor]:
    """Full name -> actor; a plugin can never shadow a core actor."""
    catalog: dict[str, BoundActor] = {}
    for bound in [*core_actors(), *plugin_actors(host)]:
        catalog.setdefault(bound.name, bound)
    return catalog
