"""Security headers on every portal response (pages, fragments, errors and the portal's static files).

The CSP allows no inline script and no inline style: every script and style sheet is a file under
``/static/portal/``, and pages pass data to scripts through ``data-`` attributes. Portal responses are
never stored by the browser (``no-store``), so the back button after logout shows no patient data.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)

PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
NO_STORE = {"Cache-Control": "no-store, max-age=0", "Pragma": "no-cache"}


def security_headers_middleware(app: ASGIApp, *, cache: bool = False) -> ASGIApp:
    """Adds :data:`PAGE_HEADERS` (and ``no-store`` unless ``cache``) to every response of ``app``."""
    headers = PAGE_HEADERS if cache else {**PAGE_HEADERS, **NO_STORE}

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                mutable = MutableScopeHeaders.from_message(message)
                for name, value in headers.items():
                    mutable[name] = value
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


def static_security_headers_middleware(app: ASGIApp) -> ASGIApp:
    return security_headers_middleware(app, cache=True)
