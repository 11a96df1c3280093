"""What the administration pages share: the permission guard, fixed status messages, API refusals as messages."""

from __future__ import annotations

import re
from typing import Any, cast

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from core.portal.api import ApiError
from core.portal.session import PortalUser, current_user

NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
"""A module's or channel's name as it may appear in an address."""
CHECK_FIELDS = "Some of the values need your attention."
FORM_REFUSALS = (400, 403, 409, 422)

def requires(permission: str) -> Any:
    """Guard: the page needs ``permission`` (the API checks it again on every call); else the 403 page."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = current_user(cast(Request[Any, Any, Any], connection))
        if user is None or not user.can(permission):
            raise PermissionDeniedException("Your role does not include this page")

    guard.__name__ = f"requires_{permission.replace(':', '_')}"
    return guard


def portal_user(request: Request[Any, Any, Any]) -> PortalUser:
    return cast(PortalUser, current_user(request))


def checked_name(name: str) -> str:
    """A module or channel name from the address; anything else is the 404 page."""
    if not NAME.match(name):
        raise NotFoundException()
    return name


def refusal(exc: ApiError, allowed: tuple[int, ...] = FORM_REFUSALS) -> ApiError:
    """``exc`` if a form should show it as a message; re-raises anything else (the error pages handle it)."""
    if exc.status not in allowed:
        raise exc
    return exc


def field_messages(exc: ApiError) -> dict[str, str]:
    """``{field: message}`` of a refusal, in plain words (the last part of a dotted path names the field)."""
    return exc.field_errors()  # already in plain words (core.portal.forms.humane)


def flash(done: str | None, messages: dict[str, str]) -> str | None:
    """The status line after a redirect: ``?done=`` names one of the page's fixed messages (no data in URLs)."""
    return messages.get(done or "")
