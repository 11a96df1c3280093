"""Reading submitted forms and turning API refusals into messages next to the fields."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request

_MESSAGES = (
    (re.compile(r"Expected `str` of length >= (\d+)"), "must be at least {0} characters"),
    (re.compile(r"Expected `str` of length <= (\d+)"), "must be at most {0} characters"),
    (re.compile(r"Expected `str` matching regex .*"), "is not in the expected format"),
    (re.compile(r"Expected `(int|float)` >= (\S+)"), "must be at least {1}"),
    (re.compile(r"Expected `(int|float)` <= (\S+)"), "must be at most {1}"),
    (re.compile(r"Expected `(int|float)`, got `str`"), "must be a number"),
    (re.compile(r"Expected `bool`.*"), "must be yes or no"),
    (re.compile(r"Invalid enum value (.*)"), "is not one of the choices"),
    (re.compile(r"Object missing required field `(\w+)`"), "is required"),
    (re.compile(r"Expected `(?:int|float)` > (\S+)"), "must be more than {0}"),
    (re.compile(r"Expected `(?:int|float)` < (\S+)"), "must be less than {0}"),
    (re.compile(r"Expected `int`, got `float`"), "must be a whole number"),
    (re.compile(r"Expected `array` of length >= (\d+)"), "needs at least {0} entries"),
    (re.compile(r"Expected `array` of length <= (\d+)"), "takes at most {0} entries"),
    (re.compile(r"Expected `(?:str|int|float|bool|array|object)`, got `null`"), "is required"),
    (re.compile(r"Invalid RFC3339 encoded date"), "must be a date (YYYY-MM-DD)"),
    (re.compile(r"Invalid ISO8601 time"), "must be a time (HH:MM)"),
)


def humane(message: str) -> str:
    """msgspec's wording ("Expected `str` of length >= 12") as a person would say it."""
    for pattern, text in _MESSAGES:
        found = pattern.search(message)
        if found:
            return text.format(*found.groups())
    return message.replace("``", "")


async def form_fields(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The form's single values, trimmed, without the CSRF token."""
    form = await request.form()
    return {key: str(value).strip() for key, value in form.items() if key != "_csrf_token" and isinstance(value, str)}


async def form_lists(request: Request[Any, Any, Any], name: str) -> list[str]:
    """Every value of a repeated field (checkboxes, multi-selects)."""
    form = await request.form()
    return [str(value) for value in form.getall(name)] if name in form else []


def drop_empty(values: dict[str, Any]) -> dict[str, Any]:
    """Leave out fields left blank, so the API applies its defaults."""
    return {key: value for key, value in values.items() if value not in ("", None)}
