"""Core's portal pages: login, MFA, and the coordinator's daily screens."""

from __future__ import annotations

from typing import Any

from core.portal.auth_pages import AUTH_PAGES
from core.portal.care import CARE_PAGES

CORE_PAGES: list[Any] = [*AUTH_PAGES]
CORE_PAGES += CARE_PAGES
