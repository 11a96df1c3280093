"""OpenAPI links: which answer's ``id`` feeds which later operation, derived from the document itself.

A client (or schemathesis' stateful engine) that creates a patient needs to know that the ``id`` it got back
is the ``patient_id`` of ``GET /patients/{patient_id}``, of ``POST /patients/{patient_id}/contacts``, and of
the ``patient_id`` field in the body of ``POST /appointments``. OpenAPI says so with links on the creating
operation's 201 answer; litestar writes none, so they are derived here from two conventions every route
in core and the plugins follows:

**Producers.** ``POST <collection>`` answering 201 with a body that has an ``id`` creates the record that
``<collection>/{name}`` addresses (``POST /patients`` -> ``patient_id``, ``POST /patients/{patient_id}/
contacts`` -> ``contact_id``). Where the record lives under another path (a care plan started at
``/patients/{patient_id}/care-plans`` is read at ``/care-plans/{plan_id}``), the ``GET`` answering the
same schema names it.

**Consumers.** An operation takes a produced id as a path parameter of that name, or as a UUID body field
of that name or ending in ``_<name>`` (``target_practitioner_id`` takes a ``practitioner_id``). The link
carries the producer's own path parameters over when the consumer has them too (a contact's
``patient_id``); a consumer needing some other path parameter is left to the client.

A new route that follows the conventions is linked without a change here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from litestar.openapi.spec import Link, OpenAPI, Operation, PathItem, Reference, Schema

from core.http.openapi_document import component_schemas

PATH_PARAMETER = re.compile(r"\{([^}]+)\}")
WRITE_METHODS = ("post", "put", "patch")
ALL_METHODS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True)
class Producer:
    path: str
    operation: Operation
    produces: str
    """The path parameter name the created record's ``id`` fills (``patient_id``)."""


def _component(openapi: OpenAPI, schema: Any) -> tuple[str | None, Schema | None]:
    if isinstance(schema, Reference):
        name = schema.ref.rsplit("/", 1)[-1]
        found = component_schemas(openapi).get(name)
        return name, found if isinstance(found, Schema) else None
    return None, schema if isinstance(schema, Schema) else None


def _json_schema(openapi: OpenAPI, content: Any) -> tuple[str | None, Schema | None]:
    media = (content or {}).get("application/json")
    return _component(openapi, media.schema) if media is not None else (None, None)


def _answer_component(openapi: OpenAPI, operation: Operation, status: str) -> tuple[str | None, Schema | None]:
    response = (operation.responses or {}).get(status)
    if response is None or isinstance(response, Reference):
        return None, None
    return _json_schema(openapi, response.content)


def _operations(openapi: OpenAPI) -> Iterator[tuple[str, str, Operation]]:
    for path, item in (openapi.paths or {}).items():
        for method in ALL_METHODS:
            operation = getattr(item, method, None) if isinstance(item, PathItem) else None
            if operation is not None:
                yield path, method, operation


def _last_parameter(path: str) -> str | None:
    match = re.search(r"/\{([^}]+)\}$", path)
    return match.group(1) if match else None


def find_producers(openapi: OpenAPI) -> list[Producer]:
    """The creating operations and the id name each one's answer fills (see the module docstring)."""
    paths = openapi.paths or {}
    readers: dict[str, str] = {}
    """component name -> path parameter of the GET that answers it"""
    for path, method, operation in _operations(openapi):
        name, _ = _answer_component(openapi, operation, "200")
        last = _last_parameter(path)
        if method == "get" and name and last:
            readers.setdefault(name, last)
    producers = []
    for path, method, operation in _operations(openapi):
        if method != "post":
            continue
        name, schema = _answer_component(openapi, operation, "201")
        if schema is None or "id" not in (schema.properties or {}):
            continue
        item = next((p for p in paths if p.startswith(f"{path}/{{") and p.count("/") == path.count("/") + 1), None)
        produced = _last_parameter(item) if item else (readers.get(name) if name else None)
        if produced:
            producers.append(Producer(path, operation, produced))
    return producers


def _is_uuid(schema: Any) -> bool:
    if not isinstance(schema, Schema):
        return False
    if schema.format is not None and str(getattr(schema.format, "value", schema.format)) == "uuid":
        return True
    return any(_is_uuid(option) for option in [*(schema.one_of or []), *(schema.any_of or [])])


def _body_fields(openapi: OpenAPI, operation: Operation) -> dict[str, Any]:
    body = operation.request_body
    if body is None or isinstance(body, Reference):
        return {}
    _, schema = _json_schema(openapi, body.content)
    return dict(schema.properties or {}) if schema is not None else {}


def _carried(source_path: str, target_path: str, produced: str | None) -> dict[str, str] | None:
    """Path parameters of the target, from the producer's request or answer; None if one has no source."""
    source = set(PATH_PARAMETER.findall(source_path))
    parameters = {}
    for name in PATH_PARAMETER.findall(target_path):
        if name == produced:
            parameters[f"path.{name}"] = "$response.body#/id"
        elif name in source:
            parameters[f"path.{name}"] = f"$request.path.{name}"
        else:
            return None
    return parameters


def add_links(openapi: OpenAPI) -> OpenAPI:
    """Add a link from each producer's 201 answer to each operation that takes what it produced (in place)."""
    consumers = [
        (path, operation, operation.operation_id, _body_fields(openapi, operation) if method in WRITE_METHODS else {})
        for path, method, operation in _operations(openapi)
        if operation.operation_id
    ]
    for producer in find_producers(openapi):
        links: dict[str, Link | Reference] = {}
        for path, operation, operation_id, fields in consumers:
            if operation is producer.operation:
                continue
            body = {
                field: "$response.body#/id"
                for field, schema in fields.items()
                if (field == producer.produces or field.endswith(f"_{producer.produces}")) and _is_uuid(schema)
            }
            takes_in_path = producer.produces in PATH_PARAMETER.findall(path)
            if not (body or takes_in_path):
                continue
            parameters = _carried(producer.path, path, producer.produces)
            if parameters is None:
                continue
            links[operation_id] = Link(
                operation_id=operation_id,
                parameters=parameters or None,
                request_body=body or None,
                description=f"The created record's id as {', '.join(sorted(body) or [producer.produces])}",
            )
        answer = (producer.operation.responses or {}).get("201")
        if links and answer is not None and not isinstance(answer, Reference):
            answer.links = {**(answer.links or {}), **links}
    return openapi
