"""The ``Allow`` header of an OPTIONS answer lists every method of the path.

litestar answers OPTIONS with a handler it makes per route, which reads the methods of the route it was
made for. When handlers of one path come from two places (a controller's list and its create, say), the
route is made again with both, but the OPTIONS handler kept is the first one's: ``Allow: OPTIONS, POST``
where GET works too (found by schemathesis' allow-header check). This ``before_send`` hook sets the header
from the app's final routes.
"""

from __future__ import annotations

import re
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.routes import HTTPRoute
from litestar.types import Message, Scope

STATE_KEY = "allowed_methods"
"""Where the table lives: the app's own state (made on the first OPTIONS request)."""
_PARAMETER_TYPE = re.compile(r":[^}]+}")


def _allowed(app: Any) -> dict[str, str]:
    """Methods by path, parameters' types left out: ``/teams/{team_id:uuid}`` and ``/teams/{team_id:str}``
    are two routes of one path."""
    table: dict[str, str] | None = app.state.get(STATE_KEY)
    if table is None:
        methods: dict[str, set[str]] = {}
        for route in app.routes:
            if isinstance(route, HTTPRoute):
                methods.setdefault(_PARAMETER_TYPE.sub("}", route.path), set()).update(route.methods)
        table = {path: ", ".join(sorted(names)) for path, names in methods.items()}
        app.state[STATE_KEY] = table
    return table


async def correct_allow_header(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    headers = MutableScopeHeaders.from_message(message)
    if "allow" not in headers:
        return
    methods = _allowed(scope["app"]).get(_PARAMETER_TYPE.sub("}", scope.get("path_template", "")))
    if methods:
        headers["Allow"] = methods
