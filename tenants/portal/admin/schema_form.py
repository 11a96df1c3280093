"""A form generated from a JSON Schema of settings (a module's settings, a channel's options).

Each top-level property becomes one input: text, number (integer or not), yes/no, a choice (enum),
a list of simple values (one per line), or, for anything nested (objects, maps, lists of objects),
a JSON text area. Defaults, descriptions and limits become the field's hint. The API validates what is
submitted; its errors come back keyed by path (``settings.calendar.mon[0]``) and are placed on the
top-level field with the rest of the path in the message.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from core.portal.api import ApiError
from core.portal.forms import humane

Kind = Literal["text", "date", "integer", "number", "boolean", "tristate", "choice", "list", "json"]
SIMPLE_ITEMS = ("text", "date", "integer", "number", "choice")
_TOP = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)")
NOT_JSON = "is not valid JSON: {0}"
MAX_INPUT = 20_000
_LIMIT_KEYS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
)


@dataclass(frozen=True)
class SchemaField:
    """One input of the generated form."""

    name: str
    label: str
    kind: Kind
    nullable: bool = False
    default: Any = None
    has_default: bool = False
    description: str = ""
    choices: tuple[str, ...] = ()
    item_kind: Kind = "text"
    limits: dict[str, Any] = field(default_factory=dict)

    @property
    def split_commas(self) -> bool:
        """List items that cannot contain a comma may also be separated by commas."""
        return self.item_kind in ("integer", "number", "choice", "date")

    @property
    def input_attrs(self) -> str:
        """min/max/step/maxlength for the browser's own hints (the API checks again)."""
        attrs: list[str] = []
        if self.kind in ("integer", "number"):
            attrs.append('step="1"' if self.kind == "integer" else 'step="any"')
            attrs.append('inputmode="numeric"' if self.kind == "integer" else 'inputmode="decimal"')
            for key, attr in (("minimum", "min"), ("maximum", "max")):
                if isinstance(self.limits.get(key), int | float):
                    attrs.append(f'{attr}="{self.limits[key]}"')
        if self.kind == "text" and isinstance(self.limits.get("maxLength"), int):
            attrs.append(f'maxlength="{self.limits["maxLength"]}"')
        return " ".join(attrs)

    @property
    def hint(self) -> str:
        parts = [self.description] if self.description else []
        parts.extend(_limit_words(self))
        if self.kind == "list":
            parts.append("One per line" + (" (or separated by commas)." if self.split_commas else "."))
            if self.choices:
                parts.append("Choices: " + ", ".join(self.choices) + ".")
        if self.kind == "json":
            parts.append("JSON.")
        if self.nullable and self.kind not in ("tristate", "boolean"):
            parts.append("Leave empty for none.")
        elif not self.nullable and self.kind in ("integer", "number", "date", "json"):
            parts.append("Leave empty for the default.")
        if self.has_default:
            parts.append(f"Default: {_default_text(self)}.")
        return " ".join(part for part in parts if part)


def _limit_words(item: SchemaField) -> list[str]:
    limits, words = item.limits, []
    low = ("at least", limits["minimum"]) if "minimum" in limits else None
    low = ("more than", limits["exclusiveMinimum"]) if "exclusiveMinimum" in limits else low
    high = ("at most", limits["maximum"]) if "maximum" in limits else None
    high = ("less than", limits["exclusiveMaximum"]) if "exclusiveMaximum" in limits else high
    if low and high:
        words.append(f"{low[0].capitalize()} {low[1]} and {high[0]} {high[1]}.")
    elif low or high:
        bound = low or high
        assert bound is not None
        words.append(f"{bound[0].capitalize()} {bound[1]}.")
    if "minLength" in limits and "maxLength" in limits:
        words.append(f"{limits['minLength']} to {limits['maxLength']} characters.")
    elif "maxLength" in limits:
        words.append(f"At most {limits['maxLength']} characters.")
    if "minItems" in limits or "maxItems" in limits:
        words.append(f"{limits.get('minItems', 0)} to {limits.get('maxItems', 'any number of')} entries.")
    if limits.get("item_description"):
        words.append(f"Each: {limits['item_description']}.")
    return words


def _default_text(item: SchemaField) -> str:
    value = item.default
    if value is None:
        return "none"
    if value == "":
        return "empty"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and item.kind == "list":
        return ", ".join(str(v) for v in value) if value else "none"
    if isinstance(value, dict | list):
        return "as shown" if value else "empty"
    return str(value)


def _clean(text: str) -> str:
    """A docstring as one readable line (reStructuredText's ``code`` marks dropped)."""
    return " ".join(text.replace("``", "").split())


