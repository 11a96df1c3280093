"""The notification routes, for ``core.app``."""

from __future__ import annotations

from typing import Any

from core.notifications.controllers import (
    ChannelAdminController,
    NotificationController,
    TemplateAdminController,
    provider_callback,
)

ROUTES: list[Any] = [NotificationController, provider_callback, ChannelAdminController, TemplateAdminController]
