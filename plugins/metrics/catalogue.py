"""The metrics an organization sees: those of the modules it enabled, with its own targets."""

from __future__ import annotations

from typing import Any

from core.metrics.spec import MetricSpec
from core.plugins.manager import get_host
from core.plugins.sdk import PluginContext
from core.plugins.tenant_modules import tenant_modules
from plugins.metrics.settings import MetricsSettings


async def available(plugin: PluginContext) -> list[MetricSpec]:
    """Every registered metric whose module this tenant enabled, by category then name."""
    host = plugin.plugins or get_host()
    enabled = (await tenant_modules(host, plugin.tx, plugin.tenant_id)).enabled
    specs = [spec for spec in host.contributions.metrics if spec.module in enabled]
    return sorted(specs, key=lambda spec: (spec.category.lower(), spec.name))


async def find(plugin: PluginContext, name: str) -> MetricSpec | None:
    """The metric called ``name`` if this tenant may see it (a disabled module's metric is unknown)."""
    return next((spec for spec in await available(plugin) if spec.name == name), None)


def target_of(spec: MetricSpec, settings: Any) -> float | None:
    """The organization's goal for ``spec``: its override in the module settings, else the default."""
    if isinstance(settings, MetricsSettings) and spec.name in settings.targets:
        return settings.targets[spec.name]
    return spec.target
