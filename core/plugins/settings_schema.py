"""Settings Structs as JSON Schema (with their fields' docstrings) and their validation errors, per field.

Plugins document a setting with a string right under the field (``x: int = 3`` then a docstring line);
msgspec's schema leaves those out, so :func:`settings_schema` adds them as ``description``. Forms
generated from the schema (the portal's module settings) show them next to each field.

:func:`settings_errors` checks submitted settings one field at a time, so a form with several bad
values hears about each of them at once, each error keyed by its path (``settings.calendar.mon[0]``).
"""

from __future__ import annotations

import ast
import inspect
import itertools
import re
import textwrap
from functools import cache
from typing import Any

import msgspec

_AT = re.compile(r" - at `\$\.?([^`]*)`")
_LEADING_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)")
_SEQUENCES = (
    msgspec.inspect.ListType,
    msgspec.inspect.SetType,
    msgspec.inspect.FrozenSetType,
    msgspec.inspect.VarTupleType,
)


@cache
def field_docs(cls: type) -> dict[str, str]:
    """``{field: docstring}`` of a class and its bases (the subclass's text wins); {} without source."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass is object or klass.__module__ == "msgspec":
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, after in itertools.pairwise(body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                found[node.target.id] = inspect.cleandoc(after.value.value)
    return found


def _structs(kind: Any, seen: dict[str, type]) -> None:
    """Every Struct class reachable from ``kind``'s fields, by name (as msgspec names them in ``$defs``)."""
    info = msgspec.inspect.type_info(kind)
    stack: list[Any] = [info]
    while stack:
        node = stack.pop()
        if isinstance(node, msgspec.inspect.StructType):
            if node.cls.__name__ in seen:
                continue
            seen[node.cls.__name__] = node.cls
            stack.extend(field.type for field in node.fields)
        elif isinstance(node, msgspec.inspect.UnionType):
            stack.extend(node.types)
        elif isinstance(node, msgspec.inspect.Metadata):
            stack.append(node.type)
        elif isinstance(node, msgspec.inspect.DictType):
            stack.extend((node.key_type, node.value_type))
        elif isinstance(node, _SEQUENCES):
            stack.append(node.item_type)
        elif isinstance(node, msgspec.inspect.TupleType):
            stack.extend(node.item_types)


def settings_schema(cls: type[msgspec.Struct]) -> dict[str, Any]:
    """``msgspec.json.schema(cls)``, each property described by its field's docstring unless it has one."""
    schema: dict[str, Any] = msgspec.json.schema(cls)
    classes: dict[str, type] = {}
    _structs(cls, classes)
    for name, definition in schema.get("$defs", {}).items():
        klass = classes.get(name)
        if klass is None:
            continue
        docs = field_docs(klass)
        for field, prop in definition.get("properties", {}).items():
            if field in docs and "description" not in prop:
                prop["description"] = docs[field]
    return schema


def _error(exc: msgspec.ValidationError, fields: frozenset[str]) -> dict[str, str]:
    """The error keyed by its path under ``settings``; a check without a path is placed on the field it names."""
    text = str(exc)
    found = _AT.search(text)
    path = found.group(1) if found else ""
    message = _AT.sub("", text)
    if not path:
        leading = _LEADING_NAME.match(message)
        if leading and leading.group(1) in fields:
            path = leading.group(1)
            if message[len(path) : len(path) + 1] == ":":  # "offsets: must not repeat" -> "must not repeat"
                message = message[len(path) + 1 :].strip() or message
    return {"key": f"settings.{path}" if path else "settings", "message": message}


def settings_errors(cls: type[msgspec.Struct], raw: dict[str, Any]) -> list[dict[str, str]]:
    """Problems of ``raw`` as settings ``cls`` ({} when valid): each field's own, else the whole's first.

    Each submitted field is checked alone first (the others at their defaults), keeping only errors
    found inside that field; checks that span fields (``__post_init__``) run on the whole afterwards.
    """
    fields = frozenset(cls.__struct_fields__)
    unknown = sorted(set(raw) - fields)
    if unknown:
        return [{"key": f"settings.{name}", "message": "unknown"} for name in unknown]
    errors: list[dict[str, str]] = []
    for name, value in raw.items():
        try:
            msgspec.convert({name: value}, cls)
        except msgspec.ValidationError as exc:
            found = _AT.search(str(exc))
            if found and found.group(1).split(".")[0].split("[")[0] == name:
                errors.append(_error(exc, fields))
    if errors:
        return errors
    try:
        msgspec.convert(raw, cls)
    except msgspec.ValidationError as exc:
        return [_error(exc, fields)]
    return []
