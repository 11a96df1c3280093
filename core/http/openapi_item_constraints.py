"""The constraints on list items that litestar's document drops, put back from msgspec's own schema.

litestar documents ``languages: list[LanguageTag]`` as an array of plain strings: the ``Annotated`` pattern
and length of each item are lost (the same for a weekday's 1-7 range, an enum of contact purposes, an API
key scope's pattern). msgspec is what validates a request, so its JSON schema of a struct is exactly what the
service enforces; :func:`restore_item_constraints` copies each item constraint litestar left out from it.

API key scopes are then narrowed to the ones a key may really be given (core's and the installed plugins'),
an enum a client can offer in a form.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.openapi.spec import OpenAPI, Schema

from core.http.openapi_document import component_schemas

CONSTRAINTS = {
    "pattern": "pattern",
    "maxLength": "max_length",
    "minLength": "min_length",
    "minimum": "minimum",
    "maximum": "maximum",
    "enum": "enum",
    "format": "format",
}
"""JSON Schema keyword -> litestar ``Schema`` attribute."""


def _arrays(schema: Any) -> list[Any]:
    """The array schemas of a property: itself, or its ``oneOf``/``anyOf`` variants (``list[X] | None``)."""
    if isinstance(schema, Schema):
        documented: list[Any] = [schema, *(schema.one_of or []), *(schema.any_of or [])]
        return [s for s in documented if isinstance(s, Schema) and s.items is not None]
    if isinstance(schema, dict):
        enforced: list[Any] = [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]
        return [s for s in enforced if isinstance(s, dict) and "items" in s]
    return []


def _copy_item_constraints(documented: Any, enforced: dict[str, Any]) -> None:
    enforced_items = [a["items"] for a in _arrays(enforced) if isinstance(a["items"], dict)]
    if not enforced_items:
        return
    for array in _arrays(documented):
        items = array.items
        if not isinstance(items, Schema):
            continue
        for keyword, attribute in CONSTRAINTS.items():
            if keyword in enforced_items[0] and getattr(items, attribute) is None:
                setattr(items, attribute, enforced_items[0][keyword])


def restore_item_constraints(openapi: OpenAPI, structs: list[type[msgspec.Struct]]) -> OpenAPI:
    """Copy list item constraints from msgspec's schema of each struct into its component (in place).

    A component name two struct classes share is left as it is (which one it documents is unknown).
    """
    by_name: dict[str, list[type[msgspec.Struct]]] = {}
    for cls in structs:
        by_name.setdefault(cls.__name__, []).append(cls)
    components = component_schemas(openapi)
    for name, component in components.items():
        classes = by_name.get(name, [])
        if len(classes) != 1 or not isinstance(component, Schema) or not component.properties:
            continue
        try:
            _, definitions = msgspec.json.schema_components(classes, ref_template="#/components/schemas/{name}")
        except (TypeError, ValueError):  # a field type msgspec cannot describe: litestar's version stands
            continue
        enforced = definitions.get(name, {}).get("properties", {})
        for field, documented in component.properties.items():
            if field in enforced:
                _copy_item_constraints(documented, enforced[field])
    return openapi


def enumerate_api_key_scopes(openapi: OpenAPI, scopes: frozenset[str]) -> OpenAPI:
    """``ApiKeyCreate.scopes`` items: one of ``scopes`` (in place)."""
    components = component_schemas(openapi)
    component = components.get("ApiKeyCreate")
    if isinstance(component, Schema) and component.properties:
        for array in _arrays(component.properties.get("scopes")):
            if isinstance(array.items, Schema):
                array.items.enum = sorted(scopes)
    return openapi
