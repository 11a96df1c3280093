"""What the browser sees when a portal page fails: an HTML page with the right status, never a trace.

A missing session sends the browser to the login form (``HX-Redirect`` for htmx requests). An API
refusal keeps its status: a foreign id is the same "Not found" page as a random one.

PostgreSQL or Redis briefly unavailable (a restart, a failover; the API answers 503, or the session
store cannot be read) is a 503 page with ``Retry-After``: a page that was only being read reloads itself
after that many seconds and is back once they are, the session intact; a form that was being sent says
so, since its change may not have been saved.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect

from core.http.problems import OUTAGES, is_outage
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


OUTAGE_RETRY_SECONDS = 5
"""How soon a page met by an outage reloads itself (``Retry-After`` and the page's refresh)."""


def error_page(
    request: Request[Any, Any, Any], status: int, message: str | None = None, *, reload_after: int | None = None
) -> Response[Any]:
    """The error page (a fragment for htmx); ``reload_after``: seconds after which the page loads itself again."""
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    template = "core/fragments/error.html" if request.headers.get("hx-request") == "true" else "core/error.html"
    return render_without_menu(
        request,
        template,
        status_code=status,
        status=status,
        title=phrase,
        message=message or _MESSAGES.get(status, "Something went wrong."),
        reload_after=reload_after,
    )


def outage_page(request: Request[Any, Any, Any], cause: str) -> Response[Any]:
    log.warning("portal page met an outage: %s", cause)
    if request.method in ("GET", "HEAD"):
        message = "A service this page needs is briefly unavailable. The page tries again in a few seconds."
        response = error_page(request, 503, message, reload_after=OUTAGE_RETRY_SECONDS)
    else:
        message = (
            "A service was briefly unavailable, so this may not have been saved. "
            "Check in a moment, and send it again if it is not there."
        )
        response = error_page(request, 503, message)
    response.headers["Retry-After"] = str(OUTAGE_RETRY_SECONDS)
    return response


def outage_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return outage_page(request, f"{type(exc).__name__}: {exc}")


def api_error_handler(request: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    if exc.status == 401:
        end_session(request)
        return login_required_handler(request, LoginRequiredError("ended"))
    if exc.status == 503:
        return outage_page(request, f"the API answered 503: {exc.message}")
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
    if is_outage(exc):  # a group: a dependency's cleanup met the same outage as the handler
        return outage_handler(request, exc)
    log_exception(log, "portal page failed", exc)
    return error_page(request, 500, "Something went wrong on our side. Try again in a moment.")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    LoginRequiredError: login_required_handler,
    MfaEnrolmentRequiredError: mfa_required_handler,
    ApiError: api_error_handler,
    HTTPException: http_error_handler,
    **dict.fromkeys(OUTAGES, outage_handler),
    Exception: unexpected_error_handler,
}