def _label(name: str) -> str:
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _resolve(node: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """``node`` with a ``$ref`` replaced by its definition (the node's own keys win)."""
    if not isinstance(node, dict):
        return {}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = dict(defs.get(ref.removeprefix("#/$defs/"), {}))
        if isinstance(target.get("description"), str):  # a class docstring: its first paragraph
            target["description"] = target["description"].split("\n\n")[0]
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _simple_kind(node: dict[str, Any]) -> tuple[Kind, tuple[str, ...]] | None:
    """The input kind of a scalar schema, or None when it is not a scalar one."""
    if "enum" in node:
        values = node["enum"]
        if all(isinstance(v, str) for v in values):
            return "choice", tuple(values)
        return None
    kind = node.get("type")
    if kind == "string":
        return ("date" if node.get("format") == "date" else "text"), ()
    if kind in ("integer", "number"):
        return kind, ()
    if kind == "boolean":
        return "boolean", ()
    return None


def schema_fields(schema: dict[str, Any] | None) -> list[SchemaField]:
    """The form's fields, in the schema's order (the settings Struct's field order)."""
    if not schema:
        return []
    defs: dict[str, Any] = schema.get("$defs", {})
    root = _resolve(schema, defs)
    found: list[SchemaField] = []
    for name, raw in root.get("properties", {}).items():
        prop = _resolve(raw, defs)
        description = _clean(str(prop.get("description") or ""))
        base, nullable = prop, False
        if "anyOf" in prop:
            options = [_resolve(option, defs) for option in prop["anyOf"]]
            others = [option for option in options if option.get("type") != "null"]
            nullable = len(others) < len(options)
            base = others[0] if len(others) == 1 else {}
            description = description or _clean(str(base.get("description") or ""))
        limits = {k: v for k, v in base.items() if k in _LIMIT_KEYS}
        common: dict[str, Any] = {
            "name": name,
            "label": _label(name),
            "nullable": nullable,
            "default": prop.get("default"),
            "has_default": "default" in prop,
            "description": description,
        }
        simple = _simple_kind(base)
        if simple is not None:
            kind, choices = simple
            if kind == "boolean" and nullable:
                kind = "tristate"
            found.append(SchemaField(kind=kind, choices=choices, limits=limits, **common))
            continue
        items = _resolve(base.get("items"), defs) if base.get("type") == "array" else {}
        item = _simple_kind(items) if items else None
        if item is not None and item[0] in SIMPLE_ITEMS:
            limits |= {k: v for k, v in items.items() if k in _LIMIT_KEYS and k not in ("minItems", "maxItems")}
            if items.get("description"):
                limits["item_description"] = _clean(str(items["description"]))
            found.append(SchemaField(kind="list", item_kind=item[0], choices=item[1], limits=limits, **common))
            continue
        found.append(SchemaField(kind="json", **common))
    return found


def display_values(fields: list[SchemaField], current: dict[str, Any] | None) -> dict[str, Any]:
    """What each input shows: the current value (else the default) as the input's text or checked state."""
    current = current or {}
    shown: dict[str, Any] = {}
    for item in fields:
        value = current.get(item.name, item.default) if item.name in current or item.has_default else None
        shown[item.name] = _as_input(item, value)
    return shown


def _as_input(item: SchemaField, value: Any) -> Any:
    if item.kind == "boolean":
        return bool(value)
    if item.kind == "tristate":
        return "" if value is None else "true" if value else "false"
    if value is None:
        return ""
    if item.kind == "list" and isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if item.kind == "json":
        return json.dumps(value, indent=2, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(text: str, integer: bool) -> Any:
    """The number typed, or the text itself (the API then says what is wrong with it)."""
    try:
        number = int(text) if integer else float(text)
    except ValueError:
        return text
    if isinstance(number, float) and not math.isfinite(number):
        return text
    if isinstance(number, float) and number.is_integer() and re.fullmatch(r"-?\d+", text):
        return int(number)
    return number


def _item(item: SchemaField, text: str) -> Any:
    if item.item_kind in ("integer", "number"):
        return _number(text, item.item_kind == "integer")
    return text


def read_form(
    fields: list[SchemaField], form: dict[str, str], checked: set[str]
) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    """(values to send, errors found here, what to show again) from the submitted form.

    ``checked``: the names of the checkboxes that were ticked. An empty number, date or JSON field that
    cannot be null is left out, so the setting takes its default.
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    shown: dict[str, Any] = {}
    for item in fields:
        if item.kind == "boolean":
            values[item.name] = shown[item.name] = item.name in checked
            continue
        text = form.get(item.name, "")[:MAX_INPUT]
        shown[item.name] = text
        if item.kind == "tristate":
            values[item.name] = None if text == "" else text == "true"
        elif text == "":
            if item.nullable:
                values[item.name] = None
            elif item.kind in ("text", "choice"):
                values[item.name] = ""
            elif item.kind == "list":
                values[item.name] = []
        elif item.kind in ("integer", "number"):
            values[item.name] = _number(text, item.kind == "integer")
        elif item.kind == "list":
            pieces = re.split(r"[\n,]" if item.split_commas else r"\n", text)
            values[item.name] = [_item(item, piece.strip()) for piece in pieces if piece.strip()]
        elif item.kind == "json":
            try:
                values[item.name] = json.loads(text)
            except ValueError as exc:
                errors[item.name] = NOT_JSON.format(str(exc).split(":")[0].lower())
        else:
            values[item.name] = text
    return values, errors, shown


def api_errors(exc: ApiError, fields: list[SchemaField], prefix: str) -> tuple[dict[str, str], list[str]]:
    """The API's errors under ``prefix`` (``settings``) placed on their top-level fields; the rest as messages."""
    names = {item.name for item in fields}
    placed: dict[str, str] = {}
    general: list[str] = []
    for error in exc.body.get("errors") or []:
        if not isinstance(error, dict):
            continue
        key = str(error.get("field") or error.get("key") or "")
        message = humane(str(error.get("message") or "is not valid"))
        path = key.removeprefix("$.").removeprefix(prefix).lstrip(".") if key.startswith(prefix) else ""
        top = _TOP.match(path)
        if top is None or top.group(1) not in names:
            general.append(message)
            continue
        rest = path[top.end() :].lstrip(".")
        text = f"{rest}: {message}" if rest else message
        placed[top.group(1)] = f"{placed[top.group(1)]}; {text}" if top.group(1) in placed else text
    return placed, general
