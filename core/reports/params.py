"""Report parameters: validated against the report's msgspec schema, stored as plain JSON."""

from __future__ import annotations

from typing import Any

import msgspec

from core.plugins.records import ReportSpec


class ParamsError(ValueError):
    """The parameters do not fit the report's schema; ``key`` names the field when msgspec says which."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


def parse_params(spec: ReportSpec, raw: Any) -> msgspec.Struct | None:
    """``raw`` (decoded JSON) as the report's parameters Struct; raises :class:`ParamsError`."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ParamsError("params must be an object", "params")
    if spec.params is None:
        if raw:
            raise ParamsError("this report takes no parameters", "params")
        return None
    try:
        return msgspec.convert(raw, spec.params, strict=False)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `$")
        key = "params" + path.rstrip("`") if path else "params"
        raise ParamsError(message, key) from None


def params_json(params: msgspec.Struct | None) -> dict[str, Any]:
    """The validated parameters, defaults filled in, as JSON-ready builtins (what the run stores)."""
    if params is None:
        return {}
    built = msgspec.to_builtins(params)
    assert isinstance(built, dict)
    return built


def params_schema(spec: ReportSpec) -> dict[str, Any]:
    """JSON Schema of the parameters, for the catalogue (clients build forms from it)."""
    if spec.params is None:
        return {"type": "object", "properties": {}, "additionalProperties": False}
    schema = msgspec.json.schema(spec.params)
    return dict(schema)
