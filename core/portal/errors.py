"""What the browser sees when a portal page fails: an HTML page with the right status, never a trace.

A missing session sends the browser to the login form (``HX-Redirect`` for htmx requests). An API
refusal keeps its status: a foreign id is the same "Not found" page as a random one.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect

from core.log import log_exception
from core.portal.api import ApiError
from core.portal.rendering import render_without_menu
from core.portal.session import LoginRequiredError, MfaEnrolmentRequiredError, end_session

log = logging.getLogger("carecoord.portal")

_MESSAGES = {
    400: "The request could not be understood.",
    403: "You are not allowed to do that, or the form expired. Reload the page and try again.",
    404: "There is nothing here, or it is not yours to see.",
    405: "That action is not available here.",
    409: "Someone else changed this in the meantime. Reload and try again.",
    410: "This link has expired.",
    429: "Too many attempts. Wait a minute and try again.",
}


def _redirect(request: Request[Any, Any, Any], location: str) -> Response[Any]:
    if request.headers.get("hx-request") == "true":
        return Response(content=b"", status_code=204, headers={"HX-Redirect": location})
    return Redirect(path=location, status_code=303)


def login_required_handler(request: Request[Any, Any, Any], exc: LoginRequiredError) -> Response[Any]:
    return _redirect(request, f"/portal/login?ended={quote(exc.reason)}")


def mfa_required_handler(request: Request[Any, Any, Any], _: MfaEnrolmentRequiredError) -> Response[Any]:
    return _redirect(request, "/portal/mfa")


def error_page(request: Request[Any, Any, Any], status: int, message: str | None = None) -> Response[Any]:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    template = "core/fragments/error.html" if request.headers.get("hx-request") == "true" else "core/error.html"
    return render_without_menu(
        request,
        template,
        status_code=status,
        status=status,
        title=phrase,
        message=message or _MESSAGES.get(status, "Something went wrong."),
    )


def api_error_handler(request: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    if exc.status == 401:
        end_session(request)
        return login_required_handler(request, LoginRequiredError("ended"))
    message = exc.message if exc.status in (400, 409, 410, 422, 429) else None
    return error_page(request, exc.status if exc.status < 500 else 502, message)


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status >= 500:
        log_exception(log, "portal page failed", exc)
        return error_page(request, 500, "Something went wrong on our side. Try again in a moment.")
    if status == 403 and "CSRF" in str(exc.detail):
        return error_page(request, 403, "The form expired or did not come from this site. Reload and retry.")
    return error_page(request, status, None if status != 400 else "Some of the values sent are not valid.")


def unexpected_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log_exception(log, "portal page failed", exc)
    return error_page(request, 500, "Something went wrong on our side. Try again in a moment.")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    LoginRequiredError: login_required_handler,
    MfaEnrolmentRequiredError: mfa_required_handler,
    ApiError: api_error_handler,
    HTTPException: http_error_handler,
    Exception: unexpected_error_handler,
}
