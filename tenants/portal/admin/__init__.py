"""The organization's administration pages (``/portal/admin/...``), one module per page group.

Every page checks the user's permission (the same one the API checks again on each call) and works
only through the JSON API: validation, permissions, tenant isolation and audit stay there.
"""

from __future__ import annotations

from typing import Any

from tenants.portal.admin.api_keys import API_KEY_PAGES
from tenants.portal.admin.audit import AUDIT_PAGES
from tenants.portal.admin.channels import CHANNEL_PAGES
from tenants.portal.admin.dead_letters import DEAD_LETTER_PAGES
from tenants.portal.admin.modules import MODULE_PAGES
from tenants.portal.admin.organization import ORGANIZATION_PAGES
from tenants.portal.admin.usage import USAGE_PAGES
from tenants.portal.admin.users import USER_PAGES

ADMIN_PAGES: list[Any] = [
    *ORGANIZATION_PAGES,
    *MODULE_PAGES,
    *USER_PAGES,
    *API_KEY_PAGES,
    *CHANNEL_PAGES,
    *AUDIT_PAGES,
    *DEAD_LETTER_PAGES,
    *USAGE_PAGES,
]
