"""The insurance module's portal pages: the prior-authorization queue and each authorization's page."""

from __future__ import annotations

from core.plugins.sdk import PortalPage
from plugins.insurance.portal.detail import AuthorizationPages
from plugins.insurance.portal.queue import QueuePages


class PriorAuthorizationPages(QueuePages, AuthorizationPages):
    """The queue and each authorization's page (one menu entry: the queue)."""


PORTAL_PAGES = [
    PortalPage(path="prior-auths", title="Prior authorizations", handler=PriorAuthorizationPages, menu_section="Work"),
]
