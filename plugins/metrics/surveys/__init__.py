"""Patient satisfaction surveys after fulfilled appointments and closed referrals (see docs/metrics.md).

What the metrics module wires (``plugins/metrics/hooks.py``): the three hook functions, the staff
routes, the public answer page and the survey metrics.
"""

from __future__ import annotations

from plugins.metrics.surveys.metrics import SURVEY_METRICS
from plugins.metrics.surveys.public import PUBLIC_SURVEY_ROUTES
from plugins.metrics.surveys.routes import SURVEY_ROUTES
from plugins.metrics.surveys.service import (
    on_appointment_status_changed,
    on_notification_status_changed,
    on_referral_status_changed,
)

__all__ = [
    "PUBLIC_SURVEY_ROUTES",
    "SURVEY_METRICS",
    "SURVEY_ROUTES",
    "on_appointment_status_changed",
    "on_notification_status_changed",
    "on_referral_status_changed",
]
