"""The reminders module's portal page: a day's appointments with where each one's reminders stand."""

from __future__ import annotations

from core.plugins.sdk import PortalPage
from plugins.reminders.portal.day import DayPages

PORTAL_PAGES = [PortalPage(path="day", title="Reminders by day", handler=DayPages, menu_section="Work")]
