"""The coordinator's daily screens: worklist, patient search and registration, the chart, the day's appointments.

Each page is a client of the JSON API (``core.portal.api``): validation, permissions, tenant isolation
and audit happen there, once.
"""

from __future__ import annotations

from typing import Any

from core.portal.care.appointments import APPOINTMENT_PAGES
from core.portal.care.chart import CHART_PAGES
from core.portal.care.chart_forms import CHART_FORM_PAGES
from core.portal.care.patients import PATIENT_PAGES
from core.portal.care.worklist import WORKLIST_PAGES

CARE_PAGES: list[Any] = [*WORKLIST_PAGES, *PATIENT_PAGES, *CHART_PAGES, *CHART_FORM_PAGES, *APPOINTMENT_PAGES]
