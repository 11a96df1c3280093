"""The metrics module's portal pages: the KPI dashboard with sparklines, and reports with live progress."""

from __future__ import annotations

from core.plugins.sdk import PortalPage
from plugins.metrics.portal.dashboard import DashboardPages
from plugins.metrics.portal.reports import ReportPages

PORTAL_PAGES = [
    PortalPage(path="dashboard", title="Metrics dashboard", handler=DashboardPages, menu_section="Reports"),
    PortalPage(path="reports", title="Reports", handler=ReportPages, menu_section="Reports"),
]
