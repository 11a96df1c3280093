"""The portal's client of the JSON API: in-process ASGI calls made as the logged-in user.

The browser holds only the portal's session cookie; the session (server side, in Redis) holds the
user's API tokens. A page calls ``await portal_api(request).get("/api/v1/patients/...")``: the request
goes through the same middleware, guards, RLS transaction and audit as any API client's, with the
browser's address and request id, so the audit trail reads the same whichever door was used.
"""

from __future__ import annotations

from typing import Any, cast

import httpx
from litestar import Request, Response

from core.portal.forms import humane
from core.portal.session import PortalUser, current_user

INTERNAL_BASE = "http://carecoord.internal"


class ApiError(Exception):
    """The API refused a call: its status and RFC 9457 problem body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body.get('detail') or body.get('title')}")
        self.status = status
        self.body = body

    @property
    def message(self) -> str:
        return str(self.body.get("detail") or self.body.get("title") or "The request was refused")

    def field_errors(self) -> dict[str, str]:
        """``{field: message}`` from the problem's ``errors`` (``field`` or ``key`` names the input)."""
        found: dict[str, str] = {}
        for error in self.body.get("errors") or []:
            if isinstance(error, dict):
                name = str(error.get("field") or error.get("key") or "")
                name = name.removeprefix("$.").split(".")[-1] if name else ""
                if name and name not in found:
                    found[name] = humane(str(error.get("message") or "invalid value"))
        return found


class PortalApi:
    """Calls ``request.app`` over ASGI with the user's bearer token (or none, for public routes)."""

    def __init__(self, request: Request[Any, Any, Any], user: PortalUser | None) -> None:
        self._request = request
        self._user = user

    def _client(self) -> httpx.AsyncClient:
        client = self._request.client
        transport = httpx.ASGITransport(
            app=cast(Any, self._request.app),
            raise_app_exceptions=False,
            client=(client.host, client.port) if client else ("127.0.0.1", 0),
        )
        headers = {"X-Request-ID": str(self._request.scope.get("state", {}).get("request_id", ""))}
        if self._user is not None:
            headers["Authorization"] = f"Bearer {self._user.access_token}"
        return httpx.AsyncClient(transport=transport, base_url=INTERNAL_BASE, headers=headers, timeout=60)

    async def response(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The raw answer, whatever its status (for files and streams)."""
        async with self._client() as client:
            return await client.request(method, path, **kwargs)

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The decoded JSON answer (None for 204); raises :class:`ApiError` for any 4xx/5xx."""
        answer = _checked(await self.response(method, path, **kwargs))
        if answer.status_code == 204 or not answer.content:
            return None
        return answer.json()

    async def download(self, path: str, params: dict[str, Any] | None = None) -> Response[bytes]:
        """A file the API serves (report, CSV export), passed on to the browser with its type and file name.

        The whole file is held in memory on the way (reports are capped by ``REPORT_MAX_ROWS``).
        """
        answer = _checked(await self.response("GET", path, params=params))
        headers = {name: answer.headers[name] for name in DOWNLOAD_HEADERS if name in answer.headers}
        media_type = answer.headers.get("content-type", "application/octet-stream")
        return Response(content=answer.content, status_code=200, media_type=media_type, headers=headers)

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        return await self.call("GET", path, params=clean)

    async def post(self, path: str, json: Any = None) -> Any:
        return await self.call("POST", path, json=json if json is not None else {})

    async def put(self, path: str, json: Any) -> Any:
        return await self.call("PUT", path, json=json)

    async def patch(self, path: str, json: Any) -> Any:
        return await self.call("PATCH", path, json=json)

    async def delete(self, path: str) -> Any:
        return await self.call("DELETE", path)


DOWNLOAD_HEADERS = ("content-disposition", "x-export-truncated")


def _checked(answer: httpx.Response) -> httpx.Response:
    if answer.status_code >= 400:
        try:
            body = answer.json()
        except ValueError:
            body = {"title": answer.reason_phrase}
        raise ApiError(answer.status_code, body if isinstance(body, dict) else {"title": str(body)})
    return answer


def portal_api(request: Request[Any, Any, Any], *, public: bool = False) -> PortalApi:
    """The API as the request's logged-in user (``public=True``: as an anonymous caller)."""
    return PortalApi(request, None if public else cast(PortalUser, current_user(request)))
