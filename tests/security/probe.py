"""The cross-tenant probe's machinery: read the OpenAPI document, fill tenant A with records through the
API itself, harvest A's ids, and replay every id-bearing operation as someone else.

Nothing here knows carecoord's routes by name. Records are created by POSTing bodies generated from each
operation's request schema, filling every field whose name is a known id (``patient_id``...) with one of
A's ids; paths are filled the same way, preferring the ids listed by the collection the parameter
belongs to (``/patients/{patient_id}`` <- the ``id`` of ``GET /patients``'s items). A new route, a
plugin's included, is therefore probed as soon as its records can be created through the API or
appear in one of A's answers.
"""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

METHODS = ("get", "post", "put", "patch", "delete")
PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")
NOT_BUILT = re.compile(
    r"^/api/v1/(auth/|signup|invitations/|users/me|users/invitations$|users/[^/]+/(mfa|invitation))"
    r"|^/api/v1/notifications/(callbacks|inbound)/|/replay$|^/api/v1/tenant"
)
"""Operations the world builder never calls on A: they would end A's own session or credentials, act as
a provider's callback, or change the organization itself. They are still probed."""


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    params: tuple[tuple[str, str], ...]
    """(name, format) of each path parameter, in order; format ``uuid`` marks a record id."""
    body: dict[str, Any] | None
    public: bool
    upload: str = ""
    """For a multipart upload: the form field that carries the file (from the document); else empty."""

    @property
    def id_bearing(self) -> bool:
        return any(fmt == "uuid" for _, fmt in self.params)


def operations(schema: dict[str, Any], public: set[tuple[str, str]]) -> list[Operation]:
    found = []
    for template, item in schema["paths"].items():
        if not template.startswith("/api/"):
            continue
        for method, op in item.items():
            if method not in METHODS:
                continue
            params = tuple(
                (p["name"], p["schema"].get("format") or p["schema"].get("type", "string"))
                for p in op.get("parameters", [])
                if p["in"] == "path"
            )
            content = op.get("requestBody", {}).get("content", {})
            body = content.get("application/json", {}).get("schema")
            public_op = (method.upper(), template) in public
            form = content.get("multipart/form-data", {}).get("schema", {})
            form = schema["components"]["schemas"][form["$ref"].rsplit("/", 1)[1]] if "$ref" in form else form
            upload = next((name for name, f in form.get("properties", {}).items() if f.get("format") == "binary"), "")
            found.append(Operation(method.upper(), template, params, body, public_op, upload))
    return found


