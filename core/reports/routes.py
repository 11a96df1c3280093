"""The reports API's route handlers, for ``core.app``."""

from __future__ import annotations

from core.reports.controllers import ReportController

ROUTES = [ReportController]
