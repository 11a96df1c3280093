"""Which reports exist, and which of them a tenant may run.

Core's reports are always available; a plugin's (``register_reports``) only to tenants that enabled
its module, listed as ``{module}.{name}`` so two plugins never collide with each other or with core.
"""

from __future__ import annotations

from uuid import UUID

from core.db.tenant import Tx
from core.plugins.manager import PluginHost
from core.plugins.records import ReportSpec
from core.plugins.tenant_modules import tenant_modules
from core.reports.builtin import CORE_REPORTS


def all_reports(host: PluginHost) -> dict[str, ReportSpec]:
    """Every report this process knows, by full name; core's come first and cannot be shadowed."""
    catalogue = {spec.full_name: spec for spec in CORE_REPORTS}
    for spec in host.contributions.reports:
        catalogue.setdefault(spec.full_name, spec)
    return catalogue


async def tenant_reports(host: PluginHost, tx: Tx, tenant_id: UUID) -> dict[str, ReportSpec]:
    """The reports ``tenant_id`` may run now: core's plus those of the modules it enabled."""
    catalogue = all_reports(host)
    if not host.contributions.reports:
        return catalogue
    enabled = (await tenant_modules(host, tx, tenant_id)).enabled
    return {name: spec for name, spec in catalogue.items() if spec.module in ("", "core") or spec.module in enabled}
