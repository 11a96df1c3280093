"""The SaaS layer's portal pages: sign-up and onboarding, and the organization's administration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tenants.portal.admin import ADMIN_PAGES
from tenants.portal.onboarding import ONBOARDING_PAGES
from tenants.portal.setup import SETUP_PAGES

TEMPLATES = Path(__file__).parent.parent / "templates"

TENANT_PAGES: list[Any] = [*ONBOARDING_PAGES, *SETUP_PAGES, *ADMIN_PAGES]