@dataclass
class World:
    """What the probe knows of tenant A: values by field name, and the items each collection listed."""

    schema: dict[str, Any]
    by_key: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    listed: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    created: set[tuple[str, str]] = field(default_factory=set)
    hints: dict[str, Any] = field(default_factory=dict)
    """Values for fields by name or name ending (``amount`` fills ``billed_amount``), used before generated
    ones where the schema cannot say enough (a decimal in a string, a code's length)."""
    optional_depth: int = 99
    soon: datetime = field(
        default_factory=lambda: datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=3, hours=2)
    )

    def hint(self, name: str) -> Any:
        for key, value in self.hints.items():
            if name == key or name.endswith(key):
                return value
        return None

    def note(self, path: str, answer: Any, *, created: bool = False) -> None:
        """Remember the ids and keys in ``answer``: a list's items (or a record just created by POSTing to
        ``path``) as items of the collection ``path``."""
        items, record = answer, answer
        if isinstance(answer, dict):  # an envelope: {"items": [...]}, {"notes": [...]}, {"note": {...}}
            lists = [v for v in answer.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
            single = lists[0] if len(lists) == 1 else None
            items = answer["items"] if isinstance(answer.get("items"), list) else single
            inner = [v for v in answer.values() if isinstance(v, dict) and "id" in v]
            record = answer if "id" in answer else (inner[0] if len(inner) == 1 else None)
        if isinstance(items, list):
            self.listed[path].extend(item for item in items if isinstance(item, dict))
        elif created and isinstance(record, dict):
            self.listed[path].append(record)
        self._walk(answer)

    def is_move(self, schema: dict[str, Any] | None) -> bool:
        """A body whose required field is a choice (``{"to": ...}``): a move in a state machine, worth
        trying again each round (the record's state changes), unlike a creation."""
        if schema is None:
            return False
        resolved = self._resolve(schema)
        required = set(resolved.get("required", []))
        return any(
            key in required and len(self._resolve(sub).get("enum", [])) > 1
            for key, sub in resolved.get("properties", {}).items()
        )

    def _walk(self, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                scalar = isinstance(inner, (str, int)) and not isinstance(inner, bool)
                if scalar and key != "id" and str(inner) not in self.by_key[key]:
                    self.by_key[key].append(str(inner))
                self._walk(inner)
        elif isinstance(value, list):
            for inner in value:
                self._walk(inner)

    def fill(self, op: Operation) -> str | None:
        """``op``'s path with A's values, or None when a parameter has none."""
        path = op.template
        for name, _ in op.params:
            prefix = path.split("{" + name + "}", 1)[0].rstrip("/")
            candidates = [str(item[key]) for item in self.listed.get(prefix, []) for key in (name, "id") if key in item]
            candidates += self.ids_for(name) or self.by_key.get(name, [])
            if not candidates:
                return None
            path = path.replace("{" + name + "}", candidates[0], 1)
        return path

    def randomised(self, op: Operation, path: str) -> str:
        """``path`` with every record id replaced by a random one (other parameters kept)."""
        concrete = path.split("/")
        template = op.template.split("/")
        formats = dict(op.params)
        for i, part in enumerate(template):
            match = PARAM.fullmatch(part)
            if match and formats.get(match.group(1)) == "uuid":
                concrete[i] = str(uuid4())
        return "/".join(concrete)

    # ---------------------------------------------------------------------------------------- bodies

    def body(self, schema: dict[str, Any] | None) -> Any:
        return None if schema is None else self._value(schema, "", 0)

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            schema = self.schema["components"]["schemas"][name]
        return schema

    def _value(self, schema: dict[str, Any], name: str, depth: int) -> Any:
        schema = self._resolve(schema)
        for choice in ("oneOf", "anyOf"):
            if choice in schema:
                options = [self._resolve(o) for o in schema[choice]]
                usable = [o for o in options if o.get("type") != "null"] or options
                merged = {k: v for k, v in schema.items() if k != choice}
                return self._value({**usable[0], **merged}, name, depth)
        if "const" in schema:
            return schema["const"]
        hinted = self.hint(name)
        if "enum" in schema:
            return hinted if hinted in schema["enum"] else schema["enum"][0]
        if hinted is not None and schema.get("type") in ("string", "integer", "number", "boolean"):
            return hinted
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object" or "properties" in schema:
            if depth > 4:
                return {}
            required = set(schema.get("required", []))
            out = {}
            for key, sub in schema.get("properties", {}).items():
                if key == "tenant_id":
                    continue
                known = self.ids_for(key)
                optional = depth <= self.optional_depth and (known or self.hint(key) is not None)
                if key in required or optional:
                    value = known[0] if known and self._resolve(sub).get("type") != "array" else None
                    out[key] = value if value is not None else self._value(sub, key, depth + 1)
            return out
        if kind == "array":
            count = max(1, schema.get("minItems", 0)) if name else schema.get("minItems", 0)
            return [self._value(schema.get("items", {}), name.removesuffix("s"), depth + 1) for _ in range(count)]
        if kind == "integer":
            return max(int(schema.get("minimum", 1)), 1)
        if kind == "number":
            return float(max(schema.get("minimum", 1), 1))
        if kind == "boolean":
            return False
        if kind == "string":
            return self._string(schema, name)
        return None

    def ids_for(self, key: str) -> list[str]:
        """A's values for a field named ``key``: only record ids (``*_id``); other fields are generated. A
        qualified name falls back to its shorter forms (``target_practitioner_id`` -> ``practitioner_id``)."""
        if not key.endswith("_id"):
            return []
        words = key.split("_")
        for start in range(len(words) - 1):
            name = "_".join(words[start:])
            found = [*self._listed_ids(name), *self.by_key.get(name, [])]
            if found:
                return found
        return []

    def bodies(self, schema: dict[str, Any] | None) -> list[Any]:
        """Bodies to try in turn: optional id fields filled too, then only what is required."""
        if schema is None:
            return [None]
        self.optional_depth = 99
        full = self.body(schema)
        self.optional_depth = -1
        lean = self.body(schema)
        self.optional_depth = 99
        variants = [full] if full == lean else [full, lean]
        if isinstance(full, dict) and isinstance(lean, dict):
            for key in full.keys() - lean.keys():
                if key.endswith("_id"):
                    variants.append({**lean, key: full[key]})
            # a move in a state machine: every value of its first choice, so later states are reached too
            resolved = self._resolve(schema)
            for key, sub in resolved.get("properties", {}).items():
                choices = self._resolve(sub).get("enum", [])
                if key in full and len(choices) > 1:
                    for base in (full, lean):
                        variants += [{**base, key: choice} for choice in choices[1:12]]
                    break
        return variants

    def _listed_ids(self, key: str) -> list[str]:
        """Ids of items whose collection's last segment names ``key`` (``patient_id`` <- ``.../patients``)."""
        if not key.endswith("_id"):
            return []
        noun = key.removesuffix("_id").replace("_", "-")
        return [
            str(item["id"])
            for path, items in self.listed.items()
            if path.rsplit("/", 1)[-1].endswith((f"{noun}s", f"{noun}es", noun.replace("y", "ies")))
            for item in items
            if "id" in item
        ]

    def _string(self, schema: dict[str, Any], name: str) -> str:
        fmt = schema.get("format", "")
        soon = self.soon
        if fmt == "uuid":
            return str(uuid4())
        if fmt == "date-time":
            return (soon + (timedelta(hours=1) if name.startswith("end") else timedelta())).isoformat()
        if fmt == "date":
            return (date.today() - timedelta(days=365 * 40) if "birth" in name else date.today()).isoformat()
        if fmt == "email" or "email" in name:
            return f"probe-{secrets.token_hex(4)}@example.com"
        if "phone" in name:
            return "+1 555 010 " + f"{secrets.randbelow(10000):04d}"
        if name in ("time_zone", "timezone"):
            return "UTC"
        if name == "language":
            return "en"
        low, high = schema.get("minLength", 1), schema.get("maxLength", 40)
        text = f"probe {name or 'text'} {secrets.token_hex(3)}"
        pattern = schema.get("pattern")
        if pattern:
            tag = secrets.token_hex(3)
            shapes = [f"probe_{tag}", tag.upper(), f"P{tag}", "+1 555 010 0199", f"probe-{tag}", "E11.9", "2026-01-01"]
            text = next((t for t in shapes if re.search(pattern, t) and low <= len(t) <= high), text)
        return text[: max(low, min(high, len(text)))].ljust(low, "x")
