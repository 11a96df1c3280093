"""The notification routes, for ``core.app``."""

from __future__ import annotations

from typing import Any

from core.notifications.controllers import (
    ChannelAdminController,
    NotificationController,
    TemplateAdminController,
    provider_callback,
)
from core.notifications.inbound_controllers import inbound_email, inbound_sms, list_inbound_messages

ROUTES: list[Any] = [
    NotificationController,
    provider_callback,
    list_inbound_messages,
    inbound_sms,
    inbound_email,
    ChannelAdminController,
    TemplateAdminController,
]
