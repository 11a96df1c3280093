"""What litestar's generated API document leaves out, added so that it says what the service does.

**Error answers.** Every operation's error answers are RFC 9457 problems, as they really are sent.

litestar documents one error per operation, a 400 with its own validation body as ``application/json``;
carecoord answers every error with ``application/problem+json`` (``core.http.problems``) and any operation
can meet the usual ones: a bad request, no or a revoked credential, a role without the permission, an id
that is not there (or is another organization's), a conflict, a rule broken, a body too large or of the
wrong type, a rate limit, PostgreSQL or Redis unavailable. The document says so for each operation, with
one ``Problem`` schema, so a client generator and schemathesis' response checks see what is sent.

**Public operations.** An operation that needs no credential (sign-up, log-in, health, a signed provider
callback: handlers with ``opt={"public": True}`` or under the auth middleware's public paths) says so with
``security: []``; every other one inherits the document's bearer-or-API-key requirement.

**Unknown fields.** A request struct declared ``forbid_unknown_fields=True`` refuses a body with a field it
does not know (a 400), but litestar documents it as an open object; it is ``additionalProperties: false``.

litestar has no hook after it builds the document, so :func:`complete_document` builds it when the app is
made and completes it (schemathesis' response and request checks hold the service to it).

**List items.** The item constraints litestar drops (a language tag's pattern), from msgspec's schema, and
the scopes an API key may have (``core.http.openapi_item_constraints``).

**Links.** Which created record's ``id`` feeds which later operation (``core.http.openapi_links``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Litestar
from litestar.openapi.spec import OpenAPI, OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Reference, Schema

PROBLEM_MEDIA_TYPE = "application/problem+json"
ERRORS: dict[int, str] = {
    400: "Bad request: a malformed body, parameter or header (``errors`` names each field)",
    401: "No credential, or one that is invalid, expired or revoked",
    403: "The credential's role lacks the permission, or the module is not enabled for the organization",
    404: "No such record in this organization (another organization's ids answer the same)",
    409: "Conflicts with the record's current state or a unique value",
    413: "The body is larger than the route accepts",
    415: "The body's media type is not one the route accepts",
    422: "Well-formed but breaks a rule (a referenced record does not exist, a value out of range)",
    429: "Too many requests: retry after the time in ``Retry-After``",
    503: "PostgreSQL or Redis is briefly unavailable: retry after the time in ``Retry-After``",
}
LITESTAR_VALIDATION = "Bad request syntax or unsupported method"
"""The description of litestar's own 400, replaced by the problem one."""

PROBLEM = Schema(
    type=OpenAPIType.OBJECT,
    description="An RFC 9457 problem",
    required=["type", "title", "status"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, description="A stable reference to the kind of problem"),
        "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING, description="What went wrong, in a sentence"),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            description="For a 400: one entry per invalid field",
            items=Schema(type=OpenAPIType.OBJECT, additional_properties=True),
        ),
    },
    additional_properties=True,
)

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _problem_response(status: int) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=ERRORS[status],
        content={PROBLEM_MEDIA_TYPE: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))},
    )


def add_problems(openapi: OpenAPI) -> OpenAPI:
    """Add the ``Problem`` schema and the error answers to every operation of ``openapi`` (in place)."""
    components = openapi.components
    schemas: dict[str, Any] = dict(components.schemas or {}) if components is not None else {}
    schemas["Problem"] = PROBLEM
    if components is not None:
        components.schemas = schemas
    for path_item in (openapi.paths or {}).values():
        for method in METHODS:
            operation = getattr(path_item, method, None)
            if operation is None:
                continue
            responses = dict(operation.responses or {})
            for status in ERRORS:
                current = responses.get(str(status))
                if current is None or getattr(current, "description", None) == LITESTAR_VALIDATION:
                    responses[str(status)] = _problem_response(status)
            operation.responses = responses
    return openapi


def component_schemas(openapi: OpenAPI) -> Mapping[str, Any]:
    """The document's ``components.schemas`` themselves (empty if it has none)."""
    return (openapi.components.schemas or {}) if openapi.components is not None else {}


def _struct_classes() -> list[type[msgspec.Struct]]:
    found: list[type[msgspec.Struct]] = []
    stack = list(msgspec.Struct.__subclasses__())
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found


def close_strict_objects(openapi: OpenAPI, structs: list[type[msgspec.Struct]]) -> OpenAPI:
    """``additionalProperties: false`` on the components of structs that forbid unknown fields (in place).

    litestar names a component after its class; a name that two classes share, one strict and one not,
    is left open.
    """
    strict: set[str] = set()
    lenient: set[str] = set()
    for cls in structs:
        (strict if cls.__struct_config__.forbid_unknown_fields else lenient).add(cls.__name__)
    for name, schema in component_schemas(openapi).items():
        if name in strict and name not in lenient and isinstance(schema, Schema) and schema.type == OpenAPIType.OBJECT:
            schema.additional_properties = False
    return openapi


def mark_public(app: Litestar, openapi: OpenAPI) -> OpenAPI:
    """``security: []`` on the operations the auth middleware lets through without a credential (in place)."""
    from core.auth.middleware import PUBLIC_PATHS

    public_paths = [re.compile(pattern) for pattern in PUBLIC_PATHS]
    paths = openapi.paths or {}
    for route in app.routes:
        path_item = paths.get(route.path_format or "/")
        if path_item is None:
            continue
        for handler in getattr(route, "route_handlers", ()):
            if not (handler.opt.get("public") or any(p.search(route.path) for p in public_paths)):
                continue
            for method in handler.http_methods:
                operation = getattr(path_item, method.lower(), None)
                if operation is not None:
                    operation.security = []
    return openapi


def complete_document(app: Litestar) -> None:
    """Build ``app``'s OpenAPI document now and complete it (see the module docstring).

    litestar builds the document once and keeps it (it is rebuilt only if a route is registered later,
    which carecoord never does after start), so the answers stay in what ``/schema`` serves.
    """
    from core.auth.permissions import api_key_scopes
    from core.http.openapi_item_constraints import enumerate_api_key_scopes, restore_item_constraints
    from core.http.openapi_links import add_links  # both use component_schemas from here

    structs = _struct_classes()
    openapi = close_strict_objects(add_problems(app.openapi_schema), structs)
    restore_item_constraints(openapi, structs)
    enumerate_api_key_scopes(openapi, api_key_scopes())
    add_links(mark_public(app, openapi))
