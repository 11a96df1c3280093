"""JSON bodies and time query parameters are read strictly, as the API document types them.

litestar converts a handler's arguments in msgspec's lax mode, which a query string needs ("20" is an
integer there) but which also took ``"is_emergency_contact": 0`` as false, ``"occurred_at": 0`` as
1970-01-01 and ``?until=0.5`` as a Unix time: values the document calls invalid, silently turned into
others (found by schemathesis' negative-data check). This ``before_request`` hook checks first, strictly:
a JSON body against the handler's ``data`` type; every date, time or datetime query parameter as RFC 3339,
dates and datetimes within the years 1900 to 9000 (a period reaching back from 0001-01-01, or forward
from 9999-12-31, cannot be computed); and a parameter that takes one value is given at most
once (``?specialty=a&specialty=b`` was read as one of them). Anything else is left to litestar, which
still converts what passes.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.params import ParameterKwarg

TIME_TYPES = (datetime, date, time)
MANY = (list, tuple, set, frozenset, typing.Sequence, typing.Iterable)
EARLIEST, LATEST = 1900, 9000
"""The years a date or datetime query parameter may name."""
NOT_ARGUMENTS = frozenset({"data", "ctx", "request", "scope", "state", "headers", "cookies", "query", "socket"})


@dataclass(frozen=True)
class _Plan:
    body: Any
    """The ``data`` annotation, or None when the handler takes no body."""
    times: tuple[tuple[str, type], ...]
    """(query key, type) of each date/time query parameter."""
    single: tuple[str, ...]
    """Query keys that take one value."""


STATE_KEY = "strict_input_plans"
"""Where the plans live: the app's own state, by handler (made on each handler's first request)."""


def _unwrap(annotation: Any) -> Any:
    """``X | None`` and ``Annotated[X, ...]`` -> ``X``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(members[0]) if len(members) == 1 else annotation
    return annotation


def _plan(request: Request[Any, Any, Any]) -> _Plan:
    handler = request.route_handler
    plans: dict[Any, _Plan] = request.app.state.setdefault(STATE_KEY, {})
    plan = plans.get(handler)
    if plan is None:
        parameters = handler.parsed_fn_signature.parameters
        data = parameters.get("data")
        times: list[tuple[str, type]] = []
        single: list[str] = []
        for name, field in parameters.items():
            if name in NOT_ARGUMENTS:
                continue
            kwarg = field.kwarg_definition
            if kwarg is not None and not isinstance(kwarg, ParameterKwarg):
                continue  # a dependency or a body, not a query parameter
            if isinstance(kwarg, ParameterKwarg) and (kwarg.header or kwarg.cookie):
                continue
            kind = _unwrap(field.annotation)
            key = kwarg.query if isinstance(kwarg, ParameterKwarg) and kwarg.query else name
            if kind in TIME_TYPES:
                times.append((key, kind))
            if typing.get_origin(kind) not in MANY and kind not in MANY:
                single.append(key)
        plan = _Plan(body=data.annotation if data is not None else None, times=tuple(times), single=tuple(single))
        plans[handler] = plan
    return plan


def _invalid(request: Request[Any, Any, Any], key: str, source: str, message: str) -> ValidationException:
    return ValidationException(
        detail=f"Validation failed for {request.method} {request.url.path}",
        extra=[{"message": message, "key": key, "source": source}],
    )


async def strict_input(request: Request[Any, Any, Any]) -> None:
    plan = _plan(request)
    query = request.query_params
    if query:
        for key in plan.single:
            if len(query.getall(key, [])) > 1:
                raise _invalid(request, key, "query", f"{key} takes one value")
        for key, kind in plan.times:
            raw = query.get(key)
            if raw is None:
                continue
            try:
                value: Any = msgspec.convert(raw, kind, strict=True)
            except msgspec.ValidationError:
                raise _invalid(request, key, "query", f"{key} must be an RFC 3339 {kind.__name__}") from None
            if isinstance(value, date) and not EARLIEST <= value.year <= LATEST:
                raise _invalid(request, key, "query", f"{key} must be in the years {EARLIEST} to {LATEST}")
    if plan.body is None or request.method not in ("POST", "PUT", "PATCH"):
        return
    if not request.headers.get("content-type", "").startswith("application/json"):
        return
    try:
        body = await request.json()
    except Exception:  # noqa: BLE001 - malformed JSON: litestar's own parsing answers it
        return
    try:
        msgspec.convert(body, plan.body, strict=True, str_keys=True)
    except msgspec.ValidationError as strict_error:
        try:
            msgspec.convert(body, plan.body, strict=False, str_keys=True)
        except (msgspec.ValidationError, TypeError, NotImplementedError):
            return  # invalid either way: litestar reports it as it always has, field by field
        message, _, path = str(strict_error).partition(" - at `$.")
        raise _invalid(request, path.rstrip("`") or "data", "body", message) from None
    except (TypeError, NotImplementedError):
        return  # a type msgspec cannot check alone: litestar converts it as before
