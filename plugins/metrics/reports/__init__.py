"""Scheduled KPI reports: the weekly referral report, the monthly KPI pack, subscriptions, the jobs.

What the metrics module's ``hooks.py`` wires: :data:`METRICS_REPORTS` (``register_reports``),
:data:`REPORT_ROUTES` (``register_routes``), :data:`REPORT_ACTORS` (``register_actors``) and
:data:`REPORT_PERIODIC_JOBS` (``register_periodic_jobs``).
"""

from plugins.metrics.reports.queries import METRICS_REPORTS
from plugins.metrics.reports.schedule import REPORT_ACTORS, REPORT_PERIODIC_JOBS
from plugins.metrics.reports.subscriptions import REPORT_ROUTES

__all__ = ["METRICS_REPORTS", "REPORT_ACTORS", "REPORT_PERIODIC_JOBS", "REPORT_ROUTES"]
